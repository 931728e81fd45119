"""Rule 1: state and events commit together; the relay publishes at least once."""

import pytest
import sqlalchemy as sa
from amqp.exceptions import ChannelError
from kombu import Connection, Queue
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.engines import engine_for
from chassis.events import unrouted_name
from chassis.outbox import event_publisher, publish_pending
from chassis.tables import outbox
from chassis.testing import poll
from chassis.tests.conftest import LedgerService, rows


def outbox_rows(db_url):
    with engine_for(db_url).connect() as conn:
        return conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings().all()


def test_a_unit_of_work_commits_state_and_event_together_or_neither(
    container_factory, make_config, ledger_db, event_tap
):
    tap = event_tap("ledger.events")
    container_factory(LedgerService, make_config(ledger_db)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        ledger.record("kept")
        with pytest.raises(RemoteError):
            ledger.record("rolled-back", fail_after_emit=True)

    assert [r["note"] for r in rows(ledger_db)] == ["kept"]
    assert [r["envelope"]["data"] for r in outbox_rows(ledger_db)] == [{"note": "kept"}]
    published = tap.messages(timeout=2)
    assert [m["data"]["note"] for m in published] == ["kept"]
    envelope = published[0]
    assert set(envelope) == {"event_id", "type", "version", "occurred_at", "producer",
                             "correlation_id", "data"}
    assert envelope["type"] == "entry.recorded" and envelope["producer"] == "ledger"


def test_events_committed_before_a_crash_are_published_when_the_service_returns(
    container_factory, make_config, ledger_db, event_tap
):
    tap = event_tap("ledger.events")
    # A service whose relay never runs: it commits, then "dies" before publishing.
    crashed = container_factory(LedgerService, make_config(ledger_db, OUTBOX_RELAY_ENABLED=False))
    crashed.start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        ledger.record("before-crash")
    crashed.kill()
    assert tap.messages(timeout=1) == []
    assert outbox_rows(ledger_db)[0]["published_at"] is None

    container_factory(LedgerService, make_config(ledger_db)).start()  # restart

    assert [m["data"]["note"] for m in tap.messages(timeout=5, count=1)] == ["before-crash"]
    poll(lambda: outbox_rows(ledger_db)[0]["published_at"] is not None, message="row marked sent")


class DiesAfterPublishing:
    """A publisher that publishes, then kills the relay before it can mark anything."""

    def __init__(self, real):
        self.real = real

    def publish(self, *args, **kwargs):
        self.real.publish(*args, **kwargs)
        raise SystemExit("relay killed after publish, before mark")


def test_a_crash_between_publish_and_mark_publishes_again_never_loses(
    container_factory, make_config, ledger_db, event_tap, rabbit_config
):
    tap = event_tap("ledger.events")
    container_factory(LedgerService, make_config(ledger_db, OUTBOX_RELAY_ENABLED=False)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        ledger.record("twice")
    engine = engine_for(ledger_db)
    publisher = event_publisher(rabbit_config["AMQP_URI"])

    with pytest.raises(SystemExit):
        publish_pending(engine, DiesAfterPublishing(publisher))
    assert outbox_rows(ledger_db)[0]["published_at"] is None  # the mark was rolled back

    assert publish_pending(engine, publisher) == 1
    assert outbox_rows(ledger_db)[0]["published_at"] is not None
    assert publish_pending(engine, publisher) == 0

    delivered = tap.messages(timeout=2)
    assert [m["data"]["note"] for m in delivered] == ["twice", "twice"]
    assert delivered[0]["event_id"] == delivered[1]["event_id"]  # consumers de-duplicate by this


def test_a_publish_the_broker_does_not_confirm_is_not_marked_sent(make_config, ledger_db, rabbit_config):
    engine = engine_for(ledger_db)
    with engine.begin() as conn:
        conn.execute(outbox.insert().values(
            event_id="00000000-0000-0000-0000-000000000001", exchange="no-such.events",
            event_type="entry.recorded", envelope={"event_id": "00000000-0000-0000-0000-000000000001"},
        ))
    with pytest.raises(ChannelError, match="NOT_FOUND|no exchange"):
        publish_pending(engine, event_publisher(rabbit_config["AMQP_URI"]))
    assert outbox_rows(ledger_db)[0]["published_at"] is None


def test_an_event_nobody_listens_to_is_kept_in_the_unrouted_queue(
    container_factory, make_config, ledger_db, rabbit_config
):
    container_factory(LedgerService, make_config(ledger_db)).start()
    with ServiceRpcProxy("ledger", make_config(ledger_db)) as ledger:
        ledger.record("nobody-listens")

    with Connection(rabbit_config["AMQP_URI"]) as conn:
        queue = Queue(unrouted_name("ledger"), channel=conn.default_channel, no_declare=True)
        message = poll(lambda: queue.get(no_ack=True), message="unrouted event")
    assert message.payload["data"] == {"note": "nobody-listens"}
