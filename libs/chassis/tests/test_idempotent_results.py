"""A result kept under an idempotency key answers only the request it was kept for (the same
caller, named by the key, and body, as the gateway hashes it; or else the same arguments), and only for
IDEMPOTENCY_RETENTION_HOURS: a reused key never hands someone else's result over."""

import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.db import IDEMPOTENCY_KEY, IDEMPOTENCY_REQUEST, request_hash
from chassis.engines import engine_for
from chassis.errors import Invalid
from chassis.outbox import prune
from chassis.tables import request_results
from chassis.tests.conftest import LedgerService, rows


def _call(config, notes, key, request=None):
    context = {IDEMPOTENCY_KEY: key}
    if request is not None:
        context[IDEMPOTENCY_REQUEST] = request
    with ServiceRpcProxy("ledger", config, context_data=context) as ledger:
        return ledger.record_each(notes)


def _age(db_url, hours):
    with engine_for(db_url).begin() as conn:
        conn.execute(request_results.update().values(
            created_at=sa.func.now() - sa.func.make_interval(0, 0, 0, 0, hours)))


@pytest.fixture
def ledger(container_factory, make_config, ledger_db):
    config = make_config(ledger_db)
    container_factory(LedgerService, config).start()
    return config


def _refused(excinfo):
    assert excinfo.value.errors == {"Idempotency-Key": ["Already used with a different body."]}


def test_a_kept_result_is_not_replayed_for_another_caller_or_body(ledger, ledger_db):
    key = uuid.uuid4().hex
    ada, eve = request_hash(None, {"email": "ada@example.org"}), request_hash(None, {"email": "eve@x.org"})
    assert _call(ledger, ["ada's"], key, ada) == ["ada's"]
    assert _call(ledger, ["ada's"], key, ada) == ["ada's"]  # the same request: the same answer

    with pytest.raises(Invalid) as refused:  # the same key, another request: refused, not answered
        _call(ledger, ["eve's"], key, eve)
    _refused(refused)
    with pytest.raises(Invalid):  # even with the very arguments the first call had
        _call(ledger, ["ada's"], key, eve)
    assert [r["note"] for r in rows(ledger_db)] == ["ada's"]  # and nothing was done for it


def test_without_the_gateway_s_hash_the_arguments_bind_the_result(ledger, ledger_db):
    key = uuid.uuid4().hex
    assert _call(ledger, ["one"], key) == ["one"]
    assert _call(ledger, ["one"], key) == ["one"]
    with pytest.raises(Invalid) as refused:
        _call(ledger, ["two"], key)
    _refused(refused)
    assert [r["note"] for r in rows(ledger_db)] == ["one"]


def test_a_result_older_than_the_retention_is_forgotten_and_the_key_acts_anew(
    container_factory, make_config, ledger_db
):
    config = make_config(ledger_db, IDEMPOTENCY_RETENTION_HOURS=2)
    container_factory(LedgerService, config).start()
    key, request = uuid.uuid4().hex, request_hash(None, {"note": "first"})
    assert _call(config, ["first"], key, request) == ["first"]
    _age(ledger_db, 1)
    assert _call(config, ["first"], key, request) == ["first"]  # still kept: answered, not redone
    assert [r["note"] for r in rows(ledger_db)] == ["first"]

    _age(ledger_db, 3)  # past IDEMPOTENCY_RETENTION_HOURS, not yet pruned
    other = request_hash(None, {"note": "second"})
    assert _call(config, ["second"], key, other) == ["second"]  # a new request, not someone's result
    assert _call(config, ["second"], key, other) == ["second"]  # kept again, for the new request
    assert sorted(r["note"] for r in rows(ledger_db)) == ["first", "second"]


def test_a_result_kept_before_requests_were_recorded_is_never_replayed(ledger, ledger_db):
    key = uuid.uuid4().hex
    with engine_for(ledger_db).begin() as conn:  # as the chassis kept it before migration 0003
        conn.execute(request_results.insert().values(key=f"record_each:{key}", result=["someone's"]))
    with pytest.raises(Invalid):
        _call(ledger, ["mine"], key, request_hash(None, {"note": "mine"}))


def test_pruning_keeps_results_for_the_retention_only(ledger, ledger_db):
    _call(ledger, ["old"], "old-key")
    _age(ledger_db, 30)
    _call(ledger, ["new"], "new-key")
    prune(engine_for(ledger_db), 24)
    with engine_for(ledger_db).connect() as conn:
        assert conn.execute(sa.select(request_results.c.key)).scalars().all() == ["record_each:new-key"]
