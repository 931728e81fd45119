"""What the portal needs from the public API beyond API.md (issue 20), over HTTP on the real platform:

- `GET /v1/workers/{id}/shifts`: a worker's own shifts, those booked to it (any status) and those it
  applied to (`applied_at`, null if it never applied), by start, soonest first; for the worker itself
  and its bank's admins (another worker's id: 404, as its compliance).
- `GET /v1/priority-groups?organisation_id=`: staff see the groups of the organisations their grants
  reach (a site's staff: its organisation's); a filter naming another organisation answers an empty
  list, not its groups.
- `POST /v1/shifts/{id}/reject {reason}`: the approvers of `/approve` refuse what the shift awaits: a
  rate above the card cancels the shift (`shift.cancelled`, cancelled_by "site"), a release awaiting
  approval sends it back to draft, an agency cascade request is dropped (the shift stays open);
  nothing awaiting: 409. Decided: whoever posted a shift MAY reject it. API.md's separation of duties
  is about approving (nobody waves their own rate or cascade through); refusing one's own posting
  approves nothing, and the poster could cancel the shift anyway.
- `GET /v1/shifts/{id}/applications` items carry `match`: how matching ranks each applicant among the
  page's applicants (as it ranks whom to tell: worked there, least offered lately, nearest), null for
  one matching would not offer the shift to now.
- A shift says what `awaiting` an approver (its rate, a release, an agency cascade), and
  `GET /v1/shifts?awaiting=true` is the approvers' queue.
- `POST /v1/shifts` takes an optional `justification` (1..500 characters, stripped): why a rate above
  the card is needed; it is on the shift and on `GET /v1/rate-violations` items, which also give the
  `reason` of a rejected rate (and `rejected_by`, `rejected_at`).
"""

from datetime import UTC, date, datetime, timedelta

ABOVE_ANY_BAND = "95.00"  # above every band of the hospital's card (bank holidays: 90.00)


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    assert response.json()["type"] == f"/problems/{name}", response.text
    return response.json()


def _ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def day_at(days_ahead, hour=8):
    day = date.today() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def shift_body(ctx, starts_at, hours=8, **extra):
    return {"site_id": ctx["site"]["id"], "staff_type": "doctor", "grade": "ST3",
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
            "break_minutes": 30, **extra}


