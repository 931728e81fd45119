"""chassis.metrics: what the handlers, RPC entrypoints and outbox relay record, read from the
process's registry as Prometheus would scrape it, and the runner serving it on METRICS_PORT."""

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client import REGISTRY

from chassis import metrics
from chassis.testing import poll
from chassis.tests.conftest import FAILING, AuditService, LedgerService
from chassis.tests.test_handlers import dead_letters, envelope, publish


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_handlers_rpcs_and_the_outbox_are_measured(container_factory, make_config, audit_db, ledger_db,
                                                    rabbit_config):
    audit = {"service": "audit", "handler": "on_entry_recorded"}
    before = {outcome: value("staffbank_messages_handled_total", **audit, outcome=outcome)
              for outcome in ("ok", "duplicate", "failed", "poison")}
    retries = value("staffbank_handler_retries_total", **audit)
    dead = value("staffbank_dead_letters_total", **audit)
    record_each = {"service": "ledger", "method": "record_each", "outcome": "ok"}
    calls = value("staffbank_rpc_seconds_count", **record_each)
    handled_seconds = value("staffbank_handler_seconds_count", **audit)

    container_factory(AuditService, make_config(audit_db, EVENT_RETRY_DELAYS=[0.1])).start()
    container_factory(LedgerService, make_config(ledger_db)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        assert ledger.record_each(["one", "two"]) == ["one", "two"]
    amqp = rabbit_config["AMQP_URI"]
    twice = envelope("twice")
    publish(amqp, twice)
    FAILING.add("broken")
    publish(amqp, envelope("broken"))
    publish(amqp, {"not": "an envelope"})
    poll(lambda: dead_letters(amqp) == 2, timeout=15, message="the broken and the poison dead-lettered")
    publish(amqp, twice)  # a redelivery: acked as a duplicate

    def handled(outcome):
        return value("staffbank_messages_handled_total", **audit, outcome=outcome) - before[outcome]

    poll(lambda: handled("duplicate") == 1 and handled("ok") == 3, message="every delivery counted")
    assert handled("failed") == 2 and handled("poison") == 1  # broken: its first attempt and its retry
    assert value("staffbank_handler_retries_total", **audit) - retries == 1
    assert value("staffbank_dead_letters_total", **audit) - dead == 2
    assert value("staffbank_handler_seconds_count", **audit) - handled_seconds == 6
    assert value("staffbank_rpc_seconds_count", **record_each) == calls + 1
    # the relay published ledger's two events: nothing waits in its outbox
    poll(lambda: REGISTRY.get_sample_value("staffbank_outbox_backlog", {"service": "ledger"}) == 0,
         message="the outbox backlog measured")
    assert value("staffbank_outbox_oldest_seconds", service="ledger") == 0


def test_a_process_serves_its_metrics_on_its_port(free_port):
    """What chassis.runner starts (tests/test_e2e_make_run.py scrapes every process of make run)."""
    assert metrics.serve({}, "audit") is None  # no METRICS_PORT: nothing served
    assert metrics.serve({"METRICS_PORT": free_port}, "audit") == free_port
    scraped = requests.get(f"http://127.0.0.1:{free_port}/metrics", timeout=5)
    assert scraped.status_code == 200 and "# TYPE staffbank_messages_handled_total counter" in scraped.text
