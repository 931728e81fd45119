"""API.md "Shifts" over HTTP: posting at and above the card rate, approval and the
rate-violation list, release to a priority group then the bank, booking and its
refusals, 50 concurrent bookings, retrospective shifts, cancellation."""

from datetime import UTC, date, datetime, timedelta

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{name}", response.text
    return response.json()


def next_weekday(hour, days_ahead=7):
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def shift_body(ctx, starts_at, hours=8, **extra):
    return {"site_id": ctx["site"]["id"], "staff_type": "doctor", "grade": "ST3",
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
            "break_minutes": 30, **extra}


def test_whoever_posted_a_shift_approves_neither_its_rate_nor_its_cascade(api, hospital):
    """API.md "Roles and scope": separation of duties; another approver does it."""
    ctx = hospital
    email = f"second-approver-{ctx['bank']['id'][:8]}@example.org"
    api.created("/v1/users", {"email": email, "password": "staff-password-1", "name": "Second",
                              "roles": [{"role": "timesheet_approver", "scope_type": "site",
                                         "scope_id": ctx["site"]["id"]}]}, token=ctx["bank_admin"])
    second = api.token(email, "staff-password-1")

    above = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), hourly_rate="75.00",
                                                 publish={"to": "bank"}), token=ctx["bank_admin"])
    _problem(api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "my own"}, token=ctx["bank_admin"]),
             403, "forbidden")
    unchanged = api.get(f"/v1/shifts/{above['id']}", token=ctx["bank_admin"]).json()
    assert unchanged["status"] == "pending_approval"
    approved = api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "winter"}, token=second)
    assert approved.status_code == 200 and approved.json()["status"] == "open", approved.text

    # The poster, an approver, asks for a cascade: it waits for another approver.
    shift = api.created("/v1/shifts", shift_body(ctx, next_weekday(9), publish={"to": "bank"}),
                        token=ctx["bank_admin"])
    asked = api.post(f"/v1/shifts/{shift['id']}/cascade", {"tier": 1}, token=ctx["bank_admin"])
    assert asked.status_code == 200 and asked.json()["status"] == "open", asked.text
    _problem(api.post(f"/v1/shifts/{shift['id']}/approve", {"reason": "mine"}, token=ctx["bank_admin"]),
             403, "forbidden")
    cascaded = api.post(f"/v1/shifts/{shift['id']}/approve", {"reason": "no cover"}, token=second)
    assert cascaded.status_code == 200 and cascaded.json()["status"] == "agency", cascaded.text


def test_posting_at_and_above_the_card_rate(api, hospital, make_bank):
    ctx = hospital
    start = next_weekday(8)
    at_card = api.created("/v1/shifts", shift_body(ctx, start, publish={"to": "bank"}),
                          token=ctx["coordinator"])
    assert at_card["status"] == "open" and at_card["hourly_rate"] == "50.00"
    assert at_card["standard_rate"] == "50.00" and at_card["rate_violation"] is False
    assert at_card["organisation_id"] == ctx["organisation"]["id"] and at_card["worker_id"] is None

    above = api.created("/v1/shifts", shift_body(ctx, start, hourly_rate="75.00", publish={"to": "bank"}),
                        token=ctx["coordinator"])
    assert above["status"] == "pending_approval" and above["rate_violation"] is True
    _problem(api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "winter pressure"},
                      token=ctx["coordinator"]), 403, "forbidden")
    _problem(api.post(f"/v1/shifts/{above['id']}/approve", {}, token=ctx["bank_admin"]), 422,
             "validation-error")
    approved = api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "winter pressure"},
                        token=ctx["bank_admin"])
    assert approved.status_code == 200 and approved.json()["status"] == "open"

    violations = api.get(f"/v1/rate-violations?bank_id={ctx['bank']['id']}", token=ctx["bank_admin"]).json()
    [violation] = violations["items"]
    assert violation["shift_id"] == above["id"] and violation["status"] == "approved"
    assert violation["hourly_rate"] == "75.00" and violation["standard_rate"] == "50.00"
    assert violation["reason"] == "winter pressure" and violation["approved_by"]

    # A draft (no publish) at a weekend start is priced at the weekend rate.
    saturday = start + timedelta(days=(5 - start.weekday()))
    draft = api.created("/v1/shifts", shift_body(ctx, saturday), token=ctx["coordinator"])
    assert draft["status"] == "draft" and draft["standard_rate"] == "70.00"