def staff(api, ctx, email, role, scope_type, scope_id):
    api.created("/v1/users", {"email": email, "password": "staff-password-1", "name": role,
                              "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}]},
                token=ctx["bank_admin"])
    return api.token(email, "staff-password-1")


def me(api, token):
    return _ok(api.get("/v1/me", token=token))["id"]


# --- a worker's own shifts -------------------------------------------------------------------------

def test_a_worker_sees_the_shifts_booked_to_it_and_those_it_applied_to(api, hospital, make_bank,
                                                                         active_worker):
    ctx = hospital
    w1, w1_token = active_worker(ctx, "w1.gaps@example.org")
    w2, w2_token = active_worker(ctx, "w2.gaps@example.org")

    def post(days):
        return api.created("/v1/shifts", shift_body(ctx, day_at(days), publish={"to": "bank"}),
                           token=ctx["coordinator"])

    booked, lost, waiting, unrelated = post(5), post(3), post(7), post(9)
    for shift in (lost, waiting):
        applied = api.post(f"/v1/shifts/{shift['id']}/applications", token=w1_token)
        assert applied.status_code == 201, applied.text
    for shift, worker in ((booked, w1), (lost, w2)):
        _ok(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]}, token=ctx["coordinator"]))

    path = f"/v1/workers/{w1['id']}/shifts"
    mine = _ok(api.get(path, token=w1_token))
    assert [s["id"] for s in mine["items"]] == [lost["id"], booked["id"], waiting["id"]]  # soonest first
    assert mine["next_cursor"] is None and unrelated["id"] not in str(mine)
    by_id = {s["id"]: s for s in mine["items"]}
    assert (by_id[booked["id"]]["status"], by_id[booked["id"]]["worker_id"]) == ("booked", w1["id"])
    assert by_id[booked["id"]]["applied_at"] is None  # booked by the coordinator, never applied
    assert by_id[waiting["id"]]["status"] == "open" and by_id[waiting["id"]]["applied_at"]
    datetime.fromisoformat(by_id[waiting["id"]]["applied_at"])
    # applied, then another worker was booked: the outcome shows, the other worker is not named
    assert (by_id[lost["id"]]["status"], by_id[lost["id"]]["worker_id"]) == ("booked", None)
    assert w2["id"] not in str(mine)
    for field in ("site_id", "organisation_id", "starts_at", "ends_at", "hourly_rate", "standard_rate",
                  "rate_violation"):
        assert field in by_id[booked["id"]]

    # filters and pages
    booked_only = _ok(api.get(path, params={"status": "booked"}, token=w1_token))
    assert [s["id"] for s in booked_only["items"]] == [lost["id"], booked["id"]]
    later = _ok(api.get(path, params={"from": booked["starts_at"]}, token=w1_token))
    assert [s["id"] for s in later["items"]] == [booked["id"], waiting["id"]]
    first = _ok(api.get(path, params={"limit": 2}, token=w1_token))
    assert [s["id"] for s in first["items"]] == [lost["id"], booked["id"]] and first["next_cursor"]
    rest = _ok(api.get(path, params={"limit": 2, "cursor": first["next_cursor"]}, token=w1_token))
    assert [s["id"] for s in rest["items"]] == [waiting["id"]] and rest["next_cursor"] is None
    _problem(api.get(path, params={"status": "lost"}, token=w1_token), 422, "validation-error")
    _problem(api.get(path, params={"limit": 0}, token=w1_token), 422, "validation-error")
    _problem(api.get(path, params={"cursor": "not-a-cursor"}, token=w1_token), 422, "validation-error")

    # its bank's admins read it too; another worker, site staff and another bank do not
    assert _ok(api.get(path, token=ctx["bank_admin"]))["items"] == mine["items"]
    _problem(api.get(path, token=w2_token), 404, "not-found")
    assert [s["id"] for s in _ok(api.get(f"/v1/workers/{w2['id']}/shifts", token=w2_token))["items"]] == [
        lost["id"]]
    _problem(api.get(path, token=ctx["coordinator"]), 403, "forbidden")
    south = make_bank("South")
    _problem(api.get(path, token=south["bank_admin"]), 404, "not-found")
    _problem(api.get("/v1/workers/no-such-worker/shifts", token=ctx["bank_admin"]), 404, "not-found")
    _problem(api.get(path), 401, "unauthorized")


# --- priority groups ---------------------------------------------------------------------------------

def test_staff_list_the_priority_groups_of_their_organisations_only(api, hospital, make_bank,
                                                                    worker_payload):
    north, south = hospital, make_bank("South")
    org_a = north["organisation"]["id"]
    org_b = api.created("/v1/organisations", {"bank_id": north["bank"]["id"], "name": "Bravo Trust",
                                              "kind": "trust"}, token=north["bank_admin"])["id"]
    worker = api.created("/v1/workers", worker_payload(north["bank"]["id"], email="member.gaps@example.org"))

    def group(ctx, organisation_id, name, worker_ids=()):
        return api.created("/v1/priority-groups", {"organisation_id": organisation_id, "name": name,
                                                   "worker_ids": list(worker_ids)}, token=ctx["bank_admin"])

    regulars = group(north, org_a, "Regulars", [worker["id"]])
    bravo = group(north, org_b, "Bravo bank")
    southern = group(south, south["organisation"]["id"], "Southerners")
    leader_b = staff(api, north, "leader.b.gaps@example.org", "leadership", "organisation", org_b)
    approver_a = staff(api, north, "approver.a.gaps@example.org", "timesheet_approver", "site",
                       north["site"]["id"])

    def names(token, **query):
        return [g["name"] for g in _ok(api.get("/v1/priority-groups", params=query, token=token))["items"]]

    # the coordinator of site A sees its organisation's groups, nothing of organisation B or South
    listed = _ok(api.get("/v1/priority-groups", token=north["coordinator"]))
    assert listed == {"items": [{**regulars, "worker_ids": [worker["id"]]}], "next_cursor": None}
    assert set(listed["items"][0]) >= {"id", "organisation_id", "name", "worker_ids"}
    assert names(north["coordinator"], organisation_id=org_a) == ["Regulars"]
    assert names(north["coordinator"], organisation_id=org_b) == []
    assert names(north["coordinator"], organisation_id=south["organisation"]["id"]) == []
    assert names(approver_a) == ["Regulars"]
    assert names(leader_b) == ["Bravo bank"]
    # a bank admin sees its bank's, oldest first; the platform admin every bank's
    assert names(north["bank_admin"]) == ["Regulars", "Bravo bank"]
    assert names(north["bank_admin"], organisation_id=org_b) == ["Bravo bank"]
    assert names(south["bank_admin"]) == ["Southerners"]
    assert names(south["bank_admin"], organisation_id=org_a) == []
    page = _ok(api.get("/v1/priority-groups", params={"limit": 1}, token=north["bank_admin"]))
    assert [g["id"] for g in page["items"]] == [regulars["id"]] and page["next_cursor"]
    rest = _ok(api.get("/v1/priority-groups", params={"limit": 1, "cursor": page["next_cursor"]},
                       token=north["bank_admin"]))
    assert [g["id"] for g in rest["items"]] == [bravo["id"]]
    assert southern["id"] not in str(page) + str(rest)
    # not staff: refused
    worker_token = api.token("member.gaps@example.org", "worker-password-1")
    _problem(api.get("/v1/priority-groups", token=worker_token), 403, "forbidden")
    _problem(api.get("/v1/priority-groups", params={"limit": 501}, token=north["bank_admin"]), 422,
             "validation-error")
    _problem(api.get("/v1/priority-groups"), 401, "unauthorized")


