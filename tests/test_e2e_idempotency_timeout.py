"""An Idempotency-Key retry after the service was too slow to answer creates nothing twice
(DESIGN.md rule 5: a crash or timeout duplicates no effect)."""

import eventlet
import pytest
import sqlalchemy as sa

from chassis.engines import engine_for


@pytest.fixture
def gateway_overrides():
    return {"RPC_TIMEOUT_SECONDS": 1, "IDEMPOTENCY_CLAIM_TIMEOUT": 3}


def _banks_named(db_url, name):
    with engine_for(db_url).connect() as conn:
        return conn.execute(sa.text("SELECT id FROM banks WHERE name = :n"), {"n": name}).scalars().all()


def test_a_retry_after_a_timeout_returns_what_the_slow_first_attempt_created(platform, admin):
    api, identity_db = platform.api, platform.configs["identity"]["DB_URL"]
    headers = {"Idempotency-Key": "slow-bank-1"}
    blocker = engine_for(identity_db).connect()
    blocker.execute(sa.text("LOCK TABLE banks IN EXCLUSIVE MODE"))  # inserts wait; reads do not
    try:
        first = api.post("/v1/banks", {"name": "Slow Bank"}, token=admin, headers=headers)
        assert first.status_code == 503, first.text
        assert first.json()["type"] == "/problems/service-unavailable"
        early = api.post("/v1/banks", {"name": "Slow Bank"}, token=admin, headers=headers)
        assert early.status_code == 409  # the first attempt's outcome is not known yet
    finally:
        blocker.rollback()  # the slow first attempt now completes and commits
        blocker.close()

    created = _poll_banks(identity_db, "Slow Bank")
    eventlet.sleep(3)  # the gateway's claim goes stale
    retry = api.post("/v1/banks", {"name": "Slow Bank"}, token=admin, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == created[0]
    again = api.post("/v1/banks", {"name": "Slow Bank"}, token=admin, headers=headers)
    assert again.json()["id"] == created[0] and again.headers["Idempotent-Replayed"] == "true"
    assert _banks_named(identity_db, "Slow Bank") == created  # exactly one bank


def _poll_banks(db_url, name):
    for _ in range(100):
        found = _banks_named(db_url, name)
        if found:
            return found
        eventlet.sleep(0.05)
    raise AssertionError("the first attempt never committed")
