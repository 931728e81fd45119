"""Shift rules, pure: the lifecycle, posting, release order, who may book now, refusals.

Times are aware datetimes; durations are elapsed time (working_time.py).
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from chassis.errors import Conflict
from shifts.working_time import RULES as WORKING_TIME_RULES
from shifts.working_time import Shift as Interval
from shifts.working_time import broken_rules, overlaps

# --- the lifecycle (API.md "Shifts": draft -> pending_approval -> open -> booked -> completed;
# cancelled from any state before completed; open -> agency when cascaded) ---------------------
#
# Every status change is one of these named moves: the statuses it may start from, and
# those it may lead to. use_cases.py changes a shift's status only through `move`.
MOVES = {
    "post": ((None,), ("draft", "pending_approval", "open")),
    "publish": (("draft",), ("open", "pending_approval")),  # pending when the site wants approval
    "approve": (("pending_approval",), ("open", "draft")),  # open if a release was asked for
    "reject": (("pending_approval",), ("draft",)),  # a release refused: back to the poster
    "cascade": (("open", "agency"), ("agency",)),  # to a (higher) agency tier
    "book": (("open", "agency"), ("booked",)),
    "complete": (("booked",), ("completed",)),  # its end has passed
    "cancel": (("draft", "pending_approval", "open", "agency", "booked"), ("cancelled",)),
}
MOVED = {"post": "posted", "publish": "published", "approve": "approved", "reject": "rejected",
         "cascade": "cascaded",
         "book": "booked", "complete": "completed", "cancel": "cancelled"}
STATUSES = ("draft", "pending_approval", "open", "agency", "booked", "completed", "cancelled")
TRANSITIONS = {status: {to for starts, ends in MOVES.values() if status in starts for to in ends}
               for status in STATUSES}
BOOKABLE = MOVES["book"][0]
WORKING = ("booked", "completed")  # counted in a worker's schedule


def move(name, current, target):
    """The status `target` if move `name` may take a `current` shift there; Conflict if not."""
    starts, ends = MOVES[name]
    if current not in starts:
        article = "an" if current and current[0] in "aeiou" else "a"
        raise Conflict(f"{article} {current} shift cannot be {MOVED[name]}")
    if target not in ends:
        raise ValueError(f"{name} leads to {ends}, not {target}")  # a bug, not the caller's fault
    return target


MAX_SHIFT_LENGTH = timedelta(hours=24)
LATE_CANCELLATION = timedelta(hours=72)
DEFAULT_PRIORITY_MINUTES = 60
DEFAULT_WINDOW_DAYS = 28

# API.md "Shifts": refusals are named in this order, the working-time rules last.
REFUSAL_ORDER = (
    "shift-not-open",
    "worker-not-active",
    "worker-not-eligible",
    "outside-priority-window",
    "overlapping-booking",
) + WORKING_TIME_RULES


@dataclass(frozen=True)
class Policy:
    """A site's rules for its shifts (API.md defaults)."""

    approval_before_release: bool = False
    instant_book_allowed: bool = True
    priority_minutes: int = DEFAULT_PRIORITY_MINUTES
    cascade_hours_before: int | None = None  # cascade to agency tier 1 when unfilled this close
    agency_cascade_needs_approval: bool = True


def check_shift(starts_at, ends_at, break_minutes, hourly_rate):
    """Validation errors (field -> messages) of a shift's times, break and rate."""
    errors = {}
    if ends_at <= starts_at:
        errors["ends_at"] = ["Must be after starts_at."]
    elif ends_at - starts_at > MAX_SHIFT_LENGTH:
        errors["ends_at"] = ["Must be at most 24 hours after starts_at."]
    length_minutes = (ends_at - starts_at).total_seconds() / 60
    if break_minutes < 0 or (length_minutes > 0 and break_minutes >= length_minutes):
        errors["break_minutes"] = ["Must be at least 0 and less than the shift's length."]
    if hourly_rate is not None and hourly_rate <= 0:
        errors["hourly_rate"] = ["Must be greater than 0."]
    return errors


def is_violation(hourly_rate, standard_rate):
    return Decimal(hourly_rate) > Decimal(standard_rate)


def status_after_posting(violation, publish, policy, retrospective=False):
    """A rate violation waits for approval; so does a release where the site requires it.
    A retrospective shift opens only to be booked at once to its worker."""
    if retrospective:
        return "open"
    if violation or (publish and policy.approval_before_release):
        return "pending_approval"
    return "open" if publish else "draft"


def status_after_publishing(policy):
    return "pending_approval" if policy.approval_before_release else "open"


def status_after_approval(awaited):
    """A shift that waited with a release asked for opens; one that waited without, is a draft."""
    return "open" if awaited is not None and awaited.to != "agency" else "draft"