# --- rejecting what a shift awaits ---------------------------------------------------------------------

def test_rejecting_a_rate_above_the_card_cancels_the_shift_and_says_who_and_why(api, hospital, make_bank):
    ctx = hospital
    bank_id = ctx["bank"]["id"]
    for justification in ("", "   ", "x" * 501):
        _problem(api.post("/v1/shifts", shift_body(ctx, day_at(4), hourly_rate=ABOVE_ANY_BAND,
                                                   justification=justification), token=ctx["coordinator"]),
                 422, "validation-error")
    above = api.created("/v1/shifts", shift_body(
        ctx, day_at(4), hourly_rate=ABOVE_ANY_BAND, publish={"to": "bank"},
        justification="  Nobody takes nights at the card rate  "), token=ctx["coordinator"])
    assert (above["status"], above["justification"]) == ("pending_approval",
                                                         "Nobody takes nights at the card rate")
    # what waits for an approver is said on the shift, and the approvers' queue is one filter
    assert above["awaiting"] == {"rate": True, "release": "bank", "priority_group_id": None, "tier": None}
    queue = _ok(api.get("/v1/shifts", params={"awaiting": "true"}, token=ctx["bank_admin"]))["items"]
    assert [s["id"] for s in queue] == [above["id"]]
    assert _ok(api.get(f"/v1/shifts/{above['id']}", token=ctx["coordinator"]))["justification"] == (
        "Nobody takes nights at the card rate")
    path = f"/v1/shifts/{above['id']}/reject"

    # refusals, none of which changes the shift
    _problem(api.post(path, {"reason": "too dear"}, token=ctx["coordinator"]), 403, "forbidden")
    _problem(api.post(path, {"reason": "too dear"}, token=make_bank("South")["bank_admin"]), 404, "not-found")
    _problem(api.post(path, {}, token=ctx["bank_admin"]), 422, "validation-error")
    _problem(api.post(path, {"reason": "  "}, token=ctx["bank_admin"]), 422, "validation-error")
    _problem(api.post(path, token=ctx["bank_admin"]), 422, "validation-error")
    _problem(api.post(path, {"reason": "x", "status": "open"}, token=ctx["bank_admin"]), 422,
             "validation-error")
    _problem(api.post("/v1/shifts/no-such-shift/reject", {"reason": "x"}, token=ctx["bank_admin"]), 404,
             "not-found")
    assert _ok(api.get(f"/v1/shifts/{above['id']}", token=ctx["bank_admin"]))["status"] == "pending_approval"

    rejected = _ok(api.post(path, {"reason": "Use the card rate"}, token=ctx["bank_admin"]))
    assert (rejected["status"], rejected["violation_status"], rejected["cancelled_by"]) == (
        "cancelled", "rejected", "site")
    assert (rejected["rejection_reason"], rejected["rejected_by"]) == ("Use the card rate",
                                                                      me(api, ctx["bank_admin"]))
    steps = _ok(api.get(f"/v1/shifts/{above['id']}/steps", token=ctx["bank_admin"]))["items"]
    steps = [s["step"] for s in steps]
    assert steps == ["posted", "rejected", "cancelled"]
    [violation] = _ok(api.get("/v1/rate-violations", params={"bank_id": bank_id}, token=ctx["bank_admin"]))[
        "items"]
    assert (violation["shift_id"], violation["status"], violation["reason"]) == (
        above["id"], "rejected", "Use the card rate")
    assert violation["justification"] == "Nobody takes nights at the card rate"
    assert (violation["rejected_by"], violation["approved_by"], violation["approved_at"]) == (
        me(api, ctx["bank_admin"]), None, None)
    datetime.fromisoformat(violation["rejected_at"])
    # done: nothing awaits any more
    _problem(api.post(path, {"reason": "again"}, token=ctx["bank_admin"]), 409, "conflict")
    _problem(api.post(f"/v1/shifts/{above['id']}/approve", {"reason": "after all"}, token=ctx["bank_admin"]),
             409, "conflict")

    # an open shift at the card rate awaits nothing
    at_card = api.created("/v1/shifts", shift_body(ctx, day_at(6), publish={"to": "bank"}),
                          token=ctx["coordinator"])
    assert at_card["justification"] is None and at_card["rate_violation"] is False
    assert at_card["awaiting"] is None and rejected["awaiting"] is None
    assert _ok(api.get("/v1/shifts", params={"awaiting": "true"}, token=ctx["bank_admin"]))["items"] == []
    assert {s["id"] for s in _ok(api.get("/v1/shifts", params={"awaiting": "false"},
                                         token=ctx["bank_admin"]))["items"]} == {above["id"], at_card["id"]}
    _problem(api.post(f"/v1/shifts/{at_card['id']}/reject", {"reason": "no"}, token=ctx["bank_admin"]), 409,
             "conflict")


