"""Issue 16 "Matching" over HTTP with the real platform: a bank where each exclusion removes one
worker (wrong grade, wrong staff type, suspended, compliance lapsing before the shift, out of
travel range, booked on an overlapping shift, over the 72-hour limit, outside the priority group
during its window), then a shift opening to its group and to the bank: matching names exactly
the remaining workers, each once, and exactly those `GET /v1/shifts/available` shows it to."""

from datetime import date, datetime, time, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.clock import LONDON, now
from chassis.errors import NotFound
from chassis.testing import poll

TODAY = date.today()
REQUIRED = ["identity", "dbs"]  # the bank asks two checks of its doctors and nurses: quicker to clear


def _at(day, hour):
    return datetime.combine(day, time(hour), LONDON)


@pytest.fixture
def bank(api, hospital):
    for staff_type in ("doctor", "nurse"):
        response = api.put("/v1/compliance-requirements", {"bank_id": hospital["bank"]["id"],
                                                           "staff_type": staff_type, "kinds": REQUIRED},
                           token=hospital["bank_admin"])
        assert response.status_code == 200, response.text
    return hospital


@pytest.fixture
def enrol(api, bank, worker_payload):
    """enrol(name, dbs_expires=None, **registration) -> (worker, token): registered, its two
    documents verified (the DBS expiring when asked), active."""

    def make(name, dbs_expires=None, **registration):
        email = f"{name}@example.org"
        worker = api.created("/v1/workers", worker_payload(bank["bank"]["id"], email=email, name=name,
                                                           registration_number=name, **registration))
        token = api.token(email, "worker-password-1")
        expiries = {"identity": TODAY + timedelta(days=3650),
                    "dbs": dbs_expires or TODAY + timedelta(days=365)}
        for kind, expires_on in expiries.items():
            body = {"kind": kind, "reference": f"{name}-{kind}", "expires_on": expires_on.isoformat()}
            document = api.created(f"/v1/workers/{worker['id']}/documents", body, token=token)
            verified = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                                token=bank["bank_admin"])
            assert verified.status_code == 200, verified.text
        poll(lambda: api.get(f"/v1/workers/{worker['id']}", token=token).json()["status"] == "active",
             message=f"{name} to become active")
        return worker, token

    return make


def _book(api, ctx, worker, starts_at, hours):
    body = {"site_id": ctx["site"]["id"], "staff_type": "doctor", "grade": "ST3",
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
            "publish": {"to": "bank"}}
    shift = api.created("/v1/shifts", body, token=ctx["coordinator"])
    booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]}, token=ctx["coordinator"])
    assert booked.status_code == 200, booked.text


def _named(tap, shift_id, settle=1.0, timeout=10.0):
    """{worker id: stage} of every matching.candidates_ranked for the shift, once they stop coming."""
    names, deadline = {}, now() + timedelta(seconds=timeout)
    while now() < deadline:
        mine = [e["data"] for e in tap.messages(timeout=settle) if e["data"]["shift_id"] == shift_id]
        for data in mine:
            for candidate in data["candidates"]:
                assert candidate["worker_id"] not in names, "named twice"
                names[candidate["worker_id"]] = data["stage"]
        if names and not mine:
            break
    return names


def _seeing(api, tokens, shift_id):
    """Which of these workers GET /v1/shifts/available shows the shift to."""
    found = set()
    for name, token in tokens.items():
        response = api.get("/v1/shifts/available", token=token)
        if response.status_code == 200 and shift_id in {s["id"] for s in response.json()["items"]}:
            found.add(name)
    return found


