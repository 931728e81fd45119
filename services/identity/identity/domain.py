"""Identity rules, pure: worker status machine, bank numbers, grants, login throttling."""

from dataclasses import dataclass
from datetime import timedelta

from chassis.auth import ROLES, SCOPE_TYPES
from chassis.errors import Conflict, Invalid, TooManyRequests, Unauthorized

# Worker status (API.md "Identity"): applied -> onboarding -> active <-> suspended; left.
# applied -> active is allowed because compliance may clear a worker whose
# `onboarding` fact has not arrived yet (events are not ordered across producers).
WORKER_TRANSITIONS = {
    "applied": {"onboarding", "active", "left"},
    "onboarding": {"active", "left"},
    "active": {"suspended", "left"},
    "suspended": {"active", "left"},
    "left": set(),
}
WORKER_STATUSES = tuple(WORKER_TRANSITIONS)
STATUS_EVENTS = {
    "onboarding": "worker.onboarding",
    "active": "worker.activated",
    "suspended": "worker.suspended",
    "left": "worker.left",
}

ORGANISATION_KINDS = ("trust", "practice", "hub", "agency")
DEFAULT_MAX_TRAVEL_KM = 50.0

LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
# Failed logins from one client address (any emails) in the window after which that address is
# refused before any password is checked (LOGIN_ADDRESS_FAILURE_LIMIT overrides it).
DEFAULT_LOGIN_ADDRESS_FAILURE_LIMIT = 50


def transition(current, target):
    """The status to move to, None when already there, Conflict when not allowed."""
    if current == target:
        return None
    if target not in WORKER_TRANSITIONS.get(current, set()):
        raise Conflict(f"a worker cannot go from {current} to {target}")
    return target


def status_after_first_document(current):
    """The first compliance document moves an `applied` worker to `onboarding`; None: no change."""
    return "onboarding" if current == "applied" else None


def is_newer_fact(version, applied_version):
    """Compliance facts carry a per-worker version; one no newer than the last applied is stale."""
    return version > applied_version


def status_after_compliance(current, cleared):
    """Cleared activates a worker not yet (or no longer) active; not cleared (uncleared, lapsed)
    suspends an active one. None: no change."""
    if cleared and current in ("applied", "onboarding", "suspended"):
        return "active"
    if not cleared and current == "active":
        return "suspended"
    return None


def statuses_after_late_fact(current, cleared):
    """A compliance fact older than one already applied, as [(status, reason), ...] to move
    through. A late clearance of a worker never activated (applied, onboarding) says it was
    active before the newer fact, which did not clear it (one that did would have activated it):
    it goes through active to suspended, where the facts in order would have left it. Any other
    late fact changes nothing."""
    if cleared and current in ("applied", "onboarding"):
        return [("active", "every required check verified (a clearance that arrived late)"),
                ("suspended", "a required check lapsed (a newer fact, applied before)")]
    return []


def default_max_travel_km(max_travel_km):
    return DEFAULT_MAX_TRAVEL_KM if max_travel_km is None else max_travel_km


def worker_patch(patch):
    """A worker's changes as stored: extra grades without repeats, in order."""
    return {field: sorted(set(value)) if field == "extra_grades" else value for field, value in patch.items()}


def check_agency(organisation, worker_bank_id):
    """A worker's agency must be an agency organisation (None: no such one) of the worker's bank."""
    if organisation is None or organisation.kind != "agency" or organisation.bank_id != worker_bank_id:
        raise Invalid("not an agency of this bank",
                      errors={"agency_id": ["Must be an agency organisation of the worker's bank."]})


def format_bank_number(sequence):
    """The bank-wide worker (payroll) number: W followed by six or more digits."""
    return f"W{sequence:06d}"


def normalise_email(email):
    """Emails are case-insensitive: stored and compared lower-case."""
    return email.strip().lower()


def grant_key(grant):
    """What makes a grant itself: one role on one scope."""
    return grant["role"], grant["scope_type"], grant.get("scope_id")


def distinct_grants(grants):
    """Grants without repeats of one role on one scope (the last of each wins)."""
    return list({grant_key(g): g for g in grants}.values())


