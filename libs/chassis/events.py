"""The event envelope and the AMQP topology events travel through.

Topology (DESIGN.md "Events"):
- `<service>.events`: durable topic exchange per producer, routing key = event type,
  with alternate exchange `<service>.events.unrouted` (fanout) feeding the durable
  queue of the same name, so an event nobody is bound to yet is kept.
- Consumers: one quorum queue per handler, `<consumer service>.<method>`, dead-lettering
  to `staffbank.dead-letter` (direct) -> `<queue>.dead-letter`.
- Retries: `staffbank.retry.<ms>ms` fanout exchange + queue with that TTL; expired
  messages dead-letter to the default exchange with their own routing key, which is
  the consumer queue's name, so they land back where they failed.
"""

import uuid
from datetime import UTC, datetime

from kombu import Exchange, Queue
from marshmallow import RAISE, Schema, fields, validate

from chassis.context import current_correlation_id

DEAD_LETTER_EXCHANGE = "staffbank.dead-letter"

# Quorum queues that dead-letter at least once: the broker keeps a message until the
# dead-letter target confirms it (RabbitMQ >= 3.10), instead of fire-and-forget.
QUORUM_AT_LEAST_ONCE = {
    "x-queue-type": "quorum",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}
DEAD_LETTER_SUFFIX = ".dead-letter"


class EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    type = fields.Str(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    version = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.Str(required=True)
    correlation_id = fields.Str(required=True, allow_none=True)
    data = fields.Dict(required=True)


def new_envelope(event_type, data, producer, version=1, correlation_id=None, occurred_at=None):
    """The JSON-ready envelope of one event."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "producer": producer,
        "correlation_id": correlation_id or current_correlation_id(),
        "data": data,
    }


def unrouted_name(service):
    return f"{service}.events.unrouted"


def events_exchange(service):
    return Exchange(
        f"{service}.events",
        type="topic",
        durable=True,
        arguments={"alternate-exchange": unrouted_name(service)},
    )


def producer_topology(service):
    """Everything a producer declares at start: exchange, alternate exchange, unrouted queue."""
    unrouted_exchange = Exchange(unrouted_name(service), type="fanout", durable=True)
    return [
        unrouted_exchange,
        Queue(
            unrouted_name(service),
            exchange=unrouted_exchange,
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        ),
        events_exchange(service),
    ]


def dead_letter_queue(queue_name):
    exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
    return Queue(
        queue_name + DEAD_LETTER_SUFFIX,
        exchange=exchange,
        routing_key=queue_name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def retry_exchange(delay_seconds):
    return Exchange(f"staffbank.retry.{int(delay_seconds * 1000)}ms", type="fanout", durable=True)


def retry_queue(delay_seconds):
    exchange = retry_exchange(delay_seconds)
    return Queue(
        exchange.name,
        exchange=exchange,
        durable=True,
        queue_arguments={
            **QUORUM_AT_LEAST_ONCE,
            "x-message-ttl": int(delay_seconds * 1000),
            "x-dead-letter-exchange": "",  # back to the default exchange, same routing key
        },
    )


def declare(connection, entities):
    """Declare exchanges and queues (idempotent) on a fresh channel of `connection`."""
    channel = connection.channel()
    try:
        for entity in entities:
            entity.maybe_bind(channel)
            entity.declare()
    finally:
        channel.close()
