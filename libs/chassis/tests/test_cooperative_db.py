"""psycopg2 must yield to eventlet: two slow queries in two workers of one
service run at the same time, not one after the other."""

from nameko.standalone.rpc import ServiceRpcProxy

from chassis.tests.conftest import LedgerService


def test_two_slow_queries_in_two_workers_overlap(container_factory, make_config, ledger_db):
    container_factory(LedgerService, make_config(ledger_db)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as first, \
            ServiceRpcProxy("ledger", make_config(ledger_db)) as second:
        pending = [first.slow_query.call_async(0.8), second.slow_query.call_async(0.8)]
        (start_a, end_a), (start_b, end_b) = [reply.result() for reply in pending]

    # By the database's clock each query started before the other ended: both were in
    # flight together. A blocking driver stalls the hub, so the second query would reach
    # the server only after the first returned.
    assert start_b < end_a and start_a < end_b
