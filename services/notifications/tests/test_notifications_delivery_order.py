"""Who notifications tells what ends the same whatever order its events arrive in and however
often (hypothesis): every consumed event type is delivered duplicated and out of order, as the
broker may, and the people told, what they read and how each channel stands equal what one
ordered delivery leaves.

What makes it so (use_cases module docstring): identity is asked, before each event, for what
no event has brought yet and for who holds the roles the event concerns; and a worker's
departure withdraws what was not sent rather than deciding who is told. identity is stood in
by `IdentityStandIn`, answering from everything identity published (its state is ahead of its
events). Left out of the comparison: ids, instants (`created_at`, `sent_at`, the start of an
email's attempts) and which of two deliveries of one event wrote a row (`event_id`), none of
which says who was told what. Sending is the sender's, and is not part of delivery order.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

import contracts
from chassis.engines import engine_for
from chassis.handlers import Event
from chassis.runner import migrations_dir
from chassis.testing import consumed_event_types, deliver, empty_database, ends_alike_in_any_order, table_rows
from notifications import domain, use_cases
from notifications.models import (
    Bank,
    Delivery,
    Departure,
    Notification,
    Organisation,
    Recipient,
    RoleGrant,
    Site,
)
from notifications.service import NotificationsService
from notifications.testing import IdentityStandIn

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # "now" for every delivery
BANK, TRUST, PRACTICE, SITE = "bank-1", "org-1", "org-2", "site-1"
SETTINGS = domain.Settings(portal_url="https://portal.example/")
PRODUCERS = {"bank": "identity", "organisation": "identity", "site": "identity", "user": "identity",
             "worker": "identity", "matching": "matching", "shift": "shifts", "timesheet": "payroll",
             "compliance": "compliance"}
FACTS = tuple(model.__table__ for model in (Bank, Organisation, Site, Recipient, RoleGrant, Departure,
                                            Notification, Delivery))
NOT_WHO_OR_WHAT = ("id", "notification_id", "event_id", "created_at", "sent_at", "next_attempt_at")


def history():
    """What identity, matching, shifts, payroll and compliance published, in that order: every
    event type notifications consumes, with staff, workers, and a worker who leaves between
    two events that concern them."""
    events = []

    def publish(event_type, **data):
        data = contracts.schema_for(event_type)().load(data)  # only what the contract allows
        events.append({"event_id": str(uuid.uuid4()), "type": event_type, "version": 1,
                       "occurred_at": AT - timedelta(hours=48) + timedelta(minutes=len(events)),
                       "producer": PRODUCERS[event_type.split(".")[0]], "correlation_id": None,
                       "data": data})

    def user(name, *grants):
        publish("user.created", user_id=f"u-{name}", email=f"{name}@example.org", name=name.title(),
                roles=[{"role": r, "scope_type": t, "scope_id": i} for r, t, i in grants])

    def worker(name):
        publish("worker.registered", agency_id=None, worker_id=name, user_id=f"u-{name}", bank_id=BANK,
                bank_number="W000001", name=name.title(), email=f"{name}@example.org", staff_type="nurse",
                grade="Band 5", extra_grades=[], specialty=None, registration_body=None,
                registration_number=None, latitude=53.45, longitude=-2.2, max_travel_km=30.0,
                opted_out_of_48h=False, status="applied")

    def status(name, event_type, previous, new):
        publish(event_type, worker_id=name, bank_id=BANK, bank_number="W000001", previous_status=previous,
                status=new, reason=None)

    def shift(event_type, shift_id, worker_id, status_, **extra):
        publish(event_type, shift_id=shift_id, site_id=SITE, organisation_id=TRUST, bank_id=BANK,
                staff_type="nurse", grade="Band 5", starts_at="2027-03-04T08:00:00+00:00",
                ends_at="2027-03-04T20:00:00+00:00", hourly_rate="31.00", standard_rate="30.00",
                status=status_, worker_id=worker_id, **extra)

    def ranked(shift_id, stage, *names):
        publish("matching.candidates_ranked", shift_id=shift_id, site_id=SITE, organisation_id=TRUST,
                bank_id=BANK, staff_type="nurse", grade="Band 5", starts_at="2027-03-05T08:00:00+00:00",
                ends_at="2027-03-05T20:00:00+00:00", hourly_rate="30.00", stage=stage,
                release_event_id=str(uuid.uuid4()),
                candidates=[{"worker_id": n, "user_id": f"u-{n}", "rank": i + 1, "distance_km": 3.5 + i,
                             "worked_at_site": i == 0, "worked_at_organisation": False}
                            for i, n in enumerate(names)])

    def timesheet(event_type, name, **extra):
        publish(event_type, timesheet_id=f"t-{name}", shift_id="s-done", worker_id=name,
                bank_number="W000001", bank_id=BANK, organisation_id=TRUST, site_id=SITE, hours="12.00",
                amount="372.00", **extra)

    publish("bank.created", bank_id=BANK, name="North Bank")
    publish("organisation.created", organisation_id=TRUST, bank_id=BANK, name="Royal Trust", kind="trust",
            ods_code=None)
    publish("site.created", site_id=SITE, organisation_id=TRUST, bank_id=BANK, name="Main Site",
            latitude=53.48, longitude=-2.24, postcode=None)
    user("admin", ("bank_admin", "bank", BANK))
    user("coordinator", ("rota_coordinator", "site", SITE))
    user("approver", ("timesheet_approver", "site", SITE), ("leadership", "organisation", TRUST))
    user("elsewhere", ("bank_admin", "bank", "bank-2"), ("rota_coordinator", "site", "site-2"))
    publish("organisation.created", organisation_id=PRACTICE, bank_id=BANK, name="Elm Practice",
            kind="practice", ods_code="Y01234")
    for name in ("ada", "bob", "cy"):
        worker(name)
    status("ada", "worker.activated", "onboarding", "active")
    status("bob", "worker.activated", "onboarding", "active")
    ranked("s-open", "bank", "ada", "bob")
    ranked("s-open", "agency", "cy")  # the same shift, later to others: one offer each
    ranked("s-other", "priority", "bob")
    shift("shift.booked", "s-open", "ada", "booked")
    shift("shift.cancelled", "s-open", "ada", "cancelled", reason="unwell", cancelled_by="worker",
          late=True)
    shift("shift.rate_violation", "s-dear", None, "pending_approval")
    timesheet("timesheet.submitted", "ada", started_at="2027-02-20T08:00:00+00:00",
              ended_at="2027-02-20T20:00:00+00:00", break_minutes=0, second_approval_required=True,
              resubmission_of=None)
    timesheet("timesheet.approved", "ada", approved_at="2027-02-22T10:00:00+00:00")
    timesheet("timesheet.rejected", "bob", reason="wrong end time", rejected_at="2027-02-22T10:00:00+00:00")
    publish("compliance.document_expiring", worker_id="bob", bank_id=BANK, document_id="doc-1", kind="dbs",
            status="verified", expires_on="2027-03-15", days_before=14)
    status("bob", "worker.left", "active", "left")
    publish("compliance.lapsed", worker_id="bob", bank_id=BANK, status="expired", missing=["dbs"], version=4,
            cleared_until=None, document_id="doc-1", kind="dbs", expires_on="2027-03-15")
    return events


def test_the_history_holds_every_event_type_notifications_consumes():
    assert {e["type"] for e in history()} == consumed_event_types(NotificationsService) == use_cases.CONSUMED


def test_any_order_and_any_repeat_tell_the_same_people_the_same_things(make_database):
    url = make_database("notifications_order", migrations_dir(NotificationsService))
    events = history()
    identity = IdentityStandIn()
    for event in events:
        if event["producer"] == "identity":
            identity.learn(event["type"], event["data"])

    def deliver_one(envelope):
        with Session(engine_for(url)) as session:  # what the handler does before its unit of work
            learnt = use_cases.ask_identity(identity, session, Event(**envelope))
        deliver(url, f"notifications.{envelope['type']}", "notifications", envelope,
                lambda uow, event: use_cases.handle(uow, event, learnt, SETTINGS, AT))

    expected = ends_alike_in_any_order(events, reset=lambda: empty_database(url), deliver_one=deliver_one,
                                       state=lambda: table_rows(url, FACTS, leave_out=NOT_WHO_OR_WHAT))

    told = {}
    columns = [c.name for c in Notification.__table__.columns if c.name not in NOT_WHO_OR_WHAT]
    for row in expected["notifications"]:
        fact = dict(zip(columns, row, strict=True))
        told.setdefault(fact["user_id"], []).append(fact["type"])
    assert {user: sorted(types) for user, types in told.items()} == {
        "u-admin": ["compliance.document_expiring", "compliance.lapsed", "organisation.created",
                    "shift.rate_violation"],
        "u-coordinator": ["shift.cancelled"],
        "u-approver": ["shift.rate_violation", "timesheet.submitted"],
        "u-ada": ["shift.available", "shift.booked", "shift.cancelled", "timesheet.approved",
                  "worker.activated"],
        "u-bob": ["compliance.document_expiring", "compliance.lapsed", "shift.available", "shift.available",
                  "timesheet.rejected", "worker.activated"],
        "u-cy": ["shift.available"],
    }
    delivery_columns = [c.name for c in Delivery.__table__.columns if c.name not in NOT_WHO_OR_WHAT]
    bob_emails = [dict(zip(delivery_columns, row, strict=True)) for row in expected["deliveries"]]
    bob_emails = [d for d in bob_emails if d["user_id"] == "u-bob" and d["channel"] == domain.EMAIL]
    # bob left: nothing waits to be sent to him, whether he left before or after he was told
    assert len(bob_emails) == 6 and {d["status"] for d in bob_emails} == {domain.WITHDRAWN}
    assert expected["departures"] == [("bob",)]
