"""Matching's read model ends the same whatever order its events arrive in and however often
(hypothesis): each consumed event type is delivered duplicated and out of order, as the
broker may (replicas relay in parallel, retries re-queue, a redelivery after a crash), and the
model's facts (workers, the index, sites, shifts, priority groups) equal those one ordered
delivery leaves.

Who was named for what (`offers`, `offered_days`) is left out on purpose: it is the log of what
was told when, and telling depends on what was known at the time (a worker cleared after a
shift opened is named then; one whose clearance arrives after its suspension never is).
"""

import uuid
from datetime import UTC, datetime, timedelta

from chassis.runner import migrations_dir
from chassis.testing import consumed_event_types, deliver, empty_database, ends_alike_in_any_order, table_rows
from matching import use_cases
from matching.models import GroupMember, Reach, Shift, Site, Worker
from matching.service import MatchingService

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # "now" for every delivery
BANK, ORG = "bank-1", "org-1"
PRODUCERS = {"worker": "identity", "site": "identity", "compliance": "compliance", "shift": "shifts",
             "priority_group": "shifts"}
FACTS = tuple(model.__table__ for model in (Worker, Reach, Site, Shift, GroupMember))


def history():
    """What identity, compliance and shifts published, in the order they published it: every
    event type matching consumes, several facts about one worker or shift among them."""
    events = []

    def publish(event_type, **data):
        events.append({"event_id": str(uuid.uuid4()), "type": event_type, "version": 1,
                       "occurred_at": AT - timedelta(hours=48) + timedelta(minutes=len(events)),
                       "producer": PRODUCERS[event_type.split(".")[0]], "correlation_id": None,
                       "data": data})

    def worker(worker_id, grade, latitude, **facts):
        publish("worker.registered", agency_id=None, worker_id=worker_id, user_id=f"u-{worker_id}",
                bank_id=BANK, bank_number="W000001", name=worker_id, email=f"{worker_id}@example.org",
                staff_type="nurse", grade=grade, extra_grades=[], specialty=None, registration_body=None,
                registration_number=None, latitude=latitude, longitude=-2.2, max_travel_km=30.0,
                opted_out_of_48h=False, status="applied", **facts)

    def status(worker_id, event_type, status_):
        publish(event_type, worker_id=worker_id, bank_id=BANK, bank_number="W000001",
                previous_status="applied", status=status_, reason=None)

    def compliance(worker_id, event_type, status_, version, until=None, **extra):
        publish(event_type, worker_id=worker_id, bank_id=BANK, status=status_,
                missing=[] if status_ == "cleared" else ["dbs"], version=version, cleared_until=until,
                **extra)

    def shift(event_type, shift_id, site_id, day, status_, worker_id=None, **extra):
        starts = AT + timedelta(days=day)
        publish(event_type, shift_id=shift_id, site_id=site_id, organisation_id=ORG, bank_id=BANK,
                staff_type="nurse", grade="Band 5", starts_at=starts.isoformat(),
                ends_at=(starts + timedelta(hours=8)).isoformat(), hourly_rate="30.00",
                standard_rate="30.00", status=status_, worker_id=worker_id, **extra)

    for site_id, latitude in (("site-1", 53.48), ("site-2", 53.40)):
        publish("site.created", site_id=site_id, organisation_id=ORG, bank_id=BANK, name=site_id,
                latitude=latitude, longitude=-2.24, postcode=None)
    worker("ada", "Band 5", 53.45)
    worker("bob", "Band 5", 53.41)
    worker("cy", "Band 6", 53.50)
    status("ada", "worker.onboarding", "onboarding")
    compliance("ada", "compliance.cleared", "cleared", 1, (AT + timedelta(days=200)).date().isoformat())
    status("ada", "worker.activated", "active")
    status("bob", "worker.activated", "active")
    compliance("bob", "compliance.cleared", "cleared", 1)
    compliance("cy", "compliance.cleared", "cleared", 1)
    status("cy", "worker.activated", "active")
    publish("worker.updated", agency_id=None, worker_id="cy", bank_id=BANK, extra_grades=["Band 5"],
            opted_out_of_48h=True, max_travel_km=60.0)
    publish("worker.updated", agency_id=None, worker_id="cy", bank_id=BANK, extra_grades=["Band 5", "Band 7"],
            opted_out_of_48h=False, max_travel_km=45.0)
    publish("priority_group.created", priority_group_id="group-1", organisation_id=ORG, bank_id=BANK,
            name="Regulars", worker_ids=["ada", "cy"])
    shift("shift.published", "s1", "site-1", 3, "open", to="priority", priority_group_id="group-1")
    shift("shift.published", "s1", "site-1", 3, "open", to="bank", priority_group_id="group-1")
    shift("shift.cascaded", "s1", "site-1", 3, "agency", tier=1)
    shift("shift.booked", "s1", "site-1", 3, "booked", "ada")
    shift("shift.published", "s2", "site-2", -1, "open", to="bank", priority_group_id=None)
    shift("shift.booked", "s2", "site-2", -1, "booked", "bob")
    shift("shift.completed", "s2", "site-2", -1, "completed", "bob")
    shift("shift.published", "s3", "site-2", 5, "open", to="bank", priority_group_id=None)
    shift("shift.booked", "s3", "site-2", 5, "booked", "cy")
    shift("shift.cancelled", "s3", "site-2", 5, "cancelled", "cy", reason="unwell", cancelled_by="worker",
          late=False)
    compliance("bob", "compliance.uncleared", "expired", 2)
    status("bob", "worker.suspended", "suspended")
    compliance("bob", "compliance.cleared", "cleared", 3)
    status("bob", "worker.activated", "active")
    status("cy", "worker.left", "left")
    compliance("ada", "compliance.lapsed", "expired", 2, document_id="doc-1", kind="dbs",
               expires_on=(AT - timedelta(days=1)).date().isoformat())
    compliance("ada", "compliance.cleared", "cleared", 3, (AT + timedelta(days=300)).date().isoformat())
    return events


def consume(uow, event):
    use_cases.consume(uow, event, AT)  # what MatchingService's handlers do, at a fixed now


def test_the_history_holds_every_event_type_matching_consumes():
    assert {e["type"] for e in history()} == consumed_event_types(MatchingService) == set(use_cases.APPLY)


def test_any_order_and_any_repeat_end_in_the_same_model(make_database):
    url = make_database("matching_order", migrations_dir(MatchingService))
    expected = ends_alike_in_any_order(
        history(), reset=lambda: empty_database(url),
        deliver_one=lambda event: deliver(url, f"matching.{event['type']}", "matching", event, consume),
        state=lambda: table_rows(url, FACTS, leave_out=("offered_days",)))
    assert {w[0] for w in expected["reach"]} == {"ada", "bob"}  # the history does something
