"""Rules 2 and 3: a redelivered event changes nothing; a failing handler retries
with backoff, then dead-letters, and an operator can replay it."""

import uuid
from datetime import UTC, datetime

from kombu import Connection, Queue
from nameko.amqp.publish import Publisher

import contracts
from chassis import deadletters
from chassis.engines import engine_for
from chassis.events import DEAD_LETTER_SUFFIX, events_exchange
from chassis.handlers import ATTEMPT_HEADER, ERROR_HEADER, event_handler
from chassis.service import StaffbankService
from chassis.tables import inbox
from chassis.testing import poll
from chassis.tests.conftest import (
    FAIL_ONCE,
    FAILING,
    HANDLER_CALLS,
    AuditService,
    EntryRecorded,
    entries,
    rows,
)

QUEUE = "audit.on_entry_recorded"


def envelope(note, event_id=None, **overrides):
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": "entry.recorded",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "ledger",
        "correlation_id": "corr-" + note,
        "data": {"note": note},
        **overrides,
    }


def publish(amqp_uri, body):
    Publisher(amqp_uri).publish(body, exchange=events_exchange("ledger"), routing_key="entry.recorded")


def dead_letters(amqp_uri):
    with Connection(amqp_uri) as conn:
        queue = Queue(QUEUE + DEAD_LETTER_SUFFIX, channel=conn.default_channel, no_declare=True)
        return queue.queue_declare(passive=True).message_count


def test_a_redelivered_event_changes_nothing(container_factory, make_config, audit_db, rabbit_config):
    container_factory(AuditService, make_config(audit_db)).start()
    event = envelope("once")
    publish(rabbit_config["AMQP_URI"], event)
    poll(lambda: rows(audit_db), message="first delivery applied")
    publish(rabbit_config["AMQP_URI"], event)  # the broker redelivers the same event
    poll(lambda: len(HANDLER_CALLS) == 2, message="second delivery handled")

    assert [(r["note"], r["event_id"]) for r in rows(audit_db)] == [("once", event["event_id"])]
    assert len(rows(audit_db, inbox)) == 1
    assert dead_letters(rabbit_config["AMQP_URI"]) == 0


def test_concurrent_duplicates_apply_once(container_factory, make_config, audit_db, rabbit_config):
    container_factory(AuditService, make_config(audit_db)).start()
    event = envelope("slow-duplicate")
    for _ in range(5):
        publish(rabbit_config["AMQP_URI"], event)
    poll(lambda: len(HANDLER_CALLS) == 5, message="all five deliveries handled")
    poll(lambda: rows(audit_db), message="effect applied")

    assert len(rows(audit_db)) == 1


def test_a_handler_that_fails_once_succeeds_on_retry(container_factory, make_config, audit_db, rabbit_config):
    FAIL_ONCE.add("flaky")
    container_factory(AuditService, make_config(audit_db)).start()
    publish(rabbit_config["AMQP_URI"], envelope("flaky"))

    poll(lambda: rows(audit_db), message="the retry to apply the effect")
    assert [n for n, _ in HANDLER_CALLS] == ["flaky", "flaky"]
    assert dead_letters(rabbit_config["AMQP_URI"]) == 0


def test_a_handler_that_always_fails_is_dead_lettered_after_its_retries_and_can_be_replayed(
    container_factory, make_config, audit_db, rabbit_config
):
    amqp_uri = rabbit_config["AMQP_URI"]
    FAILING.add("broken")
    container_factory(AuditService, make_config(audit_db, EVENT_RETRY_DELAYS=[0.1, 0.3])).start()
    event = envelope("broken")
    publish(amqp_uri, event)

    poll(lambda: dead_letters(amqp_uri) == 1, message="the message in the dead-letter queue")
    assert len(HANDLER_CALLS) == 3  # the first attempt and one per retry delay
    assert rows(audit_db) == []
    [shown] = deadletters.show(amqp_uri, QUEUE, limit=10)
    assert shown["event_id"] == event["event_id"]
    assert shown["attempts"] == 3 and "handler broke on broken" in shown["error"]
    assert dead_letters(amqp_uri) == 1  # showing consumes nothing

    FAILING.discard("broken")  # the operator fixes the cause, then replays
    assert deadletters.replay(amqp_uri, QUEUE) == [event["event_id"]]

    [applied] = poll(lambda: rows(audit_db), message="the replayed event applied")
    assert applied["event_id"] == event["event_id"]
    assert dead_letters(amqp_uri) == 0


