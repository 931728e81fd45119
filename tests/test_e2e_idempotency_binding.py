"""An Idempotency-Key answers only the request it was first sent with (API.md "Conventions": the
same key and body return the first response), for IDEMPOTENCY_RETENTION_HOURS in the gateway and
in the services alike. Anonymous callers (`POST /v1/workers`) share one key scope, so their body is
what binds a key: reusing someone's key never returns their registration (email, home, bank number)."""

import sqlalchemy as sa

from chassis.engines import engine_for

KEY = {"Idempotency-Key": "registration-1"}


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == f"/problems/{name}"
    return response.json()


def _gateway_forgets(platform):
    """The gateway's keys are gone (a restored database, or a gateway replica with its own)."""
    with engine_for(platform.configs["gateway"]["DB_URL"]).begin() as conn:
        conn.execute(sa.text("DELETE FROM idempotency_keys"))


def _everything_ages(platform, hours):
    """Every key and kept result is `hours` older, in the gateway and in every service."""
    for config in platform.configs.values():
        with engine_for(config["DB_URL"]).begin() as conn:
            table = "idempotency_keys" if "idempotency_keys" in sa.inspect(conn).get_table_names() \
                else "request_results"
            conn.execute(sa.text(f"UPDATE {table} SET created_at = created_at - make_interval(hours => :h)"),
                         {"h": hours})


def _not_leaked(response, ada):
    text = response.text
    assert ada["id"] not in text and ada["email"] not in text and ada.get("bank_number", "-") not in text


def test_an_anonymous_registration_reusing_another_s_key_never_gets_that_registration(
    platform, make_bank, worker_payload
):
    api, bank_id = platform.api, make_bank()["bank"]["id"]
    ada = api.created("/v1/workers", worker_payload(bank_id, email="ada@example.org"), headers=KEY)
    eve_body = worker_payload(bank_id, email="eve@example.org", registration_number="1111111",
                              latitude=51.5, longitude=-0.1)

    body = _problem(api.post("/v1/workers", eve_body, headers=KEY), 422, "validation-error")
    assert "Idempotency-Key" in body["errors"]

    _gateway_forgets(platform)  # only identity's kept result is left: it answers only Ada's request
    response = api.post("/v1/workers", eve_body, headers=KEY)
    _problem(response, 422, "validation-error")
    _not_leaked(response, ada)

    _everything_ages(platform, 25)  # past IDEMPOTENCY_RETENTION_HOURS (24) everywhere
    eve = api.post("/v1/workers", eve_body, headers=KEY)
    assert eve.status_code == 201, eve.text  # a registration of her own, not Ada's
    assert eve.json()["email"] == "eve@example.org" and "Idempotent-Replayed" not in eve.headers
    _not_leaked(eve, ada)


def test_the_same_caller_replaying_the_same_body_gets_the_same_answer(platform, admin, make_bank,
                                                                      worker_payload):
    api, bank_id = platform.api, make_bank()["bank"]["id"]
    body = worker_payload(bank_id)
    first = api.created("/v1/workers", body, headers=KEY)
    again = api.post("/v1/workers", body, headers=KEY)
    assert again.status_code == 201 and again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"

    _gateway_forgets(platform)  # identity's kept result answers the very same request
    retry = api.post("/v1/workers", body, headers=KEY)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first["id"]
    workers = api.get(f"/v1/workers?bank_id={bank_id}", token=admin)
    assert [w["id"] for w in workers.json()["items"]] == [first["id"]]  # registered once


def test_the_same_key_with_another_body_is_refused(platform, admin):
    api = platform.api
    key = {"Idempotency-Key": "bank-1"}
    first = api.created("/v1/banks", {"name": "First Bank"}, token=admin, headers=key)
    body = _problem(api.post("/v1/banks", {"name": "Other Bank"}, token=admin, headers=key),
                    422, "validation-error")
    assert body["errors"] == {"Idempotency-Key": ["Already used with a different body."]}

    _gateway_forgets(platform)  # and identity refuses it too
    response = api.post("/v1/banks", {"name": "Other Bank"}, token=admin, headers=key)
    body = _problem(response, 422, "validation-error")
    assert body["errors"] == {"Idempotency-Key": ["Already used with a different body."]}
    assert first["id"] not in response.text
    with engine_for(platform.configs["identity"]["DB_URL"]).connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM banks")).scalars().all()
    assert "First Bank" in names and "Other Bank" not in names