def test_whoever_posted_a_shift_may_reject_it_though_not_approve_it(api, hospital):
    """The decision in this module's docstring: refusing one's own posting approves nothing."""
    ctx = hospital
    mine = api.created("/v1/shifts", shift_body(ctx, day_at(4), hourly_rate=ABOVE_ANY_BAND),
                       token=ctx["bank_admin"])
    _problem(api.post(f"/v1/shifts/{mine['id']}/approve", {"reason": "mine"}, token=ctx["bank_admin"]), 403,
             "forbidden")
    rejected = _ok(api.post(f"/v1/shifts/{mine['id']}/reject", {"reason": "posted in error"},
                            token=ctx["bank_admin"]))
    assert rejected["status"] == "cancelled"


def test_rejecting_a_cascade_keeps_the_shift_open_and_a_release_goes_back_to_draft(api, hospital):
    ctx = hospital
    approver = staff(api, ctx, "approver.gaps@example.org", "timesheet_approver", "site", ctx["site"]["id"])

    # an agency cascade a coordinator asked for: the request is dropped, the bank still sees the shift
    shift = api.created("/v1/shifts", shift_body(ctx, day_at(5), publish={"to": "bank"}),
                        token=ctx["coordinator"])
    asked = _ok(api.post(f"/v1/shifts/{shift['id']}/cascade", {"tier": 1}, token=ctx["coordinator"]))
    assert asked["status"] == "open"
    assert asked["awaiting"] == {"rate": False, "release": "agency", "priority_group_id": None, "tier": 1}
    queue = _ok(api.get("/v1/shifts", params={"awaiting": "true"}, token=approver))["items"]
    assert [s["id"] for s in queue] == [shift["id"]]
    kept = _ok(api.post(f"/v1/shifts/{shift['id']}/reject", {"reason": "the bank will fill it"},
                        token=approver))
    assert (kept["status"], kept["release_stage"], kept["agency_tier"]) == ("open", "bank", None)
    _problem(api.post(f"/v1/shifts/{shift['id']}/approve", {"reason": "no"}, token=approver), 409, "conflict")
    _problem(api.post(f"/v1/shifts/{shift['id']}/reject", {"reason": "no"}, token=approver), 409, "conflict")
    steps = [s["step"] for s in _ok(api.get(f"/v1/shifts/{shift['id']}/steps", token=approver))["items"]]
    assert steps[-2:] == ["cascade awaits approval", "rejected"]

    # a release the site wants approved: back to draft, and the coordinator may publish it again
    policy = api.put(f"/v1/sites/{ctx['site']['id']}/policy", {"approval_before_release": True},
                     token=ctx["bank_admin"])
    assert policy.status_code == 200, policy.text
    waiting = api.created("/v1/shifts", shift_body(ctx, day_at(8), publish={"to": "bank"}),
                          token=ctx["coordinator"])
    assert waiting["status"] == "pending_approval" and waiting["rate_violation"] is False
    draft = _ok(api.post(f"/v1/shifts/{waiting['id']}/reject", {"reason": "offer it to the regulars"},
                         token=approver))
    assert waiting["awaiting"] == {"rate": False, "release": "bank", "priority_group_id": None, "tier": None}
    assert (draft["status"], draft["violation_status"], draft["release_stage"]) == ("draft", None, None)
    assert draft["awaiting"] is None
    again = _ok(api.post(f"/v1/shifts/{waiting['id']}/publish", {"to": "bank"}, token=ctx["coordinator"]))
    assert again["status"] == "pending_approval"
    assert _ok(api.post(f"/v1/shifts/{waiting['id']}/approve", {"reason": "fine"}, token=approver))[
        "status"] == "open"


