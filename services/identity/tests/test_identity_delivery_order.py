"""Identity ends with the same workers whatever order compliance's facts arrive in and however
often (hypothesis): each event type identity consumes is delivered duplicated and out of order,
and each worker's status and compliance version equal those one ordered delivery leaves. (The
status history and the events identity published on the way are left out: they record the path,
and a late, older fact takes none.)"""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from chassis.engines import engine_for
from chassis.testing import consumed_event_types, deliver, ends_alike_in_any_order
from identity import use_cases
from identity.models import Worker
from identity.service import IdentityService

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def history(workers):
    """What compliance published of each worker, in order: the first document, clearance, a
    lapse, a second document, an uncleared check, clearance again."""
    events = []

    def publish(event_type, worker, **data):
        events.append({"event_id": str(uuid.uuid4()), "type": event_type, "version": 1,
                       "occurred_at": T0 + timedelta(minutes=len(events)), "producer": "compliance",
                       "correlation_id": None,
                       "data": {"worker_id": worker["id"], "bank_id": worker["bank_id"], **data}})

    def document(worker):
        publish("compliance.document_submitted", worker, document_id=str(uuid.uuid4()), kind="dbs",
                status="submitted", expires_on=None)

    def fact(event_type, worker, status, version, **extra):
        publish(event_type, worker, status=status, missing=[] if status == "cleared" else ["dbs"],
                version=version, cleared_until=None, **extra)

    for n, worker in enumerate(workers):
        document(worker)
        fact("compliance.cleared", worker, "cleared", 1)
        fact("compliance.lapsed", worker, "expired", 2, document_id=str(uuid.uuid4()), kind="dbs",
             expires_on="2027-02-28")
        document(worker)
        fact("compliance.uncleared", worker, "expired", 3)
        if n == 0:  # the other ends suspended
            fact("compliance.cleared", worker, "cleared", 4)
    return events


def test_any_order_and_any_repeat_end_with_the_same_workers(identity, identity_config, registration):
    bank = identity.create_bank({"name": "North"})
    workers = [identity.register_worker(registration(bank["id"], email=f"w{n}@example.org"))
               for n in range(2)]
    url = identity_config["DB_URL"]
    events = history(workers)
    assert {e["type"] for e in events} == consumed_event_types(IdentityService)
    engine = engine_for(url)
    ids = [w["id"] for w in workers]

    def reset():  # as registered, nothing applied yet
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM inbox"))
            connection.execute(sa.update(Worker).where(Worker.id.in_(ids))
                               .values(status="applied", compliance_version=0))

    def workers_now():
        with engine.connect() as connection:
            return sorted(connection.execute(sa.select(Worker.id, Worker.status, Worker.compliance_version)
                                             .where(Worker.id.in_(ids))).all())

    expected = ends_alike_in_any_order(
        events, reset, state=workers_now, max_examples=40,
        deliver_one=lambda event: deliver(url, f"identity.{event['type']}", "identity", event,
                                          use_cases.consume))
    assert sorted((status, version) for _, status, version in expected) == [("active", 4), ("suspended", 3)]
