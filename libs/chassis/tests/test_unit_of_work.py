"""Inside an RPC the call is the transaction: units of work are savepoints, the call
commits once at its end, the same with or without an idempotency key."""

import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.db import IDEMPOTENCY_KEY
from chassis.errors import Conflict
from chassis.tests.conftest import LedgerService, rows
from chassis.tests.test_outbox import outbox_rows


@pytest.mark.parametrize("with_key", [False, True])
def test_several_units_of_work_in_one_call_each_undo_only_themselves(
    container_factory, make_config, ledger_db, event_tap, with_key
):
    tap = event_tap("ledger.events")
    container_factory(LedgerService, make_config(ledger_db)).start()
    context = {IDEMPOTENCY_KEY: uuid.uuid4().hex} if with_key else {}
    with ServiceRpcProxy("ledger", make_config(ledger_db), context_data=context) as ledger:
        assert ledger.record_each(["one", "bad-two", "three"]) == ["one", "three"]
        if with_key:  # the same key and request answer with the first result and record nothing more
            assert ledger.record_each(["one", "bad-two", "three"]) == ["one", "three"]

    assert sorted(r["note"] for r in rows(ledger_db)) == ["one", "three"]
    assert sorted(r["envelope"]["data"]["note"] for r in outbox_rows(ledger_db)) == ["one", "three"]
    assert sorted(m["data"]["note"] for m in tap.messages(timeout=3, count=2)) == ["one", "three"]


def test_a_call_that_raises_keeps_what_its_finished_units_of_work_did(
    container_factory, make_config, ledger_db
):
    """As outside a call (a login failure is recorded, then refused): no hidden mode."""
    container_factory(LedgerService, make_config(ledger_db)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        with pytest.raises(Conflict, match="refused after recording"):
            ledger.record_each(["kept"], raise_after=True)
    assert [r["note"] for r in rows(ledger_db)] == ["kept"]