@dataclass(frozen=True)
class AwaitedRelease:
    """A release asked for that waits for an approver: to a priority group or the whole bank
    (the shift waits in `pending_approval`), or to an agency tier (the shift stays open to the
    bank meanwhile). Stored with the shift (`Shift.awaited_release`) until approved or dropped."""

    to: str  # priority | bank | agency
    priority_group_id: str | None = None
    priority_minutes: int | None = None
    tier: int | None = None

    @classmethod
    def from_publish(cls, publish):
        return cls(publish["to"], publish.get("priority_group_id"), publish.get("priority_minutes"))

    @classmethod
    def from_json(cls, data):
        return None if data is None else cls(**{k: data.get(k) for k in ("to", "priority_group_id",
                                                                         "priority_minutes", "tier")})

    def to_json(self):
        return {key: value for key, value in asdict(self).items() if value is not None}

    @property
    def is_cascade(self):
        return self.to == "agency"


@dataclass(frozen=True)
class Approval:
    """What approving a shift does now: which parts it approves, and the move it makes."""

    approves: tuple  # of "rate", "release", "cascade"
    move: str | None  # "approve" (out of pending_approval), "cascade", or None (rate alone)


def approval(status, violation_pending, awaited):
    """Approve whatever the shift awaits: its rate (also on a retrospective, booked or completed
    shift), a release the site requires approval for, or a requested agency cascade. Conflict
    when it awaits nothing."""
    approves = ("rate",) if violation_pending and status != "cancelled" else ()
    move_name = None
    if status == "pending_approval":
        approves, move_name = approves + ("release",), "approve"
    elif awaited is not None and awaited.is_cascade and status in BOOKABLE:
        approves, move_name = approves + ("cascade",), "cascade"
    if not approves:
        raise Conflict(f"a {status} shift has nothing awaiting approval")
    return Approval(approves, move_name)


@dataclass(frozen=True)
class Rejection:
    """What rejecting a shift does now: which parts it refuses, and the move it makes."""

    rejects: tuple  # of "rate", "release", "cascade"
    move: str | None  # "cancel" (a refused rate), "reject" (a refused release: back to draft), or None


def rejection(status, violation_pending, awaited):
    """Reject whatever the shift awaits, as `approval` would approve it (a decision where API.md is
    silent):

    - a pending rate violation: the shift is cancelled (it may not run at that rate, and a rate is
      fixed when posted: the poster posts again at another), with any release or cascade it
      awaited. A completed shift's rate cannot be rejected: the cover was worked (approve it);
    - a release awaiting approval (no violation): the shift goes back to `draft`;
    - an agency cascade awaiting approval: the request is dropped; the shift stays open to the bank.

    Conflict when it awaits nothing."""
    if violation_pending and status != "cancelled":
        if status == "completed":
            raise Conflict("a completed shift was worked: its rate can be approved, not rejected")
        parts = ("rate",)
        if awaited is not None:
            parts += ("cascade",) if awaited.is_cascade else ("release",)
        return Rejection(parts, "cancel")
    if status == "pending_approval":
        return Rejection(("release",), "reject")
    if awaited is not None and awaited.is_cascade and status in BOOKABLE:
        return Rejection(("cascade",), None)
    raise Conflict(f"a {status} shift has nothing awaiting approval to reject")


@dataclass(frozen=True)
class Release:
    """Who a shift is released to now."""

    stage: str | None  # priority | bank | agency | None (not released)
    priority_members: frozenset = field(default_factory=frozenset)
    priority_until: datetime | None = None
    agency_tier: int | None = None


def open_to_worker(status, release, worker_id, now):
    """Is the shift outside any priority window that excludes this worker? (A shift that is
    not open at all is refused as shift-not-open, not as outside the window.)"""
    if status not in BOOKABLE:
        return True
    if release.stage == "priority" and release.priority_until is not None and now < release.priority_until:
        return worker_id in release.priority_members
    return True  # bank stage, agency stage (the bank still sees it), or the window has ended


def open_to_agency(status, release, tier):
    """Tier N sees shifts cascaded to tiers 1..N."""
    return status == "agency" and release.agency_tier is not None and tier >= release.agency_tier


@dataclass(frozen=True)
class Candidate:
    """What booking needs to know about the worker."""

    status: str
    staff_type: str
    grades: frozenset
    opted_out_of_48h: bool
    compliance_reasons: tuple = ()


def booking_refusals(shift_status, shift_staff_type, shift_grade, starts_at, ends_at, candidate,
                     open_to_this_worker, schedule):
    """Every rule a booking breaks, in API.md's order. `schedule`: the worker's other
    booked shifts anywhere in the bank, as (starts_at, ends_at)."""
    broken = []
    if shift_status not in BOOKABLE:
        broken.append("shift-not-open")
    if candidate.status != "active":
        broken.append("worker-not-active")
    if (candidate.staff_type != shift_staff_type or shift_grade not in candidate.grades
            or candidate.compliance_reasons):
        broken.append("worker-not-eligible")
    if not open_to_this_worker:
        broken.append("outside-priority-window")
    new = Interval(starts_at, ends_at)
    others = [Interval(s, e) for s, e in schedule]
    if any(overlaps(new, other) for other in others):
        broken.append("overlapping-booking")
        others = [other for other in others if not overlaps(new, other)]
    broken += broken_rules(others, new, candidate.opted_out_of_48h)
    return [rule for rule in REFUSAL_ORDER if rule in broken]


def is_late_cancellation(starts_at, now):
    return starts_at - now < LATE_CANCELLATION


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine), kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(a))
