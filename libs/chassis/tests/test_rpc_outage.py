"""Rule 7 for RPC: a reply that cannot be published does not take the service down, and a
request the broker delivers again (its ack lost with the connection) does not act twice."""

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.faults import FaultProxy
from chassis.testing import poll
from chassis.tests.conftest import LedgerService, rows


@pytest.fixture
def proxy():
    proxy = FaultProxy("127.0.0.1", 5672).start()
    yield proxy
    proxy.stop()


def test_a_request_redelivered_after_the_connection_dropped_is_answered_not_run_again(
    proxy, container_factory, make_config, ledger_db
):
    config = make_config(ledger_db)
    ledger = container_factory(LedgerService, {**config, "AMQP_URI": proxy.uri(config["AMQP_URI"])})
    ledger.start()
    with ServiceRpcProxy("ledger", config, timeout=30) as caller:  # the caller's own connection stays
        reply = caller.record_slowly.call_async("once", 1.5)
        eventlet.sleep(0.5)
        proxy.cut()  # the service loses the connection its request came on, mid-call
        eventlet.sleep(0.5)
        proxy.restore()
        assert reply.result() == "once"  # answered, by the first run's reply or by the second
    poll(lambda: not ledger._died.ready() and rows(ledger_db), message="the service still up")
    eventlet.sleep(2)  # the redelivered request has been handled by now
    assert [r["note"] for r in rows(ledger_db)] == ["once"]
    assert not ledger._died.ready()
    ledger.stop()  # while its broker connection still stands (a stop with none cannot finish)
