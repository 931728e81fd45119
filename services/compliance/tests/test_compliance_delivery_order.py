"""Compliance ends with the same worker profiles whatever order identity's worker.registered
events arrive in and however often (hypothesis): the one event type compliance consumes."""

import uuid
from datetime import UTC, datetime, timedelta

from chassis.runner import migrations_dir
from chassis.testing import consumed_event_types, deliver, empty_database, ends_alike_in_any_order, table_rows
from compliance import use_cases
from compliance.models import WorkerProfile
from compliance.service import ComplianceService

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def registered(n, staff_type, body):
    return {"event_id": str(uuid.uuid4()), "type": "worker.registered", "version": 1,
            "occurred_at": T0 + timedelta(minutes=n), "producer": "identity", "correlation_id": None,
            "data": {"agency_id": None, "worker_id": f"w{n}", "user_id": f"u{n}", "bank_id": "bank-1",
                     "bank_number": f"W{n:06d}", "name": f"W{n}", "email": f"w{n}@example.org",
                     "staff_type": staff_type, "grade": "G1", "extra_grades": [], "specialty": None,
                     "registration_body": body, "registration_number": None, "latitude": 53.4,
                     "longitude": -2.2, "max_travel_km": 50.0, "opted_out_of_48h": False,
                     "status": "applied"}}


def test_any_order_and_any_repeat_end_with_the_same_profiles(make_database):
    url = make_database("compliance_order", migrations_dir(ComplianceService))
    events = [registered(0, "doctor", "GMC"), registered(1, "nurse", "NMC"), registered(2, "gp", "GMC"),
              registered(3, "healthcare_assistant", None)]
    assert {e["type"] for e in events} == consumed_event_types(ComplianceService)
    expected = ends_alike_in_any_order(
        events, reset=lambda: empty_database(url),
        deliver_one=lambda event: deliver(url, "compliance.on_worker_registered", "compliance", event,
                                          use_cases.on_worker_registered),
        state=lambda: table_rows(url, [WorkerProfile.__table__]))
    assert len(expected["worker_profiles"]) == 4