def test_a_replayed_message_gets_a_fresh_attempt_count(
    container_factory, make_config, audit_db, rabbit_config
):
    amqp_uri = rabbit_config["AMQP_URI"]
    FAILING.add("stubborn")
    container_factory(AuditService, make_config(audit_db, EVENT_RETRY_DELAYS=[0.1])).start()
    event = envelope("stubborn")
    publish(amqp_uri, event)
    poll(lambda: dead_letters(amqp_uri) == 1, message="dead letter")

    with Connection(amqp_uri) as conn:  # the headers a replay must reset
        message = Queue(QUEUE + DEAD_LETTER_SUFFIX, channel=conn.default_channel, no_declare=True).get()
        assert message.headers[ATTEMPT_HEADER] == 2 and message.headers[ERROR_HEADER]
        message.requeue()

    other = envelope("also-dead")
    FAILING.add("also-dead")
    publish(amqp_uri, other)
    poll(lambda: dead_letters(amqp_uri) == 2, message="second dead letter")

    assert deadletters.replay(amqp_uri, QUEUE, event_ids=[event["event_id"]]) == [event["event_id"]]
    poll(lambda: [n for n, _ in HANDLER_CALLS].count("stubborn") == 4, message="two fresh attempts")
    poll(lambda: dead_letters(amqp_uri) == 2, message="dead-lettered again; the other one left alone")


def test_poison_messages_go_straight_to_the_dead_letters(
    container_factory, make_config, audit_db, rabbit_config
):
    container_factory(AuditService, make_config(audit_db)).start()
    publish(rabbit_config["AMQP_URI"], {"not": "an envelope"})
    publish(rabbit_config["AMQP_URI"], envelope("future", version=9))
    publish(rabbit_config["AMQP_URI"], envelope("bad-data", data={"note": 42}))

    poll(lambda: dead_letters(rabbit_config["AMQP_URI"]) == 3, message="three poison messages")
    assert HANDLER_CALLS == []
    errors = " | ".join(s["error"] for s in deadletters.show(rabbit_config["AMQP_URI"], QUEUE, 10))
    assert "malformed envelope" in errors
    assert "entry.recorded v9 not accepted" in errors
    assert "breaks the entry.recorded contract" in errors


def test_the_correlation_id_travels_from_rpc_through_the_event_to_the_handler(
    container_factory, make_config, ledger_db, audit_db
):
    from nameko.standalone.rpc import ClusterRpcProxy

    from chassis.tests.conftest import LedgerService

    container_factory(LedgerService, make_config(ledger_db)).start()
    container_factory(AuditService, make_config(audit_db)).start()
    with ClusterRpcProxy(make_config(ledger_db), context_data={"correlation_id": "req-42"}) as cluster:
        cluster.ledger.record("traced")

    [applied] = poll(lambda: rows(audit_db), message="handler applied")
    assert applied["correlation_id"] == "req-42"
    assert rows(ledger_db)[0]["correlation_id"] == "req-42"


def test_inbox_rows_name_the_consumer(container_factory, make_config, audit_db, rabbit_config):
    container_factory(AuditService, make_config(audit_db)).start()
    event = envelope("named")
    publish(rabbit_config["AMQP_URI"], event)
    poll(lambda: rows(audit_db, inbox), message="inbox row")
    with engine_for(audit_db).connect() as conn:
        consumers = conn.execute(inbox.select()).mappings().all()
    assert [(c["consumer"], str(c["event_id"])) for c in consumers] == [(QUEUE, event["event_id"])]


