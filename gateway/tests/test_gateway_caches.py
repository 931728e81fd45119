"""The gateway's caches (gateway/caches.py): what is remembered, for how long, and what never is."""

import pytest

from chassis.config import ConfigError
from gateway.caches import PrincipalCache, ScopeCache, principal_max_age


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Fetch:
    """A stand-in for the owning service's answer, counting the calls."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, *key):
        self.calls.append(key)
        return self.answers.get(key if len(key) > 1 else key[0])


def test_a_found_place_is_kept_but_not_an_accounts_nor_a_missing_one():
    fetch = Fetch({("site", "s1"): {"bank_id": "b", "site_id": "s1"}, ("user", "u1"): {"bank_id": "b"}})
    cache = ScopeCache()
    for _ in range(3):
        assert cache.resolve("site", "s1", fetch) == {"bank_id": "b", "site_id": "s1"}
        assert cache.resolve("user", "u1", fetch) == {"bank_id": "b"}  # its grants may change
        assert cache.resolve("shift", "nope", fetch) is None  # a create may make it
    assert fetch.calls.count(("site", "s1")) == 1
    assert fetch.calls.count(("user", "u1")) == 3
    assert fetch.calls.count(("shift", "nope")) == 3


def test_places_are_bounded_least_recently_used_out():
    fetch = Fetch({("site", str(i)): {"site_id": str(i)} for i in range(4)})
    cache = ScopeCache(max_entries=2)
    for i in ("0", "1", "0", "2", "0"):  # "1" is the least recently used when "2" arrives
        cache.resolve("site", i, fetch)
    cache.resolve("site", "1", fetch)
    assert fetch.calls == [("site", "0"), ("site", "1"), ("site", "2"), ("site", "1")]


def test_a_principal_is_kept_no_longer_than_its_age_and_dropped_when_told():
    clock, fetch = Clock(), Fetch({"u1": {"id": "u1", "roles": []}})
    cache = PrincipalCache(max_age=0.5, clock=clock)
    assert cache.get("u1", fetch) == {"id": "u1", "roles": []}
    clock.now += 0.49
    cache.get("u1", fetch)
    assert len(fetch.calls) == 1
    clock.now += 0.02  # 0.51 s after it was fetched
    cache.get("u1", fetch)
    assert len(fetch.calls) == 2
    cache.forget("u1")  # a change to the account: the next request asks again
    cache.get("u1", fetch)
    assert len(fetch.calls) == 3


def test_a_missing_or_deactivated_account_is_never_kept_and_zero_turns_the_cache_off():
    clock, fetch = Clock(), Fetch({})
    cache = PrincipalCache(max_age=0.5, clock=clock)
    assert cache.get("gone", fetch) is None and cache.get("gone", fetch) is None
    assert len(fetch.calls) == 2
    off, fetch = PrincipalCache(max_age=0, clock=clock), Fetch({"u1": {"id": "u1"}})
    off.get("u1", fetch), off.get("u1", fetch)
    assert len(fetch.calls) == 2


@pytest.mark.parametrize("value", ["-0.1", "1.5", "30"])
def test_a_principal_may_not_be_kept_past_the_second_api_md_allows(value):
    with pytest.raises(ConfigError, match="PRINCIPAL_CACHE_SECONDS"):
        principal_max_age({"PRINCIPAL_CACHE_SECONDS": value})
    assert principal_max_age({"PRINCIPAL_CACHE_SECONDS": "1"}) == 1.0
    assert principal_max_age({}) == 0.5
