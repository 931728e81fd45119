"""Bad input: a clear 4xx problem+json, nothing changed (API.md "Conventions"). Every route's share of
it, generated from the route table: test_e2e_bad_input_every_route.py."""

import base64

import pytest

from gateway.http import MAX_BODY_BYTES

JSON = {"Content-Type": "application/json"}


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/problems/{name}" and body["status"] == status
    return body


@pytest.fixture
def north(make_bank):
    return make_bank("North")


def _worker_count(api, north):
    return len(api.get("/v1/workers?limit=500", token=north["bank_admin"]).json()["items"])


def test_malformed_and_mistyped_bodies_write_nothing(api, north, worker_payload):
    bank_id = north["bank"]["id"]
    _problem(api.post("/v1/workers", data="{\"bank_id\": ", headers={"Content-Type": "application/json"}),
             400, "malformed-json")
    _problem(api.post("/v1/workers", data=b"\xff\xfe", headers={"Content-Type": "application/json"}),
             400, "malformed-json")
    _problem(api.post("/v1/workers", json=[worker_payload(bank_id)]), 422, "validation-error")

    wrong_types = worker_payload(bank_id, latitude="53.4", opted_out_of_48h="yes", max_travel_km=True,
                                 name=42)
    errors = _problem(api.post("/v1/workers", wrong_types), 422, "validation-error")["errors"]
    assert set(errors) == {"latitude", "opted_out_of_48h", "max_travel_km", "name"}

    unknown = _problem(api.post("/v1/workers", worker_payload(bank_id, is_admin=True)), 422,
                       "validation-error")
    assert unknown["errors"] == {"is_admin": ["Unknown field."]}

    missing = worker_payload(bank_id)
    del missing["email"], missing["staff_type"]
    assert set(_problem(api.post("/v1/workers", missing), 422, "validation-error")["errors"]) == {
        "email", "staff_type"}

    out_of_range = worker_payload(bank_id, latitude=91, longitude=-181, password="short")
    assert set(_problem(api.post("/v1/workers", out_of_range), 422, "validation-error")["errors"]) == {
        "latitude", "longitude", "password"}

    assert _worker_count(api, north) == 0


def test_ids_that_do_not_exist(api, admin, north, worker_payload):
    errors = _problem(api.post("/v1/workers", worker_payload("no-such-bank")), 422, "validation-error")
    assert errors["errors"] == {"bank_id": ["Does not exist."]}
    _problem(api.post("/v1/sites", {"organisation_id": "nope", "name": "X", "latitude": 1, "longitude": 1},
                      token=admin), 422, "validation-error")
    _problem(api.post("/v1/users", {"email": "a@example.org", "password": "long-enough", "name": "A",
                                    "roles": [{"role": "bank_admin", "scope_type": "bank",
                                               "scope_id": "nope"}]}, token=admin),
             422, "validation-error")
    _problem(api.get("/v1/workers/not-a-worker", token=admin), 404, "not-found")
    _problem(api.get("/v1/nowhere", token=admin), 404, "not-found")
    _problem(api.request("DELETE", "/v1/banks", token=admin), 405, "method-not-allowed")
    _problem(api.get("/v1/workers?limit=0", token=admin), 422, "validation-error")
    _problem(api.get("/v1/workers?status=retired", token=admin), 422, "validation-error")
    _problem(api.get("/v1/workers?cursor=!!!", token=admin), 422, "validation-error")


def test_duplicates_conflict(api, admin, north, worker_payload):
    api.created("/v1/workers", worker_payload(north["bank"]["id"]))
    _problem(api.post("/v1/workers", worker_payload(north["bank"]["id"], email="ADA@example.org")),
             409, "conflict")
    _problem(api.post("/v1/users", {"email": "ada@example.org", "password": "long-enough", "name": "A",
                                    "roles": []}, token=admin), 409, "conflict")
    assert _worker_count(api, north) == 1