def validate_grants(grants):
    """Grants must name a known role on a scope that suits it."""
    errors = {}
    for index, grant in enumerate(grants):
        role, scope_type, scope_id = grant["role"], grant["scope_type"], grant.get("scope_id")
        problems = []
        if role not in ROLES:
            problems.append(f"unknown role {role!r}")
        if scope_type not in SCOPE_TYPES:
            problems.append(f"unknown scope_type {scope_type!r}")
        if role == "worker":
            problems.append("workers register themselves at POST /v1/workers")
        if role == "platform_admin" and scope_type != "platform":
            problems.append("platform_admin is granted on the platform scope")
        if scope_type == "platform" and role != "platform_admin":
            problems.append("only platform_admin is granted on the platform scope")
        if scope_type == "platform" and scope_id is not None:
            problems.append("the platform scope has no scope_id")
        if scope_type != "platform" and not scope_id:
            problems.append("scope_id is required")
        if role in ("agency",) and scope_type not in ("bank", "organisation"):
            problems.append("agency is granted on a bank or an agency organisation")
        if problems:
            errors[str(index)] = problems
    if errors:
        raise Invalid("invalid role grants", errors={"roles": errors})


def check_keeps_a_grant(grant_count):
    """An account keeps at least one grant: one without any would sit nowhere in the bank tree,
    beyond every bank admin's reach. Taking every right away is what deactivating is for."""
    if grant_count == 0:
        raise Invalid("an account keeps at least one role; deactivate it to take every role away",
                      errors={"roles": ["Give at least one role, or deactivate the account."]})


def check_active(deactivated_at):
    """A deactivated account is final (v1 has no reactivation): its roles no longer change."""
    if deactivated_at is not None:
        raise Conflict("this account is deactivated")


def user_place(places):
    """Where an account sits in the bank tree, for who may manage it: the narrowest place holding
    the places of all its grants (`places`: where each grant's scope lies, as resolve_scope
    answers, None for a platform grant). Two sites of one organisation sit at the organisation,
    two banks at the platform ({}: only a platform admin reaches it), as does an account with
    a platform grant or no grant at all."""
    if not places or any(place is None for place in places):
        return {}
    common = {}
    for level in ("bank_id", "organisation_id", "site_id"):
        values = {place.get(level) for place in places}
        if len(values) != 1 or None in values:
            break
        common[level] = values.pop()
    return common


def login_throttled(recent_failures):
    """After 10 failed logins in 15 minutes an account's wrong passwords get 429."""
    return recent_failures >= LOGIN_FAILURE_LIMIT


@dataclass(frozen=True)
class RecentFailures:
    """Failed logins in the window that bear on one attempt."""

    account: int  # of this email, from anywhere
    account_here: int  # of this email, from this client address
    address: int  # from this client address, whatever the email


def login_refused_unchecked(recent, address_limit):
    """Whether an attempt is refused (429) before its password is checked, so costing no hash: its
    client address has failed `address_limit` times in the window whatever the emails (a loop
    guessing many accounts), or has itself failed this account's limit (its next guess, right or
    wrong, is refused until the window passes). The failures of other addresses never refuse an
    attempt unchecked, so an account's owner elsewhere still gets in (API.md)."""
    return recent.address >= address_limit or login_throttled(recent.account_here)


@dataclass(frozen=True)
class LoginAttempt:
    user_id: str | None  # who logged in; None when the email or password was wrong
    throttled: bool = False  # a wrong password after too many recent failures, or refused unchecked
    deactivated: bool = False  # the right password of a deactivated account


def check_login(attempt):
    """The right password gets in (others' failures cannot lock a clinician out), unless the
    account is deactivated (401) or the attempt was refused unchecked (login_refused_unchecked); a
    wrong one is 401, or 429 once the account is throttled."""
    if attempt.deactivated:
        raise Unauthorized("this account has been deactivated")
    if attempt.user_id is not None:
        return attempt.user_id
    if attempt.throttled:
        raise TooManyRequests("too many failed logins for this account or from this address; "
                              "try again later")
    raise Unauthorized("email or password is wrong")
