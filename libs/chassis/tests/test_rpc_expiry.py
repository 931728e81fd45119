"""Rule 7: an RPC request expires with its caller's timeout, so a service that comes back
after an outage does not act for callers who have gone."""

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy

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
