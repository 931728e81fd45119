"""Timesheets and pay runs over real RPC, PostgreSQL and RabbitMQ.

Shifts and identity are stood in for by two tiny services answering the RPCs payroll asks
(`shift_facts`, `get_worker`, `get_site`) from a dict the test fills: this is payroll's own test;
the platform's real services are exercised together in tests/test_e2e_pay*.py.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from payroll.service import PayrollService

FACTS = {"shifts": {}, "workers": {}, "sites": {}}


class ShiftsStandIn:
    name = "shifts"

    @rpc(expected_exceptions=(DomainError,))
    def shift_facts(self, shift_id):
        return FACTS["shifts"].get(shift_id)


class IdentityStandIn:
    name = "identity"

    @rpc(expected_exceptions=(DomainError,))
    def get_worker(self, worker_id):
        if worker_id not in FACTS["workers"]:
            raise NotFound("no such worker")
        return FACTS["workers"][worker_id]

    @rpc(expected_exceptions=(DomainError,))
    def get_site(self, site_id):
        return FACTS["sites"].get(site_id)


WORKER = {"user_id": "user-ada", "capacities": ["worker"], "worker_id": "worker-ada", "agency_ids": []}
APPROVER = {"user_id": "user-sam", "capacities": ["approver"], "worker_id": None, "agency_ids": []}
OTHER_APPROVER = {**APPROVER, "user_id": "user-kim"}
ADMIN = {"user_id": "user-bo", "capacities": ["admin", "reader"], "worker_id": None, "agency_ids": []}
STAFF = {"user_id": "user-lee", "capacities": ["staff"], "worker_id": None, "agency_ids": []}


@pytest.fixture
def payroll(container_factory, payroll_config, run_service, rate_card):
    for stand_in in (ShiftsStandIn, IdentityStandIn):
        container_factory(stand_in, payroll_config).start()
    FACTS["workers"] = {"worker-ada": {"id": "worker-ada", "bank_id": "bank-1", "bank_number": "W000001",
                                       "name": "Ada Lovelace"}}
    FACTS["sites"] = {"site-1": {"id": "site-1", "name": "North General"}}
    FACTS["shifts"] = {}
    proxy = run_service(PayrollService, payroll_config)
    proxy.put_rate_card(rate_card())  # nurse Band 5: day 20, night 25, weekend 30, bank holiday 40
    return proxy


def completed_shift(shift_id, starts_at, hours=8, break_minutes=30, rate="20.00", standard="20.00", **extra):
    FACTS["shifts"][shift_id] = {
        "id": shift_id, "status": "completed", "worker_id": "worker-ada", "site_id": "site-1",
        "organisation_id": "org-1", "bank_id": "bank-1", "staff_type": "nurse", "grade": "Band 5",
        "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
        "break_minutes": break_minutes, "hourly_rate": rate, "standard_rate": standard, **extra,
    }
    return FACTS["shifts"][shift_id]


def claim(shift, hours=None, break_minutes=30, late_minutes=0):
    starts_at = datetime.fromisoformat(shift["starts_at"])
    ends_at = (starts_at + timedelta(hours=hours) if hours is not None
               else datetime.fromisoformat(shift["ends_at"])) + timedelta(minutes=late_minutes)
    return {"shift_id": shift["id"], "started_at": starts_at.isoformat(), "ended_at": ends_at.isoformat(),
            "break_minutes": break_minutes}


# Tuesday 24 November 2026 (in the past, as hours claimed must be), 08:00-16:00 UTC (= London): all day.
TUESDAY = datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_submit_approve_and_pay_with_events(payroll, event_tap):
    tap = event_tap("payroll.events", "#")
    shift = completed_shift("shift-1", TUESDAY)
    timesheet = payroll.submit_timesheet(claim(shift), WORKER)
    assert {k: timesheet[k] for k in ("shift_id", "worker_id", "site_id", "status", "hours", "amount",
                                      "pay_basis", "rate", "awaiting", "bank_number", "site_name")} == {
        "shift_id": "shift-1", "worker_id": "worker-ada", "site_id": "site-1", "status": "submitted",
        "hours": "7.50", "amount": "150.00", "pay_basis": "banded", "rate": "20.00", "awaiting": "approval",
        "bank_number": "W000001", "site_name": "North General"}
    assert timesheet["elements"] == [{"element": "day", "minutes": 450, "hours": "7.50", "rate": "20.00",
                                      "amount": "150.00"}]
    assert payroll.resolve_scope("timesheet", timesheet["id"]) == {
        "bank_id": "bank-1", "organisation_id": "org-1", "site_id": "site-1"}
    assert payroll.resolve_scope("timesheet", "nope") is None

    approved = payroll.approve_timesheet(timesheet["id"], APPROVER)
    assert approved["status"] == "approved" and approved["awaiting"] is None
    assert [a["approver_id"] for a in approved["approvals"]] == ["user-sam"]
    with pytest.raises(Conflict):
        payroll.approve_timesheet(timesheet["id"], OTHER_APPROVER)

    run = payroll.create_pay_run({"bank_id": "bank-1", "period_start": "2026-11-24",
                                  "period_end": "2026-11-24"}, ADMIN)
    assert (run["status"], run["total"], run["line_count"]) == ("closed", "150.00", 1)
    assert run["lines"][0]["timesheet_id"] == timesheet["id"] and run["lines"][0]["bank_number"] == "W000001"
    assert payroll.resolve_scope("pay_run", run["id"]) == {"bank_id": "bank-1"}
    assert payroll.get_timesheet(timesheet["id"], STAFF)["pay_run_id"] == run["id"]
    again = payroll.create_pay_run({"bank_id": "bank-1", "period_start": "2026-11-01",
                                    "period_end": "2026-12-31"}, ADMIN)
    assert (again["lines"], again["total"]) == ([], "0.00")

    events = [e for e in tap.messages(timeout=5, count=5) if e["type"] != "rate_card.updated"]
    assert [e["type"] for e in events] == ["timesheet.submitted", "timesheet.approved", "pay_run.closed",
                                           "pay_run.closed"]
    assert events[1]["data"] == {
        "timesheet_id": timesheet["id"], "shift_id": "shift-1", "worker_id": "worker-ada",
        "bank_number": "W000001", "bank_id": "bank-1", "organisation_id": "org-1", "site_id": "site-1",
        "hours": "7.50", "amount": "150.00", "approved_at": events[1]["data"]["approved_at"]}
    closed = events[2]["data"]
    assert (closed["pay_run_id"], closed["total"]) == (run["id"], "150.00")
    assert (closed["period_start"], closed["period_end"]) == ("2026-11-24", "2026-11-24")
    assert closed["lines"][0]["amount"] == "150.00"


def test_the_overpayment_guard_needs_two_different_approvers(payroll):
    shift = completed_shift("shift-2", TUESDAY)  # 7.5 h scheduled: 25% is 1 h 52.5 min, less than 2 h
    within = payroll.submit_timesheet(claim(shift, late_minutes=112), WORKER)
    assert within["second_approval_required"] is False
    completed_shift("shift-3", TUESDAY + timedelta(days=1))
    over = payroll.submit_timesheet(claim(FACTS["shifts"]["shift-3"], late_minutes=113), WORKER)
    assert over["second_approval_required"] is True and over["scheduled_hours"] == "7.50"

    first = payroll.approve_timesheet(over["id"], APPROVER)
    assert (first["status"], first["awaiting"]) == ("submitted", "second_approval")
    with pytest.raises(Forbidden):
        payroll.approve_timesheet(over["id"], APPROVER)  # the same approver again
    queue = payroll.list_timesheets({"awaiting": "second_approval"}, STAFF, None)["items"]
    assert [t["id"] for t in queue] == [over["id"]]
    second = payroll.approve_timesheet(over["id"], OTHER_APPROVER)
    assert (second["status"], second["awaiting"]) == ("approved", None)
    assert len(second["approvals"]) == 2


def test_reject_then_resubmit_a_corrected_timesheet(payroll):
    shift = completed_shift("shift-4", TUESDAY, rate="31.00", standard="20.00")  # flat
    first = payroll.submit_timesheet(claim(shift, hours=10), WORKER)
    with pytest.raises(Conflict):
        payroll.submit_timesheet(claim(shift), WORKER)
    with pytest.raises(Invalid):
        payroll.reject_timesheet(first["id"], {"reason": " "}, APPROVER)
    rejected = payroll.reject_timesheet(first["id"], {"reason": "you left at 16:00"}, APPROVER)
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "you left at 16:00")
    with pytest.raises(Conflict):
        payroll.approve_timesheet(first["id"], APPROVER)
    second = payroll.submit_timesheet(claim(shift), WORKER)
    assert (second["resubmission_of"], second["pay_basis"]) == (first["id"], "flat")
    assert second["amount"] == "232.50"  # 7.5 h at 31.00
    mine = payroll.list_timesheets({}, WORKER, {"bank": [], "organisation": [], "site": []})["items"]
    assert [t["status"] for t in mine] == ["rejected", "submitted"]


def test_refusals_write_nothing(payroll, event_tap):
    tap = event_tap("payroll.events", "timesheet.*")
    shift = completed_shift("shift-5", TUESDAY)
    stranger = {**WORKER, "user_id": "user-bob", "worker_id": "worker-bob"}
    with pytest.raises(Forbidden):
        payroll.submit_timesheet(claim(shift), stranger)
    with pytest.raises(Forbidden):
        payroll.submit_timesheet(claim(shift), {**WORKER, "capacities": []})
    with pytest.raises(Invalid) as unknown:
        payroll.submit_timesheet({**claim(shift), "shift_id": "no-such-shift"}, WORKER)
    assert unknown.value.errors == {"shift_id": ["Does not exist."]}
    seconds = {**claim(shift), "ended_at": "2026-11-24T16:00:30Z"}
    for bad, field in ((claim(shift, hours=-1), "ended_at"), (claim(shift, hours=25), "ended_at"),
                       (claim(shift, break_minutes=480), "break_minutes"), (seconds, "ended_at")):
        with pytest.raises(Invalid) as invalid:
            payroll.submit_timesheet(bad, WORKER)
        assert list(invalid.value.errors) == [field]
    later = {**claim(shift), "started_at": "2026-11-27T08:00:00Z", "ended_at": "2026-11-27T16:00:00Z"}
    with pytest.raises(Invalid):
        payroll.submit_timesheet(later, WORKER)  # not this shift's day
    completed_shift("shift-6", TUESDAY, status="booked")
    with pytest.raises(Conflict):
        payroll.submit_timesheet(claim(FACTS["shifts"]["shift-6"]), WORKER)
    assert payroll.list_timesheets({}, STAFF, None)["items"] == []
    assert tap.messages(timeout=0.5) == []

    own = payroll.submit_timesheet(claim(shift), WORKER)
    with pytest.raises(Forbidden):  # an approver who is also the worker
        payroll.approve_timesheet(own["id"], {**APPROVER, "worker_id": "worker-ada"})
    with pytest.raises(Forbidden):
        payroll.approve_timesheet(own["id"], STAFF)
    with pytest.raises(NotFound):
        payroll.get_timesheet(own["id"], stranger)
    with pytest.raises(NotFound):
        payroll.approve_timesheet("no-such-timesheet", APPROVER)
    assert payroll.get_timesheet(own["id"], WORKER)["status"] == "submitted"
    with pytest.raises(Invalid):
        payroll.create_pay_run({"bank_id": "bank-1", "period_start": "2026-11-25",
                                "period_end": "2026-11-24"}, ADMIN)
    with pytest.raises(Forbidden):
        payroll.list_pay_runs({"bank_id": "bank-2"}, ADMIN, {"bank": ["bank-1"]})
    assert payroll.list_pay_runs({"bank_id": "bank-1"}, ADMIN, {"bank": ["bank-1"]})["items"] == []


def test_every_rpc_acting_for_a_caller_refuses_a_missing_one(payroll):
    shift = completed_shift("shift-7", TUESDAY)
    timesheet = payroll.submit_timesheet(claim(shift), WORKER)
    run = payroll.create_pay_run({"bank_id": "bank-1", "period_start": "2026-11-24",
                                  "period_end": "2026-12-31"}, ADMIN)
    for missing in (None, {}, {"capacities": ["admin", "approver"]}):
        calls = (
            lambda missing=missing: payroll.submit_timesheet(claim(shift), missing),
            lambda missing=missing: payroll.approve_timesheet(timesheet["id"], missing),
            lambda missing=missing: payroll.reject_timesheet(timesheet["id"], {"reason": "x"}, missing),
            lambda missing=missing: payroll.get_timesheet(timesheet["id"], missing),
            lambda missing=missing: payroll.list_timesheets({}, missing, None),
            lambda missing=missing: payroll.create_pay_run({"bank_id": "bank-1", "period_start": "2026-11-24",
                                            "period_end": "2026-12-31"}, missing),
            lambda missing=missing: payroll.get_pay_run(run["id"], missing),
            lambda missing=missing: payroll.list_pay_runs({"bank_id": "bank-1"}, missing, None),
            lambda missing=missing: payroll.export_pay_run(run["id"], "lines", missing),
        )
        for call in calls:
            with pytest.raises(Forbidden):
                call()
    assert payroll.get_timesheet(timesheet["id"], STAFF)["status"] == "submitted"
    assert len(payroll.list_pay_runs({"bank_id": "bank-1"}, ADMIN, None)["items"]) == 1


def test_concurrent_submissions_of_one_shift_make_one_timesheet(payroll, payroll_config):
    shift = completed_shift("shift-8", TUESDAY)

    def submit(_):
        with ServiceRpcProxy("payroll", payroll_config) as proxy:
            try:
                return proxy.submit_timesheet(claim(shift), WORKER)["id"]
            except Conflict:
                return "conflict"

    outcomes = list(eventlet.GreenPool(6).imap(submit, range(6)))
    assert sorted(outcomes).count("conflict") == 5
    assert len(payroll.list_timesheets({"shift_id": "shift-8"}, STAFF, None)["items"]) == 1
    assert Decimal(payroll.list_timesheets({}, STAFF, None)["items"][0]["amount"]) == Decimal("150.00")