def test_a_shift_opening_names_exactly_the_workers_who_may_take_it(platform, api, bank, enrol, event_tap):
    ctx = bank
    day = TODAY + timedelta(days=8)
    start = _at(day, 6)  # 06:00-19:00, 13 hours
    workers = {
        "ada": enrol("ada"),
        "eve": enrol("eve", grade="ST4"),  # ST3 as an extra grade, below
        "gus": enrol("gus", grade="ST4"),  # wrong grade
        "nia": enrol("nia", staff_type="nurse", registration_body="NMC"),  # wrong staff type
        "sam": enrol("sam", dbs_expires=TODAY + timedelta(days=1)),  # suspended, below
        "lia": enrol("lia", dbs_expires=TODAY + timedelta(days=3)),  # lapses before the shift
        "fay": enrol("fay", latitude=53.95),  # about 52 km from the site, travels 30
        "ola": enrol("ola"),  # booked on an overlapping shift
        "tim": enrol("tim"),  # 60 hours in the six days before: the shift would make 73
        "out": enrol("out"),  # not in the priority group
    }
    ids = {name: worker["id"] for name, (worker, _) in workers.items()}
    tokens = {name: token for name, (_, token) in workers.items()}
    assert api.patch(f"/v1/workers/{ids['eve']}", {"extra_grades": ["ST3"]},
                     token=ctx["bank_admin"]).status_code == 200
    _book(api, ctx, workers["ola"][0], _at(day, 10), 8)
    for days_before in range(6, 0, -1):
        _book(api, ctx, workers["tim"][0], _at(day - timedelta(days=days_before), 8), 10)
    with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
        compliance.run_expiry_sweep((TODAY + timedelta(days=2)).isoformat(), True)  # sam's DBS lapses
    sam = f"/v1/workers/{ids['sam']}"
    poll(lambda: api.get(sam, token=ctx["bank_admin"]).json()["status"] == "suspended",
         message="sam suspended")
    members = [worker_id for name, worker_id in ids.items() if name != "out"]
    group = api.created("/v1/priority-groups", {"organisation_id": ctx["organisation"]["id"],
                                                "name": "Regulars", "worker_ids": members},
                        token=ctx["bank_admin"])

    # Matching learns all this from events; wait until it has (it decides only who hears).
    with ServiceRpcProxy("matching", platform.configs["matching"]) as matching:
        def caught_up():
            try:
                view = {name: matching.worker_view(i) for name, i in ids.items()}
            except NotFound:
                return False
            able = all((v["status"], v["compliance_status"]) == ("active", "cleared")
                       for name, v in view.items() if name != "sam")
            return (able and len(view["tim"]["bookings"]) == 6 and len(view["ola"]["bookings"]) == 1
                    and view["sam"]["status"] == "suspended" and view["eve"]["extra_grades"] == ["ST3"]
                    and view["lia"]["cleared_until"] == (TODAY + timedelta(days=3)).isoformat())

        poll(caught_up, timeout=15, message="matching to catch up with identity, compliance and shifts")

        tap = event_tap("matching.events", "matching.candidates_ranked")
        body = {"site_id": ctx["site"]["id"], "staff_type": "doctor", "grade": "ST3",
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=13)).isoformat(),
                "publish": {"to": "priority", "priority_group_id": group["id"], "priority_minutes": 60}}
        shift = api.created("/v1/shifts", body, token=ctx["coordinator"])

        in_window = _named(tap, shift["id"])
        assert in_window == {ids["ada"]: "priority", ids["eve"]: "priority"}
        assert _seeing(api, tokens, shift["id"]) == {"ada", "eve"}
        assert {c["worker_id"] for c in matching.candidates(shift["id"])} == {ids["ada"], ids["eve"]}

        # The window ends: the bank hears of it, and only the worker it kept out is new.
        with ServiceRpcProxy("shifts", platform.configs["shifts"]) as shifts:
            shifts.run_timers((now() + timedelta(minutes=61)).isoformat())
        assert _named(tap, shift["id"]) == {ids["out"]: "bank"}
        assert _seeing(api, tokens, shift["id"]) == {"ada", "eve", "out"}
        ranked = matching.candidates(shift["id"])
        assert {c["worker_id"] for c in ranked} == {ids["ada"], ids["eve"], ids["out"]}
        assert all(c["distance_km"] < 10 for c in ranked)

    # Notifications tells exactly those workers, in their inboxes (API.md "Notifications").
    def told(name):
        inbox = api.get("/v1/notifications", token=tokens[name]).json()["items"]
        return any(n["type"] == "shift.available" and n["data"].get("shift_id") == shift["id"] for n in inbox)

    poll(lambda: all(told(name) for name in ("ada", "eve", "out")), message="the candidates told")
    assert {name for name in tokens if told(name)} == {"ada", "eve", "out"}
