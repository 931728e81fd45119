"""Shift rules, pure: posting status, release visibility, refusals in API.md's order."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.errors import Conflict
from shifts import domain
from shifts.domain import Candidate, Policy, Release, booking_refusals, open_to_worker

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ACTIVE = Candidate("active", "doctor", frozenset({"ST3"}), False)


def test_shift_validation():
    assert domain.check_shift(AT, AT, 0, Decimal("10")) == {"ends_at": ["Must be after starts_at."]}
    assert "ends_at" in domain.check_shift(AT, AT + timedelta(hours=24, minutes=1), 0, None)
    assert domain.check_shift(AT, AT + timedelta(hours=24), 0, None) == {}
    assert "break_minutes" in domain.check_shift(AT, AT + timedelta(hours=1), 60, None)
    assert "hourly_rate" in domain.check_shift(AT, AT + timedelta(hours=1), 0, Decimal("-1"))


def test_posting_status_follows_rate_and_policy():
    default = Policy()
    assert domain.status_after_posting(False, {"to": "bank"}, default) == "open"
    assert domain.status_after_posting(False, None, default) == "draft"
    assert domain.status_after_posting(True, {"to": "bank"}, default) == "pending_approval"
    assert domain.status_after_posting(False, {"to": "bank"}, Policy(approval_before_release=True)) == \
        "pending_approval"
    assert domain.is_violation(Decimal("50.01"), Decimal("50.00"))
    assert not domain.is_violation(Decimal("50.00"), Decimal("50.00"))


def test_priority_window_opens_to_members_then_everyone():
    release = Release("priority", frozenset({"w1"}), AT + timedelta(minutes=60))
    assert open_to_worker("open", release, "w1", AT)
    assert not open_to_worker("open", release, "w2", AT)
    assert open_to_worker("open", release, "w2", AT + timedelta(minutes=60))
    assert open_to_worker("open", Release("bank"), "w2", AT)
    # A shift that is not open at all is refused as shift-not-open, not as outside the window.
    assert open_to_worker("booked", release, "w2", AT)


def test_agency_tiers_see_lower_tiers():
    release = Release("agency", agency_tier=2)
    assert domain.open_to_agency("agency", release, 3)
    assert domain.open_to_agency("agency", release, 2)
    assert not domain.open_to_agency("agency", release, 1)


def test_every_broken_rule_is_listed_in_api_order():
    suspended = Candidate("suspended", "nurse", frozenset({"Band 5"}), False, ("dbs is not verified",))
    start = AT
    broken = booking_refusals("booked", "doctor", "ST3", start, start + timedelta(hours=14), suspended, False,
                              [(start + timedelta(hours=1), start + timedelta(hours=2))])
    assert broken == ["shift-not-open", "worker-not-active", "worker-not-eligible", "outside-priority-window",
                      "overlapping-booking", "max-shift-13h"]
    eight_hours = start + timedelta(hours=8)
    assert booking_refusals("open", "doctor", "ST3", start, eight_hours, ACTIVE, True, []) == []


def test_grade_and_extra_grades():
    extra = Candidate("active", "doctor", frozenset({"ST3", "ST4"}), False)
    assert booking_refusals("open", "doctor", "ST4", AT, AT + timedelta(hours=8), extra, True, []) == []
    assert booking_refusals("open", "doctor", "ST5", AT, AT + timedelta(hours=8), extra, True, []) == [
        "worker-not-eligible"]


def test_rest_boundary_exactly_11_hours_is_allowed():
    previous = (AT - timedelta(hours=19), AT - timedelta(hours=11))
    end = AT + timedelta(hours=8)
    assert booking_refusals("open", "doctor", "ST3", AT, end, ACTIVE, True, [previous]) == []
    closer = (AT - timedelta(hours=18), AT - timedelta(hours=10, minutes=59))
    assert booking_refusals("open", "doctor", "ST3", AT, end, ACTIVE, True, [closer]) == [
        "min-rest-11h"]


def test_late_cancellation_is_inside_72_hours():
    assert domain.is_late_cancellation(AT + timedelta(hours=71, minutes=59), AT)
    assert not domain.is_late_cancellation(AT + timedelta(hours=72), AT)


def test_distance():
    manchester, leeds = (53.4808, -2.2426), (53.8008, -1.5491)
    assert 55 < domain.distance_km(*manchester, *leeds) < 60


# --- the lifecycle ---------------------------------------------------------------------

def test_every_status_change_is_a_named_move_of_the_table():
    assert domain.TRANSITIONS == {
        "draft": {"pending_approval", "open", "cancelled"},
        "pending_approval": {"open", "draft", "cancelled"},
        "open": {"agency", "booked", "cancelled"},
        "agency": {"agency", "booked", "cancelled"},
        "booked": {"completed", "cancelled"},
        "completed": set(),
        "cancelled": set(),
    }
    assert domain.move("book", "open", "booked") == "booked"
    with pytest.raises(Conflict, match="a booked shift cannot be booked"):
        domain.move("book", "booked", "booked")
    with pytest.raises(Conflict, match="an agency shift cannot be published"):
        domain.move("publish", "agency", "open")
    with pytest.raises(ValueError):  # a move never leads elsewhere than the table says
        domain.move("cancel", "open", "draft")


def test_approval_approves_whatever_the_shift_awaits():
    bank = domain.AwaitedRelease("bank")
    cascade = domain.AwaitedRelease("agency", tier=2)
    assert domain.approval("pending_approval", True, bank) == domain.Approval(("rate", "release"), "approve")
    assert domain.status_after_approval(bank) == "open" and domain.status_after_approval(None) == "draft"
    assert domain.approval("open", False, cascade) == domain.Approval(("cascade",), "cascade")
    assert domain.approval("booked", True, None) == domain.Approval(("rate",), None)
    with pytest.raises(Conflict):
        domain.approval("open", False, None)
    assert domain.AwaitedRelease.from_json(cascade.to_json()) == cascade


def test_rejection_refuses_whatever_the_shift_awaits():
    bank = domain.AwaitedRelease("bank")
    cascade = domain.AwaitedRelease("agency", tier=1)
    # a rate above the card: the shift is cancelled, with whatever release it waited with
    assert domain.rejection("pending_approval", True, bank) == domain.Rejection(("rate", "release"), "cancel")
    assert domain.rejection("pending_approval", True, None) == domain.Rejection(("rate",), "cancel")
    assert domain.rejection("booked", True, None) == domain.Rejection(("rate",), "cancel")  # retrospective
    with pytest.raises(Conflict, match="approved, not rejected"):
        domain.rejection("completed", True, None)  # worked: there is nothing left to cancel
    # a release the site wants approved: back to the poster as a draft
    assert domain.rejection("pending_approval", False, bank) == domain.Rejection(("release",), "reject")
    assert domain.move("reject", "pending_approval", "draft") == "draft"
    # an agency cascade: the request is dropped, the shift stays where it is
    assert domain.rejection("open", False, cascade) == domain.Rejection(("cascade",), None)
    assert domain.rejection("agency", False, cascade) == domain.Rejection(("cascade",), None)
    # nothing awaiting: a conflict, whatever the status
    for status, violation, awaited in (("open", False, None), ("draft", False, None), ("booked", False, None),
                                       ("cancelled", True, None), ("completed", False, None),
                                       ("booked", False, cascade)):
        with pytest.raises(Conflict, match="nothing awaiting approval"):
            domain.rejection(status, violation, awaited)
