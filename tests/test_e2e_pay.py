"""API.md "Timesheets and pay" over HTTP, on the whole platform: worked shifts paid by band (a
day/night boundary, a weekend, a bank holiday and a substitute one) or flat, the overpayment guard,
a worker paid once across two trusts of its bank, concurrent pay runs paying each timesheet once,
the exports, hr_system's reach, and every refusal writing nothing.

Rate card (tests/conftest.py CARD): day 50.00, night 60.00, weekend 70.00, bank holiday 90.00.
Every figure below is worked out by hand in its comment."""

import csv
import io
from collections import Counter
from datetime import datetime
from decimal import Decimal

import eventlet

from chassis.clock import LONDON


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{name}", response.text
    return response.json()


def london(y, m, d, hour, minute=0):
    return datetime(y, m, d, hour, minute, tzinfo=LONDON)


def retrospective(api, token, site_id, worker_id, starts_at, ends_at, break_minutes=30, **extra):
    """A shift already worked, recorded by a coordinator: booked and completed at once."""
    shift = api.created("/v1/shifts", {"site_id": site_id, "staff_type": "doctor", "grade": "ST3",
                                       "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                                       "break_minutes": break_minutes, "worker_id": worker_id, **extra},
                        token=token)
    assert shift["status"] == "completed", shift
    return shift


def claim(shift, started_at=None, ended_at=None, break_minutes=None):
    return {"shift_id": shift["id"], "started_at": (started_at or shift["starts_at"]),
            "ended_at": ended_at or shift["ends_at"],
            "break_minutes": shift["break_minutes"] if break_minutes is None else break_minutes}


def iso(moment):
    return moment.isoformat()


def staff(api, admin, email, role, scope_type, scope_id):
    api.created("/v1/users", {"email": email, "password": "staff-password-1", "name": email.split("@")[0],
                              "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}]},
                token=admin)
    return api.token(email, "staff-password-1")


def csv_rows(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_worked_shifts_are_paid_by_band_exactly_once(api, admin, hospital, active_worker, event_tap):
    ctx = hospital
    bank_id, site_id = ctx["bank"]["id"], ctx["site"]["id"]
    events = event_tap("payroll.events", "#")
    ada, ada_token = active_worker(ctx, "ada@example.org")
    approver = staff(api, admin, "sam@example.org", "timesheet_approver", "site", site_id)
    bank_approver = staff(api, admin, "kim@example.org", "timesheet_approver", "bank", bank_id)
    hr = staff(api, admin, "esr@example.org", "hr_system", "bank", bank_id)
    # A second trust of the same bank, where Ada also works.
    east = api.created("/v1/organisations", {"bank_id": bank_id, "name": "East Trust", "kind": "trust"},
                       token=ctx["bank_admin"])
    east_site = api.created("/v1/sites", {"organisation_id": east["id"], "name": "East Infirmary",
                                          "latitude": 53.5, "longitude": -2.1}, token=ctx["bank_admin"])

    def worked(site, starts_at, ends_at, break_minutes=30, **extra):
        return retrospective(api, ctx["bank_admin"], site, ada["id"], starts_at, ends_at, break_minutes,
                             **extra)

    def submit(body, amount, hours):
        timesheet = api.created("/v1/timesheets", body, token=ada_token)
        assert (timesheet["status"], timesheet["amount"], timesheet["hours"]) == ("submitted", amount, hours)
        assert timesheet["worker_id"] == ada["id"] and timesheet["bank_number"] == ada["bank_number"]
        return timesheet

    # Wednesday 17:00 to Thursday 01:00: 4 h day, 4 h night; the standard rate is the night's (a tie
    # goes to the higher rate), so it is paid by band. The 30 min break comes off the day (cheaper):
    # 3.5 h x 50 + 4 h x 60 = 175 + 240.
    boundary = submit(claim(worked(site_id, london(2026, 11, 18, 17), london(2026, 11, 19, 1)),),
                      "415.00", "7.50")
    assert [(e["element"], e["hours"], e["amount"]) for e in boundary["elements"]] == [
        ("night", "4.00", "240.00"), ("day", "3.50", "175.00")]
    # Friday 20:00 to Saturday 08:00: 1 h day, 3 h night, 8 h weekend; the hour's break takes the day:
    # 3 x 60 + 8 x 70 = 180 + 560.
    weekend = submit(claim(worked(site_id, london(2026, 11, 20, 20), london(2026, 11, 21, 8), 60)),
                     "740.00", "11.00")
    # The summer bank holiday, Monday 31 August 2026, 08:00-16:00 BST: 7.5 h x 90.
    holiday = submit(claim(worked(site_id, london(2026, 8, 31, 8), london(2026, 8, 31, 16))),
                     "675.00", "7.50")
    # Tuesday 27 December 2022, the substitute for Christmas Day on a Sunday: 7.5 h x 90.
    substitute = submit(claim(worked(site_id, london(2022, 12, 27, 8), london(2022, 12, 27, 16))),
                        "675.00", "7.50")
    # Posted at 45.00, not its standard rate (50.00): flat, 7.5 h x 45.
    flat = submit(claim(worked(site_id, london(2026, 11, 10, 8), london(2026, 11, 10, 16),
                               hourly_rate="45.00")), "337.50", "7.50")
    assert (flat["pay_basis"], flat["rate"]) == ("flat", "45.00")
    # At the other trust: 7.5 h x 50.
    east_shift = worked(east_site["id"], london(2026, 11, 12, 8), london(2026, 11, 12, 16))
    elsewhere = submit(claim(east_shift), "375.00", "7.50")
    # Scheduled 7.5 h, claimed 10 h (2.5 h over: more than 25%, 1.875 h): 10 h x 50, two approvers.
    long_day = worked(site_id, london(2026, 11, 24, 8), london(2026, 11, 24, 16))
    inflated = submit(claim(long_day, ended_at=iso(london(2026, 11, 24, 18, 30))), "500.00", "10.00")
    assert inflated["second_approval_required"] is True and inflated["scheduled_hours"] == "7.50"

    # Approvals. The inflated timesheet waits for a second, different approver; the queue says so.
    for timesheet in (boundary, weekend, holiday, substitute, flat):
        approved = api.post(f"/v1/timesheets/{timesheet['id']}/approve", token=approver)
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    _problem(api.post(f"/v1/timesheets/{elsewhere['id']}/approve", token=approver), 404, "not-found")
    assert api.post(f"/v1/timesheets/{elsewhere['id']}/approve", token=bank_approver).status_code == 200
    first = api.post(f"/v1/timesheets/{inflated['id']}/approve", token=approver).json()
    assert (first["status"], first["awaiting"]) == ("submitted", "second_approval")
    _problem(api.post(f"/v1/timesheets/{inflated['id']}/approve", token=approver), 403, "forbidden")
    queue = api.get("/v1/timesheets?status=submitted", token=bank_approver).json()["items"]
    assert [(t["id"], t["awaiting"]) for t in queue] == [(inflated["id"], "second_approval")]
    second = api.post(f"/v1/timesheets/{inflated['id']}/approve", token=bank_approver).json()
    assert (second["status"], len(second["approvals"])) == ("approved", 2)
    mine = api.get(f"/v1/timesheets?worker_id={ada['id']}", token=ada_token).json()["items"]
    assert len(mine) == 7 and {t["status"] for t in mine} == {"approved"}

    # One worker, one bank number, across both trusts: one run pays her at both, once.
    both = api.created("/v1/pay-runs", {"bank_id": bank_id, "period_start": "2026-11-12",
                                        "period_end": "2026-11-18"}, token=ctx["bank_admin"])
    assert [(line["timesheet_id"], line["bank_number"]) for line in both["lines"]] == [
        (elsewhere["id"], ada["bank_number"]), (boundary["id"], ada["bank_number"])]
    assert {line["site_id"] for line in both["lines"]} == {site_id, east_site["id"]}
    assert both["total"] == "790.00"  # 375 + 415

    # Six pay runs over overlapping periods, at the same moment: each timesheet paid once.
    periods = [("2022-01-01", "2026-11-30"), ("2026-11-01", "2026-11-30"), ("2026-08-01", "2026-11-21"),
               ("2022-12-01", "2026-12-31"), ("2022-01-01", "2026-11-30"), ("2026-11-01", "2026-11-30")]

    def pay(period):
        body = {"bank_id": bank_id, "period_start": period[0], "period_end": period[1]}
        return api.post("/v1/pay-runs", body, token=ctx["bank_admin"])

    responses = list(eventlet.GreenPool(len(periods)).imap(pay, periods))
    assert [r.status_code for r in responses] == [201] * len(periods), [r.text for r in responses]
    runs = [both] + [r.json() for r in responses]
    paid = Counter(line["timesheet_id"] for run in runs for line in run["lines"])
    assert paid == Counter({t["id"]: 1 for t in (boundary, weekend, holiday, substitute, flat, elsewhere,
                                                 inflated)})
    for run in runs:
        assert Decimal(run["total"]) == sum((Decimal(line["amount"]) for line in run["lines"]), Decimal(0))
    # 415 + 740 + 675 + 675 + 337.50 + 375 + 500
    assert sum(Decimal(run["total"]) for run in runs) == Decimal("3717.50")
    listed = api.get(f"/v1/pay-runs?bank_id={bank_id}", token=hr).json()["items"]
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in runs)
    assert api.get(f"/v1/timesheets/{weekend['id']}", token=ada_token).json()["pay_run_id"] in {
        r["id"] for r in runs}

    # Each run published pay_run.closed once, with its lines; approvals published timesheet.approved.
    published = events.messages(timeout=10, count=7 + 7 + len(runs))
    closed = {e["data"]["pay_run_id"]: e for e in published if e["type"] == "pay_run.closed"}
    assert sorted(closed) == sorted(r["id"] for r in runs)
    for run in runs:
        data = closed[run["id"]]["data"]
        assert (data["bank_id"], data["total"]) == (bank_id, run["total"])
        assert [line["timesheet_id"] for line in data["lines"]] == [
            line["timesheet_id"] for line in run["lines"]]
    approved_events = [e["data"] for e in published if e["type"] == "timesheet.approved"]
    assert len(approved_events) == 7
    boundary_event = next(d for d in approved_events if d["timesheet_id"] == boundary["id"])
    assert {k: boundary_event[k] for k in ("shift_id", "worker_id", "bank_number", "site_id", "hours",
                                           "amount")} == {
        "shift_id": boundary["shift_id"], "worker_id": ada["id"], "bank_number": ada["bank_number"],
        "site_id": site_id, "hours": "7.50", "amount": "415.00"}

    # Exports, read by the bank's HR system: API.md's CSV (a row per timesheet) and ESR bank hours
    # (a row per timesheet and pay element; each timesheet's elements add up to its amount).
    rows, esr = [], []
    for run in runs:
        rows += csv_rows(api.get(f"/v1/pay-runs/{run['id']}/export.csv", token=hr))
        esr += csv_rows(api.get(f"/v1/pay-runs/{run['id']}/esr.csv", token=hr))
    assert len(rows) == 7 and {r["bank_number"] for r in rows} == {ada["bank_number"]}
    assert {r["worker_name"] for r in rows} == {ada["name"]}
    by_shift = {r["shift"]: r for r in rows}
    columns = ("site", "hours", "rate", "amount", "pay_basis")
    assert [by_shift[boundary["shift_id"]][k] for k in columns] == [
        ctx["site"]["name"], "7.50", "60.00", "415.00", "banded"]
    assert by_shift[east_shift["id"]]["site"] == "East Infirmary"
    elements = [(r["pay_element"], r["hours"], r["rate"], r["amount"], r["work_date"]) for r in esr
                if r["timesheet_id"] == boundary["id"]]
    assert elements == [("NIGHT", "4.00", "60.00", "240.00", "2026-11-18"),
                        ("DAY", "3.50", "50.00", "175.00", "2026-11-18")]
    assert [(r["pay_element"], r["amount"]) for r in esr if r["timesheet_id"] == substitute["id"]] == [
        ("BANK_HOLIDAY", "675.00")]
    assert [(r["pay_element"], r["amount"]) for r in esr if r["timesheet_id"] == flat["id"]] == [
        ("FLAT", "337.50")]
    assert sum(Decimal(r["amount"]) for r in esr) == Decimal("3717.50")
    assert len(csv_rows(api.get(f"/v1/pay-runs/{both['id']}/export.csv", token=ctx["bank_admin"]))) == 2

    # Nothing is left to pay.
    empty = api.created("/v1/pay-runs", {"bank_id": bank_id, "period_start": "2000-01-01",
                                         "period_end": "2100-12-31"}, token=ctx["bank_admin"])
    assert (empty["lines"], empty["total"]) == ([], "0.00")


def test_refusals_are_4xx_and_write_nothing(api, admin, hospital, make_bank, active_worker, worker_payload,
                                            event_tap):
    ctx, south = hospital, make_bank("South")
    bank_id, site_id = ctx["bank"]["id"], ctx["site"]["id"]
    events = event_tap("payroll.events", "timesheet.*")
    ada, ada_token = active_worker(ctx, "ada@example.org")
    api.created("/v1/workers", worker_payload(bank_id, email="bob@example.org", registration_number="B1"))
    bob_token = api.token("bob@example.org", "worker-password-1")
    approver = staff(api, admin, "sam@example.org", "timesheet_approver", "site", site_id)
    south_approver = staff(api, admin, "lee@example.org", "timesheet_approver", "site", south["site"]["id"])
    south_hr = staff(api, admin, "hr@south.example.org", "hr_system", "bank", south["bank"]["id"])
    west = api.created("/v1/sites", {"organisation_id": ctx["organisation"]["id"], "name": "West Clinic",
                                     "latitude": 53.4, "longitude": -2.3}, token=ctx["bank_admin"])
    west_approver = staff(api, admin, "wes@example.org", "timesheet_approver", "site", west["id"])
    shift = retrospective(api, ctx["coordinator"], site_id, ada["id"], london(2026, 11, 18, 8),
                          london(2026, 11, 18, 16))
    body = claim(shift)

    # Before any timesheet exists: nothing may be written by any of these.
    _problem(api.post("/v1/timesheets", body, token=bob_token), 403, "forbidden")  # not booked to Bob
    _problem(api.post("/v1/timesheets", body, token=ctx["coordinator"]), 403, "forbidden")  # not a worker
    _problem(api.post("/v1/timesheets", body), 401, "unauthorized")
    for bad, field in ((claim(shift, ended_at=iso(london(2026, 11, 18, 7))), "ended_at"),  # end before start
                       (claim(shift, break_minutes=480), "break_minutes"),  # break as long as the time worked
                       (claim(shift, break_minutes=-1), "break_minutes"),
                       ({**body, "shift_id": "no-such-shift"}, "shift_id"),
                       ({**body, "break_minutes": "30"}, "break_minutes"),
                       ({**body, "started_at": "2026-11-18T08:00:00"}, "started_at"),  # no offset
                       (claim(shift, started_at=iso(london(2026, 11, 25, 8)),
                              ended_at=iso(london(2026, 11, 25, 16))), "started_at")):  # another day
        refused = _problem(api.post("/v1/timesheets", bad, token=ada_token), 422, "validation-error")
        assert field in refused["errors"], refused
    _problem(api.post("/v1/timesheets", {**body, "overtime": True}, token=ada_token), 422, "validation-error")
    _problem(api.request("POST", "/v1/timesheets", data="{not json", token=ada_token), 400, "malformed-json")
    future = api.created("/v1/shifts", {"site_id": site_id, "staff_type": "doctor", "grade": "ST3",
                                        "starts_at": iso(london(2027, 3, 2, 8)),
                                        "ends_at": iso(london(2027, 3, 2, 16)), "publish": {"to": "bank"}},
                         token=ctx["coordinator"])
    booked = api.post(f"/v1/shifts/{future['id']}/book", {"worker_id": ada["id"]}, token=ctx["coordinator"])
    assert booked.status_code == 200, booked.text
    not_completed = claim(booked.json())
    _problem(api.post("/v1/timesheets", not_completed, token=ada_token), 409, "conflict")
    assert api.get("/v1/timesheets", token=ctx["bank_admin"]).json()["items"] == []

    timesheet = api.created("/v1/timesheets", body, token=ada_token)
    _problem(api.post("/v1/timesheets", body, token=ada_token), 409, "conflict")  # a second one

    # Deciding on it: only an approver at its site, never a worker or a coordinator.
    approve = f"/v1/timesheets/{timesheet['id']}/approve"
    _problem(api.post(approve, token=south_approver), 404, "not-found")  # another bank
    _problem(api.post(approve, token=west_approver), 404, "not-found")  # another site of the bank
    _problem(api.post(approve, token=ada_token), 403, "forbidden")
    _problem(api.post(approve, token=ctx["coordinator"]), 403, "forbidden")
    _problem(api.post("/v1/timesheets/no-such-id/approve", token=approver), 404, "not-found")
    _problem(api.post("/v1/timesheets/a%00b/approve", token=approver), 422, "validation-error")  # API.md
    reject = f"/v1/timesheets/{timesheet['id']}/reject"
    _problem(api.post(reject, {}, token=approver), 422, "validation-error")
    _problem(api.post(reject, {"reason": "x\u0000"}, token=approver), 422, "validation-error")
    _problem(api.get(f"/v1/timesheets/{timesheet['id']}", token=bob_token), 404, "not-found")
    assert api.get("/v1/timesheets", token=bob_token).json()["items"] == []
    assert api.get("/v1/timesheets", token=south_approver).json()["items"] == []
    assert api.get(f"/v1/timesheets/{timesheet['id']}", token=ada_token).json()["status"] == "submitted"

    # Rejected with a reason, then corrected and resubmitted by the same POST: a new timesheet.
    rejected = api.post(reject, {"reason": "break was an hour"}, token=approver).json()
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "break was an hour")
    _problem(api.post(approve, token=approver), 409, "conflict")
    corrected = api.created("/v1/timesheets", claim(shift, break_minutes=60), token=ada_token)
    assert (corrected["resubmission_of"], corrected["amount"]) == (timesheet["id"], "350.00")  # 7 h x 50

    # Pay runs: the bank's admin only; HR systems read their own bank only.
    run_body = {"bank_id": bank_id, "period_start": "2026-11-01", "period_end": "2026-11-30"}
    _problem(api.post("/v1/pay-runs", {**run_body, "bank_id": south["bank"]["id"]}, token=ctx["bank_admin"]),
             403, "forbidden")
    _problem(api.post("/v1/pay-runs", {**run_body, "bank_id": "no-such-bank"}, token=ctx["bank_admin"]),
             422, "validation-error")
    _problem(api.post("/v1/pay-runs", {**run_body, "period_end": "2026-10-31"}, token=ctx["bank_admin"]),
             422, "validation-error")
    _problem(api.post("/v1/pay-runs", {**run_body, "period_end": "31/12/2026"}, token=ctx["bank_admin"]),
             422, "validation-error")
    for outsider in (south_hr, approver, ada_token, south["bank_admin"]):
        _problem(api.post("/v1/pay-runs", run_body, token=outsider), 403, "forbidden")
    assert api.get(f"/v1/pay-runs?bank_id={bank_id}", token=ctx["bank_admin"]).json()["items"] == []
    run = api.created("/v1/pay-runs", run_body, token=ctx["bank_admin"])
    assert run["lines"] == []  # the corrected timesheet is not approved yet
    for path in (f"/v1/pay-runs/{run['id']}", f"/v1/pay-runs/{run['id']}/export.csv",
                 f"/v1/pay-runs/{run['id']}/esr.csv"):
        _problem(api.get(path, token=south_hr), 404, "not-found")
        _problem(api.get(path, token=ada_token), 403, "forbidden")
        assert api.get(path, token=ctx["bank_admin"]).status_code == 200
    _problem(api.get(f"/v1/pay-runs?bank_id={bank_id}", token=south_hr), 403, "forbidden")
    _problem(api.get("/v1/pay-runs", token=south_hr), 422, "validation-error")
    assert api.get(f"/v1/pay-runs?bank_id={south['bank']['id']}", token=south_hr).json()["items"] == []
    assert csv_rows(api.get(f"/v1/pay-runs/{run['id']}/export.csv", token=ctx["bank_admin"])) == []

    published = [(e["type"], e["data"]["timesheet_id"]) for e in events.messages(timeout=3, count=3)]
    assert published == [("timesheet.submitted", timesheet["id"]), ("timesheet.rejected", timesheet["id"]),
                         ("timesheet.submitted", corrected["id"])]

    # Every operation documents the statuses it answers.
    spec = api.get("/v1/openapi.json").json()["paths"]
    assert {"201", "401", "403", "409", "422"} <= set(spec["/v1/timesheets"]["post"]["responses"])
    assert {"200", "403", "404", "409"} <= set(spec["/v1/timesheets/{id}/approve"]["post"]["responses"])
    assert "text/csv" in spec["/v1/pay-runs/{id}/export.csv"]["get"]["responses"]["200"]["content"]