def test_bad_shifts_are_refused_and_nothing_is_written(api, hospital, make_bank):
    ctx, south = hospital, make_bank("South")
    start = next_weekday(8)
    for bad in (shift_body(ctx, start, hours=-1), shift_body(ctx, start, hours=25),
                shift_body(ctx, start, hourly_rate="-5.00"), shift_body(ctx, start, grade="FY9"),
                shift_body(ctx, start, break_minutes=600), shift_body(ctx, start, hourly_rate="1.234")):
        _problem(api.post("/v1/shifts", bad, token=ctx["coordinator"]), 422, "validation-error")
    _problem(api.post("/v1/shifts", shift_body(south, start), token=ctx["coordinator"]), 403, "forbidden")
    assert api.get("/v1/shifts", token=ctx["bank_admin"]).json()["items"] == []


def test_release_order_booking_and_refusals(platform, api, hospital, active_worker):
    ctx = hospital
    ada, ada_token = active_worker(ctx, "ada@example.org")
    bob, bob_token = active_worker(ctx, "bob@example.org")
    group = api.created("/v1/priority-groups", {"organisation_id": ctx["organisation"]["id"],
                                                "name": "Regulars", "worker_ids": [ada["id"]]},
                        token=ctx["bank_admin"])
    start = next_weekday(8)
    publish = {"to": "priority", "priority_group_id": group["id"], "priority_minutes": 60}
    shift = api.created("/v1/shifts", shift_body(ctx, start, instant_book=True, publish=publish),
                        token=ctx["coordinator"])
    assert shift["release_stage"] == "priority"

    # During the window only the group sees and may take it.
    seen_by_ada = api.get("/v1/shifts/available", token=ada_token).json()["items"]
    assert [s["id"] for s in seen_by_ada] == [shift["id"]]
    assert api.get("/v1/shifts/available", token=bob_token).json()["items"] == []
    refused = _problem(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": bob["id"]},
                                token=bob_token), 409, "outside-priority-window")
    assert refused["rules"] == ["outside-priority-window"]

    # The window ends (the timer, run as of an hour later): the whole bank sees it.
    with ServiceRpcProxy("shifts", platform.configs["shifts"]) as shifts:
        shifts.run_timers((datetime.now(UTC) + timedelta(minutes=61)).isoformat())
    assert api.get(f"/v1/shifts/{shift['id']}", token=ctx["coordinator"]).json()["release_stage"] == "bank"
    available = api.get("/v1/shifts/available", token=bob_token).json()["items"]
    assert [s["id"] for s in available] == [shift["id"]] and available[0]["distance_km"] < 10

    booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": bob["id"]}, token=bob_token)
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "booked" and booked.json()["worker_id"] == bob["id"]
    _problem(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": ada["id"]},
                      token=ctx["coordinator"]), 409, "shift-not-open")

    # A worker sees open shifts and its own, not drafts or other workers' bookings.
    draft = api.created("/v1/shifts", shift_body(ctx, start + timedelta(days=3)), token=ctx["coordinator"])
    _problem(api.get(f"/v1/shifts/{draft['id']}", token=bob_token), 404, "not-found")
    assert api.get(f"/v1/shifts/{shift['id']}", token=bob_token).json()["worker_id"] == bob["id"]
    _problem(api.get(f"/v1/shifts/{shift['id']}", token=ada_token), 404, "not-found")

    # Bob's next shift must leave 11 h rest: 10h59m is refused, exactly 11 h is allowed.
    end = start + timedelta(hours=8)
    too_soon = api.created("/v1/shifts", shift_body(ctx, end + timedelta(hours=10, minutes=59),
                                                    publish={"to": "bank"}), token=ctx["coordinator"])
    rest = _problem(api.post(f"/v1/shifts/{too_soon['id']}/book", {"worker_id": bob["id"]},
                             token=ctx["coordinator"]), 409, "min-rest-11h")
    assert rest["rules"] == ["min-rest-11h"]
    just_right = api.created("/v1/shifts", shift_body(ctx, end + timedelta(hours=11),
                                                      publish={"to": "bank"}), token=ctx["coordinator"])
    assert api.post(f"/v1/shifts/{just_right['id']}/book", {"worker_id": bob["id"]},
                    token=ctx["coordinator"]).status_code == 200
    overlapping = api.created("/v1/shifts", shift_body(ctx, start + timedelta(hours=2),
                                                       publish={"to": "bank"}), token=ctx["coordinator"])
    _problem(api.post(f"/v1/shifts/{overlapping['id']}/book", {"worker_id": bob["id"]},
                      token=ctx["coordinator"]), 409, "overlapping-booking")

    # A worker cancels its own booking inside 72 h of the start? Not here: a week ahead, not late.
    cancelled = api.post(f"/v1/shifts/{just_right['id']}/cancel", {"reason": "unwell"}, token=bob_token)
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_by"] == "worker"
    assert cancelled.json()["late_cancellation"] is False


