"""Identity rules, pure: worker status machine, bank numbers, grants, login throttling."""

from datetime import timedelta

from chassis.auth import ROLES, SCOPE_TYPES
from chassis.errors import Conflict, Invalid

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


def transition(current, target):
    """The status to move to, None when already there, Conflict when not allowed."""
    if current == target:
        return None
    if target not in WORKER_TRANSITIONS.get(current, set()):
        raise Conflict(f"a worker cannot go from {current} to {target}")
    return target


def format_bank_number(sequence):
    """The bank-wide worker (payroll) number: W followed by six or more digits."""
    return f"W{sequence:06d}"


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


def login_throttled(recent_failures):
    """After 10 failed logins in 15 minutes an account's wrong passwords get 429."""
    return recent_failures >= LOGIN_FAILURE_LIMIT
