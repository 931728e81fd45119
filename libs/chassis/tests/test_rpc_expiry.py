"""Rule 7: an RPC request expires with its caller's timeout, so a service that comes back
after an outage does not act for callers who have gone."""

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.rpc import ServiceRpc
from chassis.tests.conftest import CallerService, LedgerService, rows


def test_a_request_queued_past_its_callers_timeout_is_never_run(container_factory, make_config, ledger_db):
    config = make_config(ledger_db)
    ledger = container_factory(LedgerService, config)
    ledger.start()
    ledger.stop()  # ledger is down; its request queue stays
    container_factory(CallerService, config).start()
    with ServiceRpcProxy("caller", config) as caller:
        caller.ask_ledger("expired")
    eventlet.sleep(1.0)  # past the request's 0.5 s
    container_factory(LedgerService, config).start()  # ledger is back
    with ServiceRpcProxy("caller", config) as caller:
        caller.ask_ledger("fresh")
    for _ in range(50):
        if rows(ledger_db):
            break
        eventlet.sleep(0.1)
    eventlet.sleep(0.3)
    assert [r["note"] for r in rows(ledger_db)] == ["fresh"]


def test_a_reply_acked_on_a_connection_the_broker_just_dropped_does_not_kill_the_caller(
        container_factory, make_config, ledger_db):
    """Found by `make soak`: an RPC reply's ack met a reset connection and the error killed the
    calling service's container."""
    config = make_config(ledger_db)
    container_factory(LedgerService, config).start()
    caller = container_factory(CallerService, config)
    caller.start()
    listener = next(d for d in caller.dependencies if isinstance(d, ServiceRpc)).rpc_reply_listener
    consumer, acks = listener.queue_consumer, []  # the container's one consumer: requests, replies

    def ack_on_a_dropped_connection(message):
        if message.delivery_info["routing_key"].startswith("caller."):
            return type(consumer).ack_message(consumer, message)  # a request to caller itself
        acks.append(message)  # a reply to caller's call
        raise ConnectionResetError(104, "Connection reset by peer")

    consumer.ack_message = ack_on_a_dropped_connection
    with ServiceRpcProxy("caller", config) as proxy:
        proxy.ask_ledger("replied")
    for _ in range(50):
        if acks:
            break
        eventlet.sleep(0.1)
    eventlet.sleep(2.0)  # a container killed by the error takes a moment to be dead
    assert acks and [r["note"] for r in rows(ledger_db)] == ["replied"]
    assert not caller._died.ready()