def test_fifty_concurrent_bookings_yield_one(api, hospital, active_worker):
    ctx = hospital
    workers = [active_worker(ctx, f"w{i}@example.org")[0] for i in range(3)]
    shift = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={"to": "bank"}),
                        token=ctx["coordinator"])

    def book(i):
        return api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": workers[i % 3]["id"]},
                        token=ctx["coordinator"])

    responses = list(eventlet.GreenPool(50).imap(book, range(50)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 49
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"/problems/shift-not-open"}


def test_a_retrospective_shift_is_booked_and_completed_at_once(api, hospital, active_worker):
    ctx = hospital
    ada, _ = active_worker(ctx, "ada@example.org")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    shift = api.created("/v1/shifts", shift_body(ctx, start, worker_id=ada["id"]), token=ctx["coordinator"])
    assert shift["status"] == "completed" and shift["worker_id"] == ada["id"] and shift["retrospective"]
    _problem(api.post("/v1/shifts", shift_body(ctx, start + timedelta(hours=2), worker_id=ada["id"]),
                      token=ctx["coordinator"]), 409, "overlapping-booking")


def test_a_worker_searches_the_sites_it_has_worked_at(api, hospital, active_worker):
    ctx = hospital
    ada, ada_token = active_worker(ctx, "ada@example.org")
    past = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    api.created("/v1/shifts", shift_body(ctx, past, worker_id=ada["id"]), token=ctx["coordinator"])
    elsewhere = api.created("/v1/sites", {"organisation_id": ctx["organisation"]["id"], "name": "Annex",
                                          "latitude": 53.46, "longitude": -2.22}, token=ctx["bank_admin"])
    known = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={"to": "bank"}),
                        token=ctx["bank_admin"])
    new = api.created("/v1/shifts", {**shift_body(ctx, next_weekday(8, 9), publish={"to": "bank"}),
                                     "site_id": elsewhere["id"]}, token=ctx["bank_admin"])

    def available(query=""):
        response = api.get(f"/v1/shifts/available{query}", token=ada_token)
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["items"]}

    assert available() == {known["id"], new["id"]}
    assert available("?worked_before=true") == {known["id"]}
    assert available("?worked_before=false") == {known["id"], new["id"]}
    _problem(api.get("/v1/shifts/available?worked_before=yes", token=ada_token), 422, "validation-error")


def test_cascade_to_agency_tier_one_and_an_agency_books_it(platform, api, admin, hospital, active_worker):
    ctx = hospital
    locum, _ = active_worker(ctx, "locum@example.org")
    agencies, agency_ids = {}, {}
    for tier in (1, 2):
        org = api.created("/v1/organisations", {"bank_id": ctx["bank"]["id"], "name": f"Locums {tier}",
                                                "kind": "agency"}, token=ctx["bank_admin"])
        placed = api.put(f"/v1/agencies/{org['id']}/tier", {"tier": tier}, token=ctx["bank_admin"])
        assert placed.json() == {"organisation_id": org["id"], "bank_id": ctx["bank"]["id"], "tier": tier}
        email = f"agency{tier}@example.org"
        api.created("/v1/users", {"email": email, "password": "agency-password", "name": f"Agency {tier}",
                                  "roles": [{"role": "agency", "scope_type": "organisation",
                                             "scope_id": org["id"]}]}, token=ctx["bank_admin"])
        agencies[tier] = api.token(email, "agency-password")
        agency_ids[tier] = org["id"]

    shift = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={"to": "bank"}),
                        token=ctx["coordinator"])
    assert api.get("/v1/agency/shifts", token=agencies[1]).json()["items"] == []
    _problem(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": locum["id"]}, token=agencies[1]),
             404, "not-found")  # not cascaded yet

    # A coordinator's cascade waits for approval (default policy), the shift still open to the
    # bank meanwhile; an approver grants it.
    asked = api.post(f"/v1/shifts/{shift['id']}/cascade", {"tier": 2}, token=ctx["coordinator"]).json()
    assert asked["status"] == "open" and asked["release_stage"] == "bank"
    assert api.get("/v1/agency/shifts", token=agencies[2]).json()["items"] == []
    cascaded = api.post(f"/v1/shifts/{shift['id']}/approve", {"reason": "no bank cover"},
                        token=ctx["bank_admin"]).json()
    assert cascaded["status"] == "agency" and cascaded["agency_tier"] == 2

    # Tier 1 sees tier 1 only; tier 2 sees tiers 1..2.
    assert api.get("/v1/agency/shifts", token=agencies[1]).json()["items"] == []
    assert [s["id"] for s in api.get("/v1/agency/shifts", token=agencies[2]).json()["items"]] == [shift["id"]]
    _problem(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": locum["id"]}, token=agencies[1]),
             404, "not-found")
    # An agency books its own workers only: the locum is tier 2's once the bank says so.
    _problem(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": locum["id"]}, token=agencies[2]),
             403, "forbidden")
    linked = api.patch(f"/v1/workers/{locum['id']}", {"agency_id": agency_ids[2]}, token=ctx["bank_admin"])
    assert linked.status_code == 200 and linked.json()["agency_id"] == agency_ids[2]
    booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": locum["id"]}, token=agencies[2])
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "booked" and booked.json()["worker_id"] == locum["id"]