def test_when_a_failed_message_cannot_be_republished_the_service_lives_and_nothing_is_lost(
    container_factory, make_config, audit_db, rabbit_config
):
    amqp_uri = rabbit_config["AMQP_URI"]
    FAILING.add("unlucky")
    container = container_factory(AuditService, make_config(audit_db, EVENT_RETRY_DELAYS=[0.1]))
    container.start()
    with Connection(amqp_uri) as conn:  # the retry route breaks: republishing now fails
        conn.default_channel.exchange_delete("staffbank.retry.100ms")
    publish(amqp_uri, envelope("unlucky"))

    # The message goes back to its queue each time; the broker's delivery limit finally
    # dead-letters it. The container kept running throughout.
    poll(lambda: dead_letters(amqp_uri) == 1, timeout=20, message="dead-lettered by the delivery limit")
    assert len(HANDLER_CALLS) > 1
    assert not container._died.ready()
    assert deadletters.show(amqp_uri, QUEUE, 1)[0]["error"].startswith("broker dead-lettered")


class AuditTwoTypesService(StaffbankService):
    """One handler, one queue, two event types (a read model applying each fact alike)."""

    name = "audit"

    @event_handler("ledger", ("entry.recorded", "entry.voided"))
    def on_entry(self, event):
        HANDLER_CALLS.append((event.type, event.event_id))
        with self.db.unit_of_work() as uow:
            uow.session.execute(entries.insert().values(note=f"{event.type}:{event.data['note']}",
                                                        event_id=event.event_id))


def test_one_handler_may_take_several_types_on_one_queue(container_factory, make_config, audit_db,
                                                          rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    contracts.CATALOGUE[("entry.voided", 1)] = ("ledger", EntryRecorded)
    try:
        container_factory(AuditTwoTypesService, make_config(audit_db)).start()
        recorded, voided = envelope("a"), envelope("b", type="entry.voided")
        publish(amqp_uri, recorded)
        Publisher(amqp_uri).publish(voided, exchange=events_exchange("ledger"), routing_key="entry.voided")
        Publisher(amqp_uri).publish(voided, exchange=events_exchange("ledger"), routing_key="entry.voided")
        # A message of another type reaching the queue (here by its own name) is poison.
        Publisher(amqp_uri).publish(envelope("c", type="entry.other"), routing_key="audit.on_entry")
        poll(lambda: len(rows(audit_db)) == 2 and len(HANDLER_CALLS) == 3, message="both types applied once")
        assert sorted(r["note"] for r in rows(audit_db)) == ["entry.recorded:a", "entry.voided:b"]
        with Connection(amqp_uri) as conn:
            dead = Queue("audit.on_entry" + DEAD_LETTER_SUFFIX, channel=conn.default_channel, no_declare=True)
            poll(lambda: dead.queue_declare(passive=True).message_count == 1, message="the stray type")
    finally:
        contracts.CATALOGUE.pop(("entry.voided", 1), None)


def test_an_ack_on_a_connection_the_broker_just_dropped_does_not_kill_the_service(
    container_factory, make_config, audit_db, rabbit_config
):
    """Found by `make soak`: the handler's work committed, then its ack met a reset connection;
    the error killed the container. Now it is logged, the broker delivers the message again and
    the inbox makes that a no-op."""
    container = container_factory(AuditService, make_config(audit_db))
    container.start()
    handler = next(e for e in container.entrypoints if getattr(e, "consumer_name", None) == QUEUE)
    consumer = handler.queue_consumer
    acks = []

    def ack_on_a_dropped_connection(message):
        acks.append(message)
        if len(acks) == 1:
            consumer.requeue_message(message)  # what the broker does with an unacked message
            raise ConnectionResetError(104, "Connection reset by peer")
        type(consumer).ack_message(consumer, message)

    consumer.ack_message = ack_on_a_dropped_connection
    event = envelope("acked-late")
    publish(rabbit_config["AMQP_URI"], event)
    poll(lambda: len(HANDLER_CALLS) == 2, message="delivered again after the lost ack")
    poll(lambda: len(acks) == 2, message="the second delivery acked")

    assert not container._died.ready()
    assert [(r["note"], r["event_id"]) for r in rows(audit_db)] == [("acked-late", event["event_id"])]
    assert dead_letters(rabbit_config["AMQP_URI"]) == 0