def test_applicants_are_ranked_as_matching_ranks_whom_to_tell(api, hospital, active_worker, platform):
    from chassis.testing import poll

    ctx = hospital
    # the site is at 53.48, -2.24: Far lives about 13 km away, Near about 1.1 km, Gone 0.7 km
    far, far_token = active_worker(ctx, "far@example.org", latitude=53.6, longitude=-2.24, name="Far")
    near, near_token = active_worker(ctx, "near@example.org", latitude=53.49, longitude=-2.24, name="Near")
    gone, gone_token = active_worker(ctx, "gone@example.org", latitude=53.48, longitude=-2.25, name="Gone")
    shift = api.created("/v1/shifts", shift_body(ctx, day_at(3), publish={"to": "bank"}),
                        token=ctx["coordinator"])
    for token in (far_token, near_token, gone_token):  # in this order: the list keeps it
        api.created(f"/v1/shifts/{shift['id']}/applications", None, token=token)
    path = f"/v1/shifts/{shift['id']}/applications"

    def ranked():
        items = _ok(api.get(path, token=ctx["coordinator"]))["items"]
        return items if all(a["match"] for a in items) else None

    items = poll(ranked, timeout=15, message="matching to know the shift and its applicants")
    assert [a["worker_id"] for a in items] == [far["id"], near["id"], gone["id"]]
    ranks = {a["worker_id"]: a["match"]["rank"] for a in items}
    assert ranks == {gone["id"]: 1, near["id"]: 2, far["id"]: 3}  # nearest first: nobody worked there
    assert items[0]["match"] == {"rank": 3, "worked_at_site": False, "worked_at_organisation": False}

    # an applicant matching would no longer offer the shift to has no rank; the rest close up
    patched = api.patch(f"/v1/workers/{near['id']}", {"max_travel_km": 0.5}, token=ctx["bank_admin"])
    assert patched.status_code == 200, patched.text

    def near_out_of_reach():
        items = _ok(api.get(path, token=ctx["coordinator"]))["items"]
        return items if items[1]["match"] is None else None

    items = poll(near_out_of_reach, timeout=15, message="matching to hear of the shorter reach")
    assert (items[0]["match"]["rank"], items[2]["match"]["rank"]) == (2, 1)  # Far, Gone

    # booked: nobody is offered it any more
    _ok(api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": far["id"]}, token=ctx["coordinator"]))
    poll(lambda: all(a["match"] is None for a in _ok(api.get(path, token=ctx["coordinator"]))["items"]),
         timeout=15, message="matching to hear of the booking")
