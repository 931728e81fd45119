"""The shifts service alone over real RPC, PostgreSQL and RabbitMQ, its RPC neighbours
(identity, compliance, payroll) replaced by stand-ins on the test's vhost, as
nameko-examples tests a service: its use cases without the other four services.
The same flows across every real service are in tests/test_e2e_shifts.py."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.engines import engine_for
from chassis.errors import Conflict, Forbidden, Invalid, NotFound
from shifts.service import ShiftsService

BANK, ORG, SITE = "bank-1", "org-1", "site-1"
SITES = {SITE: {"id": SITE, "organisation_id": ORG, "bank_id": BANK, "latitude": 53.48, "longitude": -2.24}}
ORGS = {ORG: BANK}  # organisation id -> its bank
WORKERS = {}
INELIGIBLE = {}  # worker id -> compliance reasons
STANDARD_RATE = "40.00"


class StandInIdentity:
    name = "identity"

    @rpc
    def get_site(self, site_id):
        return SITES.get(site_id)

    @rpc
    def get_worker(self, worker_id):
        if worker_id not in WORKERS:
            raise NotFound("no such worker")
        return WORKERS[worker_id]

    @rpc
    def resolve_scope(self, kind, resource_id):
        bank_id = ORGS.get(resource_id)
        return {"bank_id": bank_id, "organisation_id": resource_id} if bank_id else None

    @rpc
    def banks_of_workers(self, worker_ids):
        return {w: WORKERS[w]["bank_id"] for w in worker_ids if w in WORKERS}


class StandInCompliance:
    name = "compliance"

    @rpc
    def check_eligibility(self, worker_id, staff_type, on):
        reasons = INELIGIBLE.get(worker_id, [])
        return {"eligible": not reasons, "reasons": reasons}

    @rpc
    def check_eligibility_on_days(self, worker_id, staff_type, days):
        return {day: INELIGIBLE.get(worker_id, []) for day in days}


class StandInPayroll:
    name = "payroll"

    @rpc
    def standard_rate(self, bank_id, staff_type, grade, starts_at, ends_at):
        return {"band": "day", "rate": STANDARD_RATE}


def worker(worker_id, bank_id=BANK, **overrides):
    WORKERS[worker_id] = {"id": worker_id, "bank_id": bank_id, "status": "active", "staff_type": "nurse",
                          "grade": "Band 5", "extra_grades": [], "opted_out_of_48h": False,
                          "agency_id": None, "max_travel_km": 50.0, "latitude": 53.47, "longitude": -2.25,
                          **overrides}
    return worker_id


def actor(user_id="coordinator", *capacities, worker_id=None, agency_ids=()):
    return {"user_id": user_id, "capacities": list(capacities), "worker_id": worker_id,
            "agency_ids": list(agency_ids)}


SITE_ACTOR = actor("coordinator", "site", "staff")
APPROVER = actor("approver", "approver", "staff")


@pytest.fixture
def shifts_config(service_config):
    return service_config(ShiftsService)


@pytest.fixture
def shifts(run_service, container_factory, shifts_config):
    WORKERS.clear()
    INELIGIBLE.clear()
    for stand_in in (StandInIdentity, StandInCompliance, StandInPayroll):
        container_factory(stand_in, shifts_config).start()
    return run_service(ShiftsService, shifts_config)


def shift_body(days=2, hours=8, **overrides):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"site_id": SITE, "staff_type": "nurse", "grade": "Band 5", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=hours)).isoformat(), **overrides}


def steps(shifts, shift_id):
    return [s["step"] for s in shifts.shift_steps(shift_id)["items"]]


def test_an_rpc_acting_for_a_caller_refuses_a_missing_one(shifts):
    with pytest.raises(Forbidden):
        shifts.post_shift(shift_body(publish={"to": "bank"}), None)
    with pytest.raises(Forbidden):
        shifts.book_shift("any", {"worker_id": "w"}, {"capacities": ["site"]})
    # lists filtered by the caller's grants: a missing filter is an error, not "everything"
    with pytest.raises(RemoteError, match="scope_ids"):
        shifts.list_shifts({})
    with pytest.raises(RemoteError, match="scope_ids"):
        shifts.list_rate_violations({})


def test_a_shift_moves_from_draft_through_open_to_booked_and_completed(shifts):
    draft = shifts.post_shift(shift_body(), SITE_ACTOR)
    assert (draft["status"], draft["hourly_rate"], draft["rate_violation"]) == ("draft", STANDARD_RATE, False)
    opened = shifts.publish_shift(draft["id"], {"to": "bank"}, SITE_ACTOR)
    assert (opened["status"], opened["release_stage"]) == ("open", "bank")
    with pytest.raises(Conflict, match="an open shift cannot be published"):
        shifts.publish_shift(draft["id"], {"to": "bank"}, SITE_ACTOR)
    booked = shifts.book_shift(draft["id"], {"worker_id": worker("w1")}, SITE_ACTOR)
    assert (booked["status"], booked["worker_id"]) == ("booked", "w1")
    shifts.run_timers((datetime.fromisoformat(booked["ends_at"]) + timedelta(minutes=1)).isoformat())
    assert shifts.get_shift(draft["id"], SITE_ACTOR)["status"] == "completed"
    with pytest.raises(Conflict, match="a completed shift cannot be cancelled"):
        shifts.cancel_shift(draft["id"], {"reason": "too late"}, SITE_ACTOR)
    assert steps(shifts, draft["id"]) == ["posted", "released to bank", "booked", "completed"]


def test_a_rate_violation_waits_with_its_release_until_approved(shifts):
    posted = shifts.post_shift(shift_body(hourly_rate="55.00", publish={"to": "bank"}), SITE_ACTOR)
    assert (posted["status"], posted["rate_violation"]) == ("pending_approval", True)
    with pytest.raises(Conflict, match="shift-not-open"):
        shifts.book_shift(posted["id"], {"worker_id": worker("w1")}, SITE_ACTOR)
    approved = shifts.approve_shift(posted["id"], {"reason": "winter pressure"}, APPROVER)
    assert (approved["status"], approved["release_stage"], approved["violation_status"]) == (
        "open", "bank", "approved")
    with pytest.raises(Conflict, match="nothing awaiting approval"):
        shifts.approve_shift(posted["id"], {"reason": "again"}, APPROVER)


def test_a_coordinators_cascade_waits_for_an_approver_and_the_shift_stays_open(shifts, shifts_config):
    posted = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    asked = shifts.cascade_shift(posted["id"], {"tier": 2}, SITE_ACTOR)
    assert (asked["status"], asked["agency_tier"]) == ("open", None)
    cascaded = shifts.approve_shift(posted["id"], {"reason": "no bank cover"}, APPROVER)
    assert (cascaded["status"], cascaded["agency_tier"]) == ("agency", 2)
    with engine_for(shifts_config["DB_URL"]).connect() as conn:  # the request is dropped once done
        assert conn.execute(sa.text("SELECT awaited_release FROM shifts")).scalar() is None


def test_who_books_whom(shifts):
    shift = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    me = worker("w1")
    as_worker = actor("user-w1", "worker", worker_id=me)
    with pytest.raises(Forbidden, match="books only itself"):
        shifts.book_shift(shift["id"], {"worker_id": worker("w2")}, as_worker)
    with pytest.raises(Forbidden, match="not instant-book"):
        shifts.book_shift(shift["id"], {"worker_id": me}, as_worker)
    with pytest.raises(NotFound):  # not cascaded to any agency: unseen
        shifts.book_shift(shift["id"], {"worker_id": me}, actor("agent", "agency", agency_ids=["agency-1"]))
    with pytest.raises(Forbidden, match="outside this bank"):
        shifts.book_shift(shift["id"], {"worker_id": worker("stranger", bank_id="bank-2")}, SITE_ACTOR)
    instant = shifts.post_shift(shift_body(days=4, instant_book=True, publish={"to": "bank"}), SITE_ACTOR)
    assert shifts.book_shift(instant["id"], {"worker_id": me}, as_worker)["worker_id"] == me


def test_refusals_name_every_rule_broken_in_order(shifts):
    INELIGIBLE[worker("w1", status="suspended")] = ["missing:dbs"]
    shift = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    with pytest.raises(Conflict) as refused:
        shifts.book_shift(shift["id"], {"worker_id": "w1"}, SITE_ACTOR)
    assert refused.value.extra["rules"] == ["worker-not-active", "worker-not-eligible"]
    with pytest.raises(Invalid):
        shifts.book_shift(shift["id"], {"worker_id": "nobody"}, SITE_ACTOR)


def test_of_concurrent_bookings_of_one_shift_exactly_one_wins(shifts, shifts_config):
    shift = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    ids = [worker(f"w{i}") for i in range(8)]

    def book(worker_id):
        with ServiceRpcProxy("shifts", shifts_config) as proxy:
            try:
                return proxy.book_shift(shift["id"], {"worker_id": worker_id}, SITE_ACTOR)["worker_id"]
            except Conflict as exc:
                return exc.extra["rules"][0]

    results = list(eventlet.GreenPool(8).imap(book, ids))
    assert sorted(results, key=lambda r: r in ids) == ["shift-not-open"] * 7 + [
        shifts.get_shift(shift["id"], SITE_ACTOR)["worker_id"]]


def test_whether_a_worker_applied_to_or_was_booked_at_some_places(shifts):
    """The gateway's question before staff of a site or organisation see a worker's public part
    (API.md "Roles and scope"): asked about named places only, never "anywhere"."""
    SITES["site-2"] = {"id": "site-2", "organisation_id": "org-2", "bank_id": BANK, "latitude": 53.4,
                       "longitude": -2.2}
    try:
        here = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
        there = shifts.post_shift(shift_body(days=5, site_id="site-2", publish={"to": "bank"}), SITE_ACTOR)
    finally:
        del SITES["site-2"]
    applicant, booked, stranger = worker("applicant"), worker("booked"), worker("stranger")
    shifts.apply(here["id"], actor("user-applicant", "worker", worker_id=applicant))
    shifts.book_shift(there["id"], {"worker_id": booked}, SITE_ACTOR)

    def has(worker_id, organisation_ids, site_ids):
        return shifts.worker_has_shift_at(worker_id, organisation_ids, site_ids)

    assert has(applicant, [], [SITE]) and has(applicant, [ORG], []) and has(applicant, ["org-2", ORG], [])
    assert not has(applicant, ["org-2"], ["site-2"])
    assert has(booked, [], ["site-2"]) and has(booked, ["org-2"], []) and not has(booked, [ORG], [SITE])
    assert not has(stranger, [ORG, "org-2"], [SITE, "site-2"])
    assert not has(applicant, [], [])
    # a booking cancelled later still was one: the site saw that worker on its shift
    shifts.cancel_shift(there["id"], {"reason": "ward closed"}, SITE_ACTOR)
    assert has(booked, [], ["site-2"])
    # the places are required: a missing or null list is refused, never read as "anywhere"
    for organisation_ids, site_ids in ((None, [SITE]), ([ORG], None), ("org-1", [])):
        with pytest.raises(Forbidden):
            has(applicant, organisation_ids, site_ids)
    with pytest.raises(RemoteError, match="site_ids"):
        shifts.worker_has_shift_at(applicant, [ORG])


def test_a_priority_window_shows_the_shift_to_its_group_only_then_to_the_bank(shifts):
    member, other = worker("member"), worker("other")
    group = shifts.create_priority_group({"organisation_id": ORG, "name": "Regulars", "worker_ids": [member]})
    shift = shifts.post_shift(shift_body(publish={"to": "priority", "priority_group_id": group["id"],
                                                  "priority_minutes": 30}), SITE_ACTOR)

    def available(worker_id):
        found = shifts.available_shifts({}, actor(f"user-{worker_id}", "worker", worker_id=worker_id))
        return [s["id"] for s in found["items"]]

    assert (available(member), available(other)) == ([shift["id"]], [])
    shifts.run_timers((datetime.now(UTC) + timedelta(minutes=31)).isoformat())
    assert available(other) == [shift["id"]]
    with pytest.raises(Forbidden):
        shifts.available_shifts({}, SITE_ACTOR)  # staff have no available shifts


# --- issue 20: rejecting what a shift awaits, a worker's own shifts, priority groups listed ------

def outbox(shifts_config, event_type):
    with engine_for(shifts_config["DB_URL"]).connect() as conn:
        return [row.envelope["data"] for row in conn.execute(
            sa.text("SELECT envelope FROM outbox WHERE event_type = :type ORDER BY id"),
            {"type": event_type})]


def test_rejecting_a_rate_cancels_the_shift_and_keeps_who_rejected_it_and_why(shifts, shifts_config):
    posted = shifts.post_shift(shift_body(hourly_rate="55.00", publish={"to": "bank"},
                                          justification="  nobody comes at the card rate  "), SITE_ACTOR)
    assert (posted["status"], posted["justification"]) == (
        "pending_approval", "nobody comes at the card rate")
    with pytest.raises(Invalid):
        shifts.reject_shift(posted["id"], {}, APPROVER)  # a reason is required
    with pytest.raises(Forbidden):
        shifts.reject_shift(posted["id"], {"reason": "too dear"}, SITE_ACTOR)  # not an approver
    with pytest.raises(Forbidden):
        shifts.reject_shift(posted["id"], {"reason": "too dear"}, None)
    rejected = shifts.reject_shift(posted["id"], {"reason": "too dear"}, APPROVER)
    assert (rejected["status"], rejected["violation_status"], rejected["cancelled_by"]) == (
        "cancelled", "rejected", "site")
    assert (rejected["rejected_by"], rejected["rejection_reason"], rejected["cancellation_reason"]) == (
        "approver", "too dear", "too dear")
    assert rejected["approved_by"] is None and rejected["release_stage"] is None
    assert steps(shifts, posted["id"]) == ["posted", "rejected", "cancelled"]
    [cancelled] = outbox(shifts_config, "shift.cancelled")
    assert (cancelled["shift_id"], cancelled["cancelled_by"], cancelled["reason"], cancelled["late"]) == (
        posted["id"], "site", "too dear", False)
    assert outbox(shifts_config, "shift.published") == []  # it never opened
    [violation] = shifts.list_rate_violations({}, None)["items"]
    assert (violation["status"], violation["reason"], violation["rejected_by"], violation["approved_by"]) == (
        "rejected", "too dear", "approver", None)
    assert violation["justification"] == "nobody comes at the card rate" and violation["rejected_at"]
    with pytest.raises(Conflict, match="nothing awaiting approval"):
        shifts.reject_shift(posted["id"], {"reason": "again"}, APPROVER)

    # A violation withdrawn by cancelling it says so too: who, why, when.
    withdrawn = shifts.post_shift(shift_body(days=3, hourly_rate="55.00"), SITE_ACTOR)
    shifts.cancel_shift(withdrawn["id"], {"reason": "not needed"}, SITE_ACTOR)
    by_shift = {v["shift_id"]: v for v in shifts.list_rate_violations({}, None)["items"]}
    assert (by_shift[withdrawn["id"]]["reason"], by_shift[withdrawn["id"]]["rejected_by"]) == (
        "not needed", "coordinator")
    assert by_shift[withdrawn["id"]]["justification"] is None
    # an approved one keeps the approver's reason
    approved = shifts.post_shift(shift_body(days=4, hourly_rate="55.00"), SITE_ACTOR)
    shifts.approve_shift(approved["id"], {"reason": "winter"}, APPROVER)
    by_shift = {v["shift_id"]: v for v in shifts.list_rate_violations({}, None)["items"]}
    assert (by_shift[approved["id"]]["reason"], by_shift[approved["id"]]["rejected_by"]) == ("winter", None)


def test_whoever_posted_a_shift_may_reject_it_though_not_approve_it(shifts):
    poster = actor("poster", "site", "approver", "staff")
    posted = shifts.post_shift(shift_body(hourly_rate="55.00"), poster)
    with pytest.raises(Forbidden):
        shifts.approve_shift(posted["id"], {"reason": "mine"}, poster)
    assert shifts.reject_shift(posted["id"], {"reason": "my mistake"}, poster)["status"] == "cancelled"


def test_rejecting_a_release_sends_the_shift_back_to_draft(shifts):
    shifts.put_policy(SITE, {"approval_before_release": True})
    posted = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    assert posted["status"] == "pending_approval"
    rejected = shifts.reject_shift(posted["id"], {"reason": "use the priority group"}, APPROVER)
    assert (rejected["status"], rejected["release_stage"], rejected["violation_status"]) == (
        "draft", None, None)
    assert rejected["rejection_reason"] is None  # the rate was never in question
    assert steps(shifts, posted["id"]) == ["posted", "rejected"]
    with pytest.raises(Conflict, match="nothing awaiting approval"):
        shifts.reject_shift(posted["id"], {"reason": "again"}, APPROVER)
    again = shifts.publish_shift(posted["id"], {"to": "bank"}, SITE_ACTOR)  # the poster may try again
    assert again["status"] == "pending_approval"


def test_rejecting_a_cascade_drops_the_request_and_the_shift_stays_open(shifts, shifts_config):
    posted = shifts.post_shift(shift_body(publish={"to": "bank"}), SITE_ACTOR)
    shifts.cascade_shift(posted["id"], {"tier": 1}, SITE_ACTOR)
    rejected = shifts.reject_shift(posted["id"], {"reason": "the bank will fill it"}, APPROVER)
    assert (rejected["status"], rejected["release_stage"], rejected["agency_tier"]) == ("open", "bank", None)
    with engine_for(shifts_config["DB_URL"]).connect() as conn:
        assert conn.execute(sa.text("SELECT awaited_release FROM shifts")).scalar() is None
    with pytest.raises(Conflict, match="nothing awaiting approval"):
        shifts.approve_shift(posted["id"], {"reason": "no"}, APPROVER)
    assert outbox(shifts_config, "shift.cascaded") == []
    assert steps(shifts, posted["id"]) == [
        "posted", "released to bank", "cascade awaits approval", "rejected"]


def test_a_workers_own_shifts_booked_and_applied_to_soonest_first(shifts):
    me, other = worker("me"), worker("other")
    as_me = actor("user-me", "worker", worker_id=me)
    booked = shifts.post_shift(shift_body(days=5, publish={"to": "bank"}), SITE_ACTOR)
    lost = shifts.post_shift(shift_body(days=3, publish={"to": "bank"}), SITE_ACTOR)
    waiting = shifts.post_shift(shift_body(days=7, publish={"to": "bank"}), SITE_ACTOR)
    unrelated = shifts.post_shift(shift_body(days=9, publish={"to": "bank"}), SITE_ACTOR)
    shifts.book_shift(booked["id"], {"worker_id": me}, SITE_ACTOR)
    for shift in (lost, waiting):
        shifts.apply(shift["id"], as_me)
    shifts.book_shift(lost["id"], {"worker_id": other}, SITE_ACTOR)

    mine = shifts.list_worker_shifts(me, {}, as_me, None)
    assert [s["id"] for s in mine["items"]] == [lost["id"], booked["id"], waiting["id"]]
    assert unrelated["id"] not in [s["id"] for s in mine["items"]] and mine["next_cursor"] is None
    by_id = {s["id"]: s for s in mine["items"]}
    assert by_id[booked["id"]]["applied_at"] is None and by_id[booked["id"]]["worker_id"] == me
    assert by_id[waiting["id"]]["applied_at"] and by_id[waiting["id"]]["status"] == "open"
    # booked to another worker: the outcome shows, the other worker is not named
    assert (by_id[lost["id"]]["status"], by_id[lost["id"]]["worker_id"]) == ("booked", None)

    def ids(query, caller=as_me, scope_ids=None):
        return [s["id"] for s in shifts.list_worker_shifts(me, query, caller, scope_ids)["items"]]

    assert ids({"status": "booked"}) == [lost["id"], booked["id"]]
    assert ids({"from": booked["starts_at"]}) == [booked["id"], waiting["id"]]
    assert ids({"to": booked["starts_at"]}) == [lost["id"]]
    first = shifts.list_worker_shifts(me, {"limit": 2}, as_me, None)
    assert [s["id"] for s in first["items"]] == [lost["id"], booked["id"]]
    assert ids({"limit": 2, "cursor": first["next_cursor"]}) == [waiting["id"]]
    with pytest.raises(Invalid):
        ids({"status": "lost"})
    # its bank's admins see it too; another worker, an admin of another bank, nobody: no
    admin = actor("admin", "admin")
    assert ids({}, admin, {"bank": [BANK], "organisation": [], "site": []}) == ids({})
    assert ids({}, admin, None) == ids({})  # a platform grant
    with pytest.raises(NotFound):
        ids({}, admin, {"bank": ["bank-2"], "organisation": [ORG], "site": [SITE]})
    with pytest.raises(NotFound):
        ids({}, actor("user-other", "worker", worker_id=other))
    with pytest.raises(NotFound):
        ids({}, SITE_ACTOR)
    with pytest.raises(Forbidden):
        ids({}, None)
    with pytest.raises(NotFound):
        shifts.list_worker_shifts("nobody", {}, admin, None)


def test_priority_groups_are_listed_to_staff_of_their_organisation(shifts):
    ORGS["org-2"] = BANK
    ORGS["org-south"] = "bank-2"
    try:
        here = shifts.create_priority_group({"organisation_id": ORG, "name": "Regulars",
                                             "worker_ids": [worker("b"), worker("a")]})
        there = shifts.create_priority_group({"organisation_id": "org-2", "name": "Others", "worker_ids": []})
        south = shifts.create_priority_group({"organisation_id": "org-south", "name": "South",
                                              "worker_ids": [worker("s", bank_id="bank-2")]})
    finally:
        del ORGS["org-2"], ORGS["org-south"]

    def names(scope_ids, **query):
        return [g["name"] for g in shifts.list_priority_groups(query, scope_ids)["items"]]

    assert names(None) == ["Regulars", "Others", "South"]  # a platform grant: oldest first
    assert names({"bank": [BANK], "organisation": [], "site": []}) == ["Regulars", "Others"]
    assert names({"bank": [], "organisation": [ORG], "site": []}) == ["Regulars"]
    assert names({"bank": [], "organisation": [], "site": [SITE]}) == ["Regulars"]  # its organisation's
    assert names({"bank": [], "organisation": [], "site": ["nowhere"]}) == []
    assert names({"bank": [], "organisation": [], "site": []}) == []
    assert names({"bank": [BANK], "organisation": [], "site": []}, organisation_id="org-2") == ["Others"]
    assert names({"bank": [], "organisation": [ORG], "site": []}, organisation_id="org-2") == []
    [group] = shifts.list_priority_groups({"organisation_id": ORG}, None)["items"]
    assert group == {**here, "worker_ids": ["a", "b"]} and there["id"] != south["id"]
    page = shifts.list_priority_groups({"limit": 1}, None)
    assert len(page["items"]) == 1 and page["next_cursor"]
    with pytest.raises(RemoteError, match="scope_ids"):
        shifts.list_priority_groups({})
    with pytest.raises(Forbidden):
        shifts.list_priority_groups({}, "everything")