def test_a_site_may_waive_approval_and_cascade_automatically(platform, api, hospital, active_worker):
    ctx = hospital
    locum, _ = active_worker(ctx, "locum@example.org")
    agency = api.created("/v1/organisations", {"bank_id": ctx["bank"]["id"], "name": "Locums",
                                               "kind": "agency"}, token=ctx["bank_admin"])
    api.put(f"/v1/agencies/{agency['id']}/tier", {"tier": 1}, token=ctx["bank_admin"])
    api.patch(f"/v1/workers/{locum['id']}", {"agency_id": agency["id"]}, token=ctx["bank_admin"])
    api.created("/v1/users", {"email": "desk@example.org", "password": "agency-password", "name": "Desk",
                              "roles": [{"role": "agency", "scope_type": "organisation",
                                         "scope_id": agency["id"]}]}, token=ctx["bank_admin"])
    desk = api.token("desk@example.org", "agency-password")
    policy = api.put(f"/v1/sites/{ctx['site']['id']}/policy",
                     {"agency_cascade_needs_approval": False, "cascade_hours_before": 48},
                     token=ctx["bank_admin"])
    assert policy.status_code == 200 and policy.json()["priority_minutes"] == 60
    soon = api.created("/v1/shifts", shift_body(ctx, datetime.now(UTC) + timedelta(hours=30),
                                                publish={"to": "bank"}), token=ctx["coordinator"])
    later = api.created("/v1/shifts", shift_body(ctx, datetime.now(UTC) + timedelta(days=5),
                                                 publish={"to": "bank"}), token=ctx["coordinator"])
    with ServiceRpcProxy("shifts", platform.configs["shifts"]) as shifts:
        shifts.run_timers()
    assert api.get(f"/v1/shifts/{soon['id']}", token=ctx["coordinator"]).json()["agency_tier"] == 1
    assert api.get(f"/v1/shifts/{later['id']}", token=ctx["coordinator"]).json()["status"] == "open"
    # Tier 1 sees it and books its own worker.
    assert [s["id"] for s in api.get("/v1/agency/shifts", token=desk).json()["items"]] == [soon["id"]]
    booked = api.post(f"/v1/shifts/{soon['id']}/book", {"worker_id": locum["id"]}, token=desk)
    assert booked.status_code == 200 and booked.json()["worker_id"] == locum["id"]


def test_a_booked_shift_completes_when_it_ends_and_its_steps_are_recorded(
    platform, api, hospital, active_worker, event_tap
):
    ctx = hospital
    ada, ada_token = active_worker(ctx, "ada@example.org")
    tap = event_tap("shifts.events", "shift.completed")
    start = next_weekday(8)
    shift = api.created("/v1/shifts", shift_body(ctx, start, publish={"to": "bank"}),
                        token=ctx["coordinator"])
    assert api.get("/v1/shifts/available?max_distance_km=0.001", token=ada_token).json()["items"] == []
    api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": ada["id"]}, token=ctx["coordinator"])
    with ServiceRpcProxy("shifts", platform.configs["shifts"]) as shifts:
        shifts.run_timers((start + timedelta(hours=7)).isoformat())  # not ended yet
        assert api.get(f"/v1/shifts/{shift['id']}", token=ctx["coordinator"]).json()["status"] == "booked"
        shifts.run_timers((start + timedelta(hours=8)).isoformat())
    assert api.get(f"/v1/shifts/{shift['id']}", token=ada_token).json()["status"] == "completed"
    [completed] = tap.messages(timeout=3, count=1)
    assert completed["data"]["shift_id"] == shift["id"] and completed["data"]["worker_id"] == ada["id"]
    steps = api.get(f"/v1/shifts/{shift['id']}/steps", token=ctx["coordinator"]).json()["items"]
    assert [s["step"] for s in steps] == ["posted", "released to bank", "booked", "completed"]


