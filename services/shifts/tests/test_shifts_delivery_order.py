"""Shifts ends with the same sites whatever order identity's site.created events arrive in and
however often (hypothesis): the one event type shifts consumes."""

import uuid
from datetime import UTC, datetime, timedelta

from chassis.runner import migrations_dir
from chassis.testing import consumed_event_types, deliver, empty_database, ends_alike_in_any_order, table_rows
from shifts import use_cases
from shifts.models import Site
from shifts.service import ShiftsService

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def site_created(n, latitude):
    return {"event_id": str(uuid.uuid4()), "type": "site.created", "version": 1,
            "occurred_at": T0 + timedelta(minutes=n), "producer": "identity", "correlation_id": None,
            "data": {"site_id": f"site-{n}", "organisation_id": f"org-{n % 2}", "bank_id": "bank-1",
                     "name": f"Site {n}", "latitude": latitude, "longitude": -2.2, "postcode": None}}


def test_any_order_and_any_repeat_end_with_the_same_sites(make_database):
    url = make_database("shifts_order", migrations_dir(ShiftsService))
    events = [site_created(n, 53.0 + n / 10) for n in range(4)]
    assert {e["type"] for e in events} == consumed_event_types(ShiftsService)
    expected = ends_alike_in_any_order(
        events, reset=lambda: empty_database(url),
        deliver_one=lambda event: deliver(url, "shifts.on_site_created", "shifts", event,
                                          use_cases.on_site_created),
        state=lambda: table_rows(url, [Site.__table__]))
    assert len(expected["sites"]) == 4
