"""Reporting's read models end the same whatever order its events arrive in and however often
(hypothesis): every event type reporting consumes is delivered duplicated and out of order, and
every model row (organisations, sites, workers, documents, shifts and their status history,
timesheets, payments) equals what one ordered delivery leaves."""

import uuid
from datetime import UTC, datetime, timedelta

from chassis.runner import migrations_dir
from chassis.testing import consumed_event_types, deliver, empty_database, ends_alike_in_any_order, table_rows
from reporting import use_cases
from reporting.models import MODEL
from reporting.service import ReportingService

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BANK, TRUST, SITE = "bank-1", "org-1", "site-1"
EXPIRES = {"ada": "2027-12-31", "bob": "2027-02-28"}  # the last day each one's DBS check is valid
PRODUCERS = {"organisation": "identity", "site": "identity", "worker": "identity", "compliance": "compliance",
             "shift": "shifts", "timesheet": "payroll", "pay_run": "payroll"}


def history():
    """What identity, compliance, shifts and payroll published, in the order they published it."""
    events = []

    def publish(event_type, **data):
        events.append({"event_id": str(uuid.uuid4()), "type": event_type, "version": 1,
                       "occurred_at": T0 + timedelta(minutes=len(events)),
                       "producer": PRODUCERS[event_type.split(".")[0]], "correlation_id": None, "data": data})

    def status(worker_id, event_type, status_):
        publish(event_type, worker_id=worker_id, bank_id=BANK, bank_number="W000001",
                previous_status="applied", status=status_, reason=None)

    def compliance(worker_id, event_type, status_, version, missing=(), **extra):
        publish(event_type, worker_id=worker_id, bank_id=BANK, status=status_, missing=list(missing),
                version=version, cleared_until=None, **extra)

    def shift(event_type, shift_id, day, status_, worker_id=None, rate="50.00", **extra):
        starts = T0 + timedelta(days=day)
        publish(event_type, shift_id=shift_id, site_id=SITE, organisation_id=TRUST, bank_id=BANK,
                staff_type="doctor", grade="ST3", starts_at=starts.isoformat(),
                ends_at=(starts + timedelta(hours=8)).isoformat(), hourly_rate=rate, standard_rate="50.00",
                status=status_, worker_id=worker_id, **extra)

    publish("organisation.created", organisation_id=TRUST, bank_id=BANK, name="Royal", kind="trust",
            ods_code=None)
    publish("site.created", site_id=SITE, organisation_id=TRUST, bank_id=BANK, name="Main", latitude=53.48,
            longitude=-2.24, postcode=None)
    for worker_id in ("ada", "bob"):
        publish("worker.registered", agency_id=None, worker_id=worker_id, user_id=f"u-{worker_id}",
                bank_id=BANK, bank_number="W000001", name=worker_id, email=f"{worker_id}@example.org",
                staff_type="doctor", grade="ST3", extra_grades=[], specialty=None, registration_body=None,
                registration_number=None, latitude=53.45, longitude=-2.2, max_travel_km=30.0,
                opted_out_of_48h=False, status="applied")
        status(worker_id, "worker.onboarding", "onboarding")
        publish("compliance.document_verified", worker_id=worker_id, bank_id=BANK,
                document_id=f"{worker_id}-dbs", kind="dbs", status="verified", expires_on=EXPIRES[worker_id])
        compliance(worker_id, "compliance.cleared", "cleared", 1)
        status(worker_id, "worker.activated", "active")
    publish("worker.updated", agency_id=TRUST, worker_id="bob", bank_id=BANK, extra_grades=["ST4"],
            opted_out_of_48h=True, max_travel_km=80.0)
    compliance("bob", "compliance.uncleared", "expired", 2, missing=["dbs"])
    status("bob", "worker.suspended", "suspended")
    compliance("bob", "compliance.lapsed", "expired", 3, missing=["dbs"], document_id="bob-dbs", kind="dbs",
               expires_on=EXPIRES["bob"])
    status("bob", "worker.left", "left")
    shift("shift.rate_violation", "s1", 2, "pending_approval", rate="70.00")
    shift("shift.published", "s1", 2, "open", rate="70.00", to="bank", priority_group_id=None)
    shift("shift.cascaded", "s1", 2, "agency", rate="70.00", tier=1)
    shift("shift.cascaded", "s1", 2, "agency", rate="70.00", tier=2)
    shift("shift.booked", "s1", 2, "booked", "ada", rate="70.00")
    shift("shift.published", "s2", -3, "open", to="bank", priority_group_id=None)
    shift("shift.booked", "s2", -3, "booked", "ada")
    shift("shift.completed", "s2", -3, "completed", "ada")
    shift("shift.published", "s3", 1, "open", to="bank", priority_group_id=None)
    shift("shift.booked", "s3", 1, "booked", "bob")
    shift("shift.cancelled", "s3", 1, "cancelled", "bob", reason="unwell", cancelled_by="worker", late=True)
    publish("timesheet.approved", timesheet_id="t2", shift_id="s2", worker_id="ada", bank_number="W000001",
            bank_id=BANK, organisation_id=TRUST, site_id=SITE, hours="7.50", amount="375.00",
            approved_at=(T0 + timedelta(days=1)).isoformat())
    line = {"timesheet_id": "t2", "shift_id": "s2", "worker_id": "ada", "bank_number": "W000001",
            "worker_name": "ada", "site_id": SITE, "shift_starts_at": (T0 - timedelta(days=3)).isoformat(),
            "hours": "7.50", "rate": "50.00", "amount": "375.00", "pay_basis": "flat"}
    publish("pay_run.closed", pay_run_id="p1", bank_id=BANK, period_start="2027-02-01",
            period_end="2027-02-28", total="375.00", closed_at=(T0 + timedelta(days=2)).isoformat(),
            lines=[line])
    return events


def test_the_history_holds_every_event_type_reporting_consumes():
    assert {e["type"] for e in history()} == consumed_event_types(ReportingService) == set(use_cases.APPLY)


def test_any_order_and_any_repeat_end_in_the_same_models(make_database):
    url = make_database("reporting_order", migrations_dir(ReportingService))
    expected = ends_alike_in_any_order(
        history(), reset=lambda: empty_database(url),
        deliver_one=lambda event: deliver(url, f"reporting.{event['producer']}", "reporting", event,
                                          use_cases.consume),
        state=lambda: table_rows(url, [model.__table__ for model in MODEL]))
    assert len(expected["shifts"]) == 3 and len(expected["payments"]) == 1  # the history does something