def test_oversize_bodies_are_413(api, north, worker_payload):
    huge = worker_payload(north["bank"]["id"], name="x" * (1024 * 1024 + 10))
    try:
        response = api.post("/v1/workers", huge)
    except Exception as exc:  # API.md: "the connection may then be closed"
        pytest.fail(f"expected a 413 before the connection closed, got {exc!r}")
    _problem(response, 413, "payload-too-large")
    assert _worker_count(api, north) == 0


def _chunked(data, size=65536):
    return (data[i:i + size] for i in range(0, len(data), size))


def test_a_chunked_body_is_read_and_limited_like_any_other(api, admin):
    """Sent without a Content-Length (Transfer-Encoding: chunked), a body is read, not taken for an
    empty one, and over 1 MiB it is a 413 all the same."""
    bank = api.post("/v1/banks", data=_chunked(b'{"name": "Chunked Bank"}', 4), token=admin, headers=JSON)
    assert bank.status_code == 201 and bank.json()["name"] == "Chunked Bank", bank.text
    over = b'{"name": "' + b"x" * (MAX_BODY_BYTES - 11) + b'"}'
    assert len(over) == MAX_BODY_BYTES + 1
    _problem(api.post("/v1/banks", data=_chunked(over), token=admin, headers=JSON), 413, "payload-too-large")
    errors = _problem(api.post("/v1/banks", data=_chunked(over[:10] + over[11:]), token=admin, headers=JSON),
                      422, "validation-error")["errors"]  # exactly 1 MiB: read, and judged
    assert set(errors) == {"name"}


def test_a_body_that_is_not_utf8_json_is_malformed(api, admin):
    for body in ('{"name": "UTF-16 Bank"}'.encode("utf-16"), b'{"name": "\xed\xa0\x80"}',  # a surrogate
                 b'{"name": NaN}', b'{"name": "x", "n": -Infinity}'):
        _problem(api.post("/v1/banks", data=body, token=admin, headers=JSON), 400, "malformed-json")
    bom = api.post("/v1/banks", data=b'\xef\xbb\xbf{"name": "BOM Bank"}', token=admin, headers=JSON)
    assert bom.status_code == 201, bom.text  # RFC 8259 lets a parser ignore a UTF-8 byte order mark


def test_values_no_store_can_hold_are_refused_not_500(api, admin, north):
    card = {"bank_id": north["bank"]["id"], "staff_type": "doctor", "grade": "ST3", "day_rate": 10**40,
            "night_rate": "60.00", "weekend_rate": "70.00", "bank_holiday_rate": "90.00"}
    errors = _problem(api.put("/v1/rate-cards", card, token=admin), 422, "validation-error")["errors"]
    assert set(errors) == {"day_rate"}
    deep = base64.urlsafe_b64encode(b"[" * 2000 + b"]" * 2000).decode().rstrip("=")
    for path in ("/v1/workers?", "/v1/notifications?", f"/v1/pay-runs?bank_id={north['bank']['id']}&"):
        errors = _problem(api.get(f"{path}cursor={deep}", token=admin), 422, "validation-error")["errors"]
        assert set(errors) == {"cursor"}
    errors = _problem(api.get("/v1/notifications?type=a%00", token=admin), 422, "validation-error")["errors"]
    assert set(errors) == {"type"}
    unread = _problem(api.post("/v1/notifications/a%00b/read", token=admin), 422, "validation-error")
    assert set(unread["errors"]) == {"id"}


def test_empty_body_on_a_create_is_a_validation_error(api, admin):
    errors = _problem(api.post("/v1/banks", data="", token=admin), 422, "validation-error")["errors"]
    assert errors == {"name": ["Missing data for required field."]}