def test_approvals_and_cancellations_keep_the_rate_violation_record_true(
    platform, api, hospital, active_worker, make_bank, worker_payload
):
    ctx = hospital
    ada, _ = active_worker(ctx, "ada@example.org")
    start = next_weekday(8)
    # Approved rate, then an approved cascade: the violation still names the rate's approver.
    above = api.created("/v1/shifts", shift_body(ctx, start, hourly_rate="80.00", publish={"to": "bank"}),
                        token=ctx["coordinator"])
    approver = api.get("/v1/me", token=ctx["bank_admin"]).json()["id"]
    api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "rate ok"}, token=ctx["bank_admin"])
    api.post(f"/v1/shifts/{above['id']}/cascade", {"tier": 1}, token=ctx["coordinator"])
    cascaded = api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "no bank cover"},
                        token=ctx["bank_admin"])
    assert cascaded.json()["status"] == "agency"
    # A pending violation withdrawn by cancellation is rejected, not pending for ever.
    withdrawn = api.created("/v1/shifts", shift_body(ctx, start, hourly_rate="90.00"),
                            token=ctx["coordinator"])
    api.post(f"/v1/shifts/{withdrawn['id']}/cancel", {"reason": "posted in error"}, token=ctx["coordinator"])
    # Cover already worked at an enhanced rate: booked and completed, the rate still needs approving.
    worked = api.created("/v1/shifts", shift_body(ctx, datetime.now(UTC) - timedelta(days=3),
                                                  hourly_rate="95.00", worker_id=ada["id"]),
                         token=ctx["coordinator"])
    assert worked["status"] == "completed" and worked["violation_status"] == "pending"
    assert api.post(f"/v1/shifts/{worked['id']}/approve", {"reason": "out of hours cover"},
                    token=ctx["bank_admin"]).json()["violation_status"] == "approved"

    listed = api.get("/v1/rate-violations", token=ctx["bank_admin"]).json()["items"]
    violations = {v["shift_id"]: v for v in listed}
    assert violations[above["id"]]["reason"] == "rate ok"
    assert violations[above["id"]]["approved_by"] == approver
    assert violations[withdrawn["id"]]["status"] == "rejected"
    assert violations[withdrawn["id"]]["approved_by"] is None
    assert violations[worked["id"]]["status"] == "approved"


def test_more_refusals(platform, api, hospital, active_worker, make_bank, worker_payload):
    ctx = hospital
    ada, _ = active_worker(ctx, "ada@example.org")
    _problem(api.post("/v1/shifts", shift_body(ctx, datetime(9999, 12, 31, 8, tzinfo=UTC)),
                      token=ctx["coordinator"]), 422, "validation-error")
    # The bank comes before agencies: no cascade inside the priority window.
    group = api.created("/v1/priority-groups", {"organisation_id": ctx["organisation"]["id"], "name": "G",
                                                "worker_ids": [ada["id"]]}, token=ctx["bank_admin"])
    windowed = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={
        "to": "priority", "priority_group_id": group["id"]}), token=ctx["coordinator"])
    _problem(api.post(f"/v1/shifts/{windowed['id']}/cascade", {"tier": 1}, token=ctx["bank_admin"]),
             409, "conflict")
    # A shift that has started can no longer be booked (only recorded retrospectively).
    started = api.created("/v1/shifts", shift_body(ctx, datetime.now(UTC) - timedelta(hours=1),
                                                   publish={"to": "bank"}), token=ctx["coordinator"])
    assert _problem(api.post(f"/v1/shifts/{started['id']}/book", {"worker_id": ada["id"]},
                             token=ctx["coordinator"]), 409, "shift-not-open")["rules"] == ["shift-not-open"]
    # A worker of another bank lies outside the caller's scope.
    south = make_bank("South")
    stranger = api.created("/v1/workers", worker_payload(south["bank"]["id"], email="s@example.org"))
    open_shift = api.created("/v1/shifts", shift_body(ctx, next_weekday(8, 9), publish={"to": "bank"}),
                             token=ctx["coordinator"])
    _problem(api.post(f"/v1/shifts/{open_shift['id']}/book", {"worker_id": stranger["id"]},
                      token=ctx["coordinator"]), 403, "forbidden")
    mixed = {"organisation_id": ctx["organisation"]["id"], "name": "Mixed",
             "worker_ids": [ada["id"], stranger["id"]]}
    refused = _problem(api.post("/v1/priority-groups", mixed, token=ctx["bank_admin"]), 422,
                       "validation-error")
    assert refused["errors"] == {"worker_ids": [f"{stranger['id']} is not in this bank."]}
