"""What the gateway remembers between requests, and why each is safe (issue 22: every request
asked identity who its caller is, and every write asked a service where its resource sits).

- Places (`ScopeCache`): where a bank, organisation, site, worker, document, shift, timesheet, pay
  run or notification delivery sits in the bank tree never changes once it exists (nothing moves
  between sites, organisations or banks, and nothing is deleted), so a found place is kept, up to
  a bound on entries (least recently used out). An account's place is its grants, which change:
  it is never kept. Nor is "no such thing", which a create may change at any moment.
- Callers (`PrincipalCache`): who a token's subject is (account, grants, worker) changes when a
  bank admin replaces its grants or deactivates it, and API.md lets that take up to 1 s to count.
  A principal is kept for `PRINCIPAL_CACHE_SECONDS` (default 0.5 s, at most 1 s; 0 turns it
  off), and dropped at once when this gateway made the change (the next request of the same
  client sees it, as before) or when any gateway's change arrives as `user.roles_changed` or
  `user.deactivated` (every gateway process hears those: chassis.handlers.broadcast_handler).
  The age bound holds whatever happens to the events.
"""

import time
from collections import OrderedDict

from nameko.extensions import DependencyProvider

from chassis.config import ConfigError

PRINCIPAL_MAX_AGE_SECONDS = 0.5
PRINCIPAL_AGE_LIMIT_SECONDS = 1.0  # API.md: changes to who may act take effect within 1 s
MAX_ENTRIES = 50_000
IMMUTABLE_PLACES = frozenset({"bank", "organisation", "site", "worker", "document", "shift", "timesheet",
                              "pay_run", "delivery"})


class _Bounded:
    """A dict of at most `max_entries`, least recently used first out."""

    def __init__(self, max_entries):
        self.entries = OrderedDict()
        self.max_entries = max_entries

    def get(self, key):
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key, value):
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def drop(self, key):
        self.entries.pop(key, None)


class ScopeCache:
    def __init__(self, max_entries=MAX_ENTRIES):
        self._places = _Bounded(max_entries)

    def resolve(self, kind, resource_id, fetch):
        """Where `resource_id` of `kind` sits: remembered, or `fetch(kind, resource_id)`."""
        if kind not in IMMUTABLE_PLACES:
            return fetch(kind, resource_id)
        found = self._places.get((kind, resource_id))
        if found is None:
            found = fetch(kind, resource_id)
            if found is not None:
                self._places.put((kind, resource_id), found)
        return found


class PrincipalCache:
    def __init__(self, max_age=PRINCIPAL_MAX_AGE_SECONDS, max_entries=MAX_ENTRIES, clock=time.monotonic):
        self.max_age = max_age
        self._principals = _Bounded(max_entries)
        self._clock = clock

    def get(self, user_id, fetch):
        """The principal of `user_id` (a dict, or None for no such active account): remembered for
        at most max_age, or `fetch(user_id)`. A missing account is not remembered."""
        if self.max_age <= 0:
            return fetch(user_id)
        now = self._clock()
        found = self._principals.get(user_id)
        if found is not None and now - found[0] < self.max_age:
            return found[1]
        principal = fetch(user_id)
        if principal is None:
            self._principals.drop(user_id)
        else:
            self._principals.put(user_id, (now, principal))
        return principal

    def forget(self, user_id):
        self._principals.drop(user_id)


def principal_max_age(config):
    """PRINCIPAL_CACHE_SECONDS, checked: 0 (off) up to API.md's 1 s."""
    value = float(config.get("PRINCIPAL_CACHE_SECONDS", PRINCIPAL_MAX_AGE_SECONDS))
    if not 0 <= value <= PRINCIPAL_AGE_LIMIT_SECONDS:
        raise ConfigError(f"PRINCIPAL_CACHE_SECONDS must be between 0 and {PRINCIPAL_AGE_LIMIT_SECONDS} "
                          f"(API.md: a change to who may act counts within 1 s); it is {value}")
    return value


class GatewayCaches(DependencyProvider):
    """One ScopeCache and one PrincipalCache per gateway process, shared by its workers."""

    def setup(self):
        self.scopes = ScopeCache()
        self.principals = PrincipalCache(principal_max_age(self.container.config))

    def get_dependency(self, worker_ctx):
        return self
