"""Authentication, authorisation and tenant isolation (API.md "Auth", "Roles and scope")."""

import base64
import io
import json
import logging
import time

import jwt
import pytest

from chassis.context import JsonFormatter
from chassis.testing import TEST_SIGNING_KEY


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/problems/{name}" and body["status"] == status
    assert body["title"] and "detail" in body
    return body


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged_tokens(user_id):
    now = int(time.time())
    claims = {"sub": user_id, "iss": "staffbank", "iat": now, "exp": now + 600}
    valid = jwt.encode(claims, TEST_SIGNING_KEY, algorithm="HS256")
    header, payload, signature = valid.split(".")
    return {
        "expired": jwt.encode({**claims, "exp": now - 1, "iat": now - 700}, TEST_SIGNING_KEY,
                              algorithm="HS256"),
        "other key": jwt.encode(claims, "another-key-" + "y" * 32, algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "tampered": f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}",
        "garbage": "not-a-token",
        "other algorithm": jwt.encode(claims, TEST_SIGNING_KEY, algorithm="HS512"),
    }


def test_bad_tokens_are_401(api, admin):
    user_id = api.get("/v1/me", token=admin).json()["id"]
    assert api.get("/v1/me").status_code == 401
    _problem(api.get("/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    for name, token in _forged_tokens(user_id).items():
        response = api.get("/v1/me", token=token)
        assert response.status_code == 401, f"{name} token was accepted"
        _problem(response, 401, "unauthorized")


def test_a_bank_admin_cannot_reach_into_another_bank(api, make_bank, worker_payload):
    north, south = make_bank("North"), make_bank("South")
    before = api.get("/v1/workers", token=south["bank_admin"]).json()["items"]
    south_worker = api.created("/v1/workers", worker_payload(south["bank"]["id"]))

    site = {"organisation_id": south["organisation"]["id"], "name": "Intruder", "latitude": 51.5,
            "longitude": 0.1}
    _problem(api.post("/v1/sites", site, token=north["bank_admin"]), 403, "forbidden")
    org = {"bank_id": south["bank"]["id"], "name": "Intruder", "kind": "practice"}
    _problem(api.post("/v1/organisations", org, token=north["bank_admin"]), 403, "forbidden")
    grant = {"email": "spy@example.org", "password": "spy-password", "name": "Spy",
             "roles": [{"role": "bank_admin", "scope_type": "bank", "scope_id": south["bank"]["id"]}]}
    _problem(api.post("/v1/users", grant, token=north["bank_admin"]), 403, "forbidden")
    platform_grant = dict(grant, roles=[{"role": "platform_admin", "scope_type": "platform"}])
    _problem(api.post("/v1/users", platform_grant, token=north["bank_admin"]), 403, "forbidden")
    _problem(api.get(f"/v1/workers/{south_worker['id']}", token=north["bank_admin"]), 404, "not-found")
    _problem(api.patch(f"/v1/workers/{south_worker['id']}", {"max_travel_km": 1},
                       token=north["bank_admin"]), 404, "not-found")
    _problem(api.get(f"/v1/workers?bank_id={south['bank']['id']}", token=north["bank_admin"]),
             403, "forbidden")
    assert api.get("/v1/workers", token=north["bank_admin"]).json()["items"] == []
    # nothing was written in the other bank
    assert [w["id"] for w in api.get("/v1/workers", token=south["bank_admin"]).json()["items"]] == \
        [w["id"] for w in before] + [south_worker["id"]]


def test_roles_are_checked_before_the_body(api, make_bank, worker_payload):
    north = make_bank("North")
    worker = api.created("/v1/workers", worker_payload(north["bank"]["id"]))
    worker_token = api.token("ada@example.org", "worker-password-1")
    # A coordinator may not create sites: 403 whatever the body, even malformed JSON.
    _problem(api.post("/v1/sites", data="{not json", token=north["coordinator"]), 403, "forbidden")
    _problem(api.post("/v1/banks", {"name": "Mine"}, token=worker_token), 403, "forbidden")
    _problem(api.post("/v1/banks", data="{", token=worker_token), 403, "forbidden")
    # An unknown worker in the path is 404 before the body is looked at.
    _problem(api.patch("/v1/workers/nope", data="{", token=north["bank_admin"]), 404, "not-found")
    # A worker may not change its own profile through the admin route.
    _problem(api.patch(f"/v1/workers/{worker['id']}", {"max_travel_km": 1}, token=worker_token),
             403, "forbidden")


def test_failed_logins_are_throttled_per_account_and_the_guesser_gets_nothing(api, make_bank, worker_payload):
    north = make_bank("North")
    api.created("/v1/workers", worker_payload(north["bank"]["id"]))
    for _ in range(10):
        _problem(api.post("/v1/auth/token", {"email": "ada@example.org", "password": "guess"}),
                 401, "unauthorized")
    throttled = api.post("/v1/auth/token", {"email": "ada@example.org", "password": "guess"})
    _problem(throttled, 429, "too-many-requests")
    assert throttled.headers["Retry-After"]
    # A right guess from the address that failed is refused too (the owner elsewhere still gets in:
    # test_e2e_login_throttle.py).
    right = api.post("/v1/auth/token", {"email": "ada@example.org", "password": "worker-password-1"})
    _problem(right, 429, "too-many-requests")
    # Other accounts are unaffected.
    _problem(api.post("/v1/auth/token", {"email": "someone@example.org", "password": "guess"}),
             401, "unauthorized")


@pytest.fixture
def json_log():
    """Everything logged while the test runs, as the JSON lines production writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_passwords_are_never_returned_or_logged(api, admin, make_bank, worker_payload, json_log):
    north = make_bank("North")
    secret = "very-secret-password-42"
    worker = api.post("/v1/workers", worker_payload(north["bank"]["id"], password=secret))
    user = api.post("/v1/users", {"email": "x@example.org", "password": secret, "name": "X", "roles": []},
                    token=admin)
    login = api.post("/v1/auth/token", {"email": "x@example.org", "password": secret})
    api.post("/v1/auth/token", {"email": "x@example.org", "password": secret + "-wrong"})

    for response in (worker, user, login):
        assert response.ok and secret not in response.text and "password" not in response.text
    logged = json_log.getvalue()
    assert logged, "expected request logs"
    assert secret not in logged


def test_the_request_id_follows_the_request_into_every_log_line_and_event(
    api, make_bank, worker_payload, json_log, event_tap
):
    tap = event_tap("identity.events", "worker.registered")
    north = make_bank("North")
    response = api.post("/v1/workers", worker_payload(north["bank"]["id"]),
                        headers={"X-Request-Id": "req-trace-123"})
    assert response.headers["X-Request-Id"] == "req-trace-123"
    generated = api.get("/healthz").headers["X-Request-Id"]
    assert generated and generated != "req-trace-123"

    [event] = tap.messages(timeout=3, count=1)
    assert event["correlation_id"] == "req-trace-123"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    traced = {line["logger"] for line in lines if line.get("correlation_id") == "req-trace-123"}
    assert {"gateway.http", "identity.use_cases"} <= traced