def test_idempotency_key_returns_the_first_response_and_creates_once(api, admin):
    headers = {"Idempotency-Key": "create-north-1"}
    first = api.post("/v1/banks", {"name": "North"}, token=admin, headers=headers)
    again = api.post("/v1/banks", {"name": "North"}, token=admin, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"

    reused = api.post("/v1/banks", {"name": "South"}, token=admin, headers=headers)
    _problem(reused, 422, "validation-error")
    other_key = api.post("/v1/banks", {"name": "North"}, token=admin, headers={"Idempotency-Key": "k2"})
    assert other_key.status_code == 201 and other_key.json()["id"] != first.json()["id"]


def test_a_failed_request_does_not_burn_its_idempotency_key(api, north, worker_payload):
    headers = {"Idempotency-Key": "register-ada"}
    _problem(api.post("/v1/workers", worker_payload("no-such-bank"), headers=headers), 422,
             "validation-error")
    created = api.post("/v1/workers", worker_payload(north["bank"]["id"]), headers=headers)
    assert created.status_code == 201
    replay = api.post("/v1/workers", worker_payload(north["bank"]["id"]), headers=headers)
    assert replay.json()["id"] == created.json()["id"]
    assert _worker_count(api, north) == 1


def test_concurrent_retries_with_one_key_create_one_resource(api, admin):
    import eventlet

    def create(_):
        return api.post("/v1/banks", {"name": "Racing"}, token=admin, headers={"Idempotency-Key": "race"})

    responses = list(eventlet.GreenPool(10).imap(create, range(10)))
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert {r.status_code for r in responses} <= {201, 409}


def test_hostile_strings_are_4xx_not_500(api, admin, north, worker_payload):
    deep = "[" * 100_000 + "]" * 100_000
    _problem(api.post("/v1/banks", data=deep, token=admin), 400, "malformed-json")
    long_email = "a" * 250 + "@example.org"
    _problem(api.post("/v1/workers", worker_payload(north["bank"]["id"], email=long_email)), 422,
             "validation-error")
    _problem(api.post("/v1/banks", {"name": "Nul\u0000Bank"}, token=admin), 422, "validation-error")
    _problem(api.post("/v1/auth/token", {"email": "a\u0000@example.org", "password": "x"}), 422,
             "validation-error")
    _problem(api.get("/v1/workers?staff_type=nurse%00", token=admin), 422, "validation-error")
    _problem(api.get("/v1/rate-violations?bank_id=b%00", token=admin), 422, "validation-error")  # an id
    _problem(api.get("/v1/rate-cards?bank_id=a%00b", token=admin), 422, "validation-error")
    lone_surrogate = b'{"email": "x@example.org", "password": "\\ud800"}'
    response = api.post("/v1/auth/token", data=lone_surrogate, headers={"Content-Type": "application/json"})
    assert response.status_code in (401, 422), response.text
    for path in ("/v1/shifts/a%00b", "/v1/workers/a%00b", "/v1/timesheets/a%00b", "/v1/pay-runs/a%00b"):
        _problem(api.get(path, token=admin), 422, "validation-error")
    assert _worker_count(api, north) == 0


def test_an_out_of_scope_id_is_403_whatever_else_is_wrong(api, make_bank):
    north, south = make_bank("North"), make_bank("South")
    body = {"organisation_id": south["organisation"]["id"], "name": "", "latitude": "north"}
    _problem(api.post("/v1/sites", body, token=north["bank_admin"]), 403, "forbidden")


def test_role_grants_are_deduplicated_and_a_user_without_roles_still_has_a_profile(api, admin, north):
    grant = {"role": "leadership", "scope_type": "bank", "scope_id": north["bank"]["id"]}
    user = api.created("/v1/users", {"email": "lead@example.org", "password": "lead-password",
                                     "name": "Lead", "roles": [grant, grant]}, token=admin)
    assert len(user["roles"]) == 1
    api.created("/v1/users", {"email": "none@example.org", "password": "none-password", "name": "None",
                              "roles": []}, token=admin)
    me = api.get("/v1/me", token=api.token("none@example.org", "none-password"))
    assert me.status_code == 200 and me.json()["roles"] == []


def test_zero_travel_distance_is_kept(api, north, worker_payload):
    worker = api.created("/v1/workers", worker_payload(north["bank"]["id"], max_travel_km=0))
    assert worker["max_travel_km"] == 0
