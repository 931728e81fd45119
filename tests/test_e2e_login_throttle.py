"""The login throttle over HTTP (API.md "Identity": failed logins are throttled per account, the
owner's successful login never is), with identity's per-client-address limit in front of the
password hash. The gateway trusts one proxy here, so X-Forwarded-For sets the client's address."""

import time

import pytest

from identity.testing import count_password_checks

ADDRESS_LIMIT = 12


@pytest.fixture
def gateway_overrides():
    return {"LOGIN_TRUSTED_PROXIES": 1}


@pytest.fixture
def service_overrides():
    return {"identity": {"LOGIN_ADDRESS_FAILURE_LIMIT": ADDRESS_LIMIT}}


@pytest.fixture
def hashes(monkeypatch):
    """Passwords identity has checked, each an argon2 hash."""
    return count_password_checks(monkeypatch)


@pytest.fixture
def ada(api, make_bank, worker_payload):
    north = make_bank("North")
    api.created("/v1/workers", worker_payload(north["bank"]["id"]))
    return {"email": "ada@example.org", "password": "worker-password-1"}


def _login(api, address, email, password):
    return api.post("/v1/auth/token", {"email": email, "password": password},
                    headers={"X-Forwarded-For": f"203.0.113.50, {address}"})


def _refused(response):
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/too-many-requests"
    assert int(response.headers["Retry-After"]) > 0


def test_after_ten_failures_the_right_password_from_that_address_is_429_too(api, ada, hashes):
    for _ in range(10):
        assert _login(api, "198.51.100.7", ada["email"], "guess").status_code == 401
    checked = len(hashes)
    _refused(_login(api, "198.51.100.7", ada["email"], "guess"))
    _refused(_login(api, "198.51.100.7", ada["email"], ada["password"]))  # a right guess gets nothing
    assert len(hashes) == checked  # neither was hashed
    # The owner, elsewhere, still gets in; a wrong password there is 429 (the account is throttled).
    assert _login(api, "192.0.2.1", ada["email"], ada["password"]).status_code == 200
    _refused(_login(api, "192.0.2.1", ada["email"], "typo"))
    assert _login(api, "192.0.2.1", ada["email"], ada["password"]).status_code == 200


def test_one_address_failing_on_many_accounts_is_refused_without_a_hash(api, ada, hashes):
    started = time.monotonic()
    for n in range(ADDRESS_LIMIT):
        assert _login(api, "198.51.100.66", f"victim{n}@example.org", "Summer2026!").status_code == 401
    hashed_each = (time.monotonic() - started) / ADDRESS_LIMIT
    checked = len(hashes)
    started = time.monotonic()
    for n in range(ADDRESS_LIMIT):
        _refused(_login(api, "198.51.100.66", f"other{n}@example.org", "Summer2026!"))
    refused_each = (time.monotonic() - started) / ADDRESS_LIMIT
    _refused(_login(api, "198.51.100.66", ada["email"], ada["password"]))
    assert len(hashes) == checked  # no password was checked once the address was over its limit
    assert refused_each < hashed_each, (refused_each, hashed_each)
    # Another address, and the owner's own login there, are unaffected.
    assert _login(api, "192.0.2.1", ada["email"], ada["password"]).status_code == 200
    assert api.token(ada["email"], ada["password"])  # no X-Forwarded-For: the connection's address


def test_a_forwarded_address_that_is_not_one_counts_as_the_connection(api, ada):
    for _ in range(10):
        response = api.post("/v1/auth/token", {"email": ada["email"], "password": "guess"},
                            headers={"X-Forwarded-For": "not-an-address"})
        assert response.status_code == 401, response.text
    _refused(api.post("/v1/auth/token", ada))  # the connection (127.0.0.1) made those failures


def test_blank_passwords_are_refused_with_422(api, admin, make_bank, worker_payload):
    north = make_bank("North")
    for password in (" " * 8, "\t \n" * 4):
        response = api.post("/v1/workers", worker_payload(north["bank"]["id"], password=password))
        assert response.status_code == 422, response.text
        assert list(response.json()["errors"]) == ["password"]
        user = {"email": "staff@example.org", "password": password, "name": "Staff",
                "roles": [{"role": "bank_admin", "scope_type": "bank", "scope_id": north["bank"]["id"]}]}
        response = api.post("/v1/users", user, token=admin)
        assert response.status_code == 422, response.text
        assert list(response.json()["errors"]) == ["password"]
