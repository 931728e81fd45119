"""The event handler every service uses: idempotent, retrying, dead-lettering.

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):       # event: chassis.handlers.Event
        with self.db.unit_of_work() as uow:      # claims (consumer, event_id) first
            ...

- Queue: `<service>.<method>`, a durable quorum queue bound to `<source>.events`
  with the event type as routing key. Its `x-delivery-limit` bounds crash loops
  (a message whose handling kills the process is redelivered, counted, and
  finally dead-lettered by the broker). A handler may take several types of one
  source, `@event_handler("shifts", ("shift.booked", "shift.cancelled"))`: one
  queue bound once per type (and one dead-letter queue), where a read model that
  applies every fact the same way would otherwise need a pair of queues per type.
- Idempotency: the handler's unit of work inserts `(consumer, event_id)` into the
  inbox in the same transaction as its effects; a redelivery finds it and the
  message is acked as done without running the effects again.
- Failure: the message is re-published to the retry exchange for the next delay
  of `EVENT_RETRY_DELAYS` (default 1, 5, 30, 120 s) with an attempt counter in
  its headers and the original acked; after the last delay it is published to
  `<queue>.dead-letter` with the error in its headers. Re-publishing uses
  publisher confirms before the ack, so a crash in between can only duplicate a
  delivery, never lose it. Malformed envelopes, versions the handler does not
  accept and data that fail the event's contract go straight to the dead letters.
- Contract: `event.data` is loaded with the event's contract from `contracts/` (the
  schema its producer validated it against when emitting), for the version the
  envelope carries; `data_schema=` overrides it (a consumer that reads a subset).
  A type and version with no contract at all is a poison message.
"""

import functools
import logging
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from kombu import Connection, Queue, binding
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

import contracts
from chassis import broker, metrics
from chassis.context import CORRELATION_KEY
from chassis.db import AlreadyHandled
from chassis.events import (
    DEAD_LETTER_EXCHANGE,
    QUORUM_AT_LEAST_ONCE,
    EnvelopeSchema,
    dead_letter_queue,
    declare,
    events_exchange,
    producer_topology,
    retry_exchange,
    retry_queue,
)

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-staffbank-attempt"
ERROR_HEADER = "x-staffbank-error"
QUEUE_HEADER = "x-staffbank-queue"
DELIVERY_LIMIT = 20

_envelope_schema = EnvelopeSchema()


@functools.cache
def _loader(schema_cls):
    """One instance per data schema: building one per message cost every event handled."""
    return schema_cls()


@dataclass(frozen=True)
class Event:
    """A consumed event: the envelope's fields, with `data` as published."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    producer: str
    correlation_id: str | None
    data: dict


class PoisonMessage(Exception):
    """A message no retry can fix (malformed, unknown version, breaks its contract)."""


class EventHandler(Consumer):
    def __init__(self, source_service, event_type, versions=(1,), data_schema=None, **kwargs):
        self.source_service = source_service
        self.event_types = (event_type,) if isinstance(event_type, str) else tuple(event_type)
        self.versions = tuple(versions)
        self.data_schema = data_schema  # None: the event's contract (contracts.schema_for)
        kwargs.setdefault("expected_exceptions", (AlreadyHandled,))
        super().__init__(queue=None, **kwargs)

    @property
    def consumer_name(self):
        return f"{self.container.service_name}.{self.method_name}"

    def inbox_key(self, worker_ctx):
        """Read by the unit of work: the idempotency key of this worker's event."""
        return self.consumer_name, worker_ctx.args[0].event_id

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.retry_delays = list(config.get("EVENT_RETRY_DELAYS") or [1, 5, 30, 120])
        name = self.consumer_name
        exchange = events_exchange(self.source_service)
        self.queue = Queue(
            name,
            bindings=[binding(exchange, routing_key=event_type) for event_type in self.event_types],
            durable=True,
            queue_arguments={
                **QUORUM_AT_LEAST_ONCE,
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": name,
            },
        )
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, mandatory=True)
        with Connection(self.amqp_uri) as connection:
            declare(
                connection,
                producer_topology(self.source_service)
                + [dead_letter_queue(name)]
                + [retry_queue(delay) for delay in self.retry_delays]
                + [self.queue],
            )
        super().setup()

    @property
    def max_attempts(self):
        return len(self.retry_delays) + 1

    def parse(self, body):
        try:
            envelope = _envelope_schema.load(body)
        except ValidationError as exc:
            raise PoisonMessage(f"malformed envelope: {exc.messages}") from exc
        if envelope["type"] not in self.event_types:
            raise PoisonMessage(f"{envelope['type']} is not handled here (takes {self.event_types})")
        if envelope["version"] not in self.versions:
            raise PoisonMessage(
                f"{envelope['type']} v{envelope['version']} not accepted (knows {self.versions})"
            )
        schema = self.data_schema or contracts.schema_for(envelope["type"], envelope["version"])
        if schema is None:
            raise PoisonMessage(f"no contract for {envelope['type']} v{envelope['version']}")
        try:
            data = _loader(schema).load(envelope["data"])
        except ValidationError as exc:
            raise PoisonMessage(f"data breaks the {envelope['type']} contract: {exc.messages}") from exc
        envelope["event_id"] = str(envelope["event_id"])
        envelope["data"] = data
        return Event(**envelope)

    def handle_message(self, body, message):
        try:
            event = self.parse(body)
        except PoisonMessage as exc:
            reason = str(exc)
            log.error("dead-lettering poison message on %s: %s", self.consumer_name, reason)
            self._count("poison")
            self.settle(message, lambda: self.dead_letter(body, message, reason))
            return
        context_data = self.unpack_message_headers(message)
        context_data[CORRELATION_KEY] = event.correlation_id
        try:
            self.container.spawn_worker(
                self,
                (event,),
                {},
                context_data=context_data,
                handle_result=partial(self.handle_result, message, time.perf_counter()),
            )
        except ContainerBeingKilled:
            broker.settle(self.queue_consumer.requeue_message, message, "requeue")

    def handle_result(self, message, started, worker_ctx, result=None, exc_info=None):
        labels = {"service": self.container.service_name, "handler": self.method_name}
        metrics.HANDLER_SECONDS.labels(**labels).observe(time.perf_counter() - started)
        if exc_info is not None and isinstance(exc_info[1], AlreadyHandled):
            log.info("duplicate %s ignored by %s", worker_ctx.args[0].event_id, self.consumer_name)
            self._count("duplicate")
            broker.settle(self.queue_consumer.ack_message, message, "ack")
            return None, None
        if exc_info is None:
            self._count("ok")
            broker.settle(self.queue_consumer.ack_message, message, "ack")
        else:
            self._count("failed")
            self.settle(message, lambda: self.retry_or_dead_letter(message, exc_info))
        return result, exc_info

    def _count(self, outcome):
        metrics.MESSAGES_HANDLED.labels(self.container.service_name, self.method_name, outcome).inc()

    def settle(self, message, republish):
        """Ack only once the copy (retry or dead letter) is confirmed by the broker. If it
        cannot be, give the message back to the queue: never lose it, never kill the service."""
        try:
            republish()
        except Exception:
            log.exception("%s could not re-publish a failed message; returning it to its queue",
                          self.consumer_name)
            broker.settle(self.queue_consumer.requeue_message, message, "requeue")
            return
        broker.settle(self.queue_consumer.ack_message, message, "ack")

    def retry_or_dead_letter(self, message, exc_info):
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if attempt < self.max_attempts:
            delay = self.retry_delays[attempt - 1]
            log.warning(
                "%s failed attempt %d/%d (%s); retrying in %ss",
                self.consumer_name, attempt, self.max_attempts, error, delay,
            )
            self._republish(
                message.payload, message, retry_exchange(delay).name, {ATTEMPT_HEADER: attempt + 1}
            )
            metrics.RETRIES.labels(self.container.service_name, self.method_name).inc()
        else:
            log.error("%s gave up after %d attempts: %s", self.consumer_name, attempt, error)
            self.dead_letter(message.payload, message, error, attempt)

    def dead_letter(self, body, message, error, attempt=1):
        self._republish(
            body, message, DEAD_LETTER_EXCHANGE,
            {ERROR_HEADER: error[:2000], ATTEMPT_HEADER: attempt, QUEUE_HEADER: self.consumer_name},
        )
        metrics.DEAD_LETTERS.labels(self.container.service_name, self.method_name).inc()

    def _republish(self, body, message, exchange, extra_headers):
        headers = dict(message.headers or {})
        headers.update(extra_headers)
        self.publisher.publish(
            body,
            exchange=exchange,
            routing_key=self.consumer_name,
            headers=headers,
            message_id=message.properties.get("message_id"),
            type=message.properties.get("type"),
        )


class BroadcastHandler(EventHandler):
    """Every process of a service hears each event (`@broadcast_handler("identity", "user.deactivated")`),
    for what a process keeps in memory and must drop when a fact changes (the gateway's caches).

    Its queue is the process's own (`<service>.<method>.<random>`, exclusive, deleted with the
    connection): nothing piles up for a process that is gone. Nothing is retried or dead-lettered:
    the handler must be cheap and idempotent, and what it keeps must also expire on its own, since
    an event published while the process was disconnected never reaches it."""

    @property
    def consumer_name(self):
        return f"{self.container.service_name}.{self.method_name}.{self._instance}"

    def setup(self):
        self._instance = uuid.uuid4().hex[:12]
        name = self.consumer_name
        self.queue = Queue(
            name,
            bindings=[binding(events_exchange(self.source_service), routing_key=event_type)
                      for event_type in self.event_types],
            durable=False, exclusive=True, auto_delete=True,
        )
        with Connection(self.container.config["AMQP_URI"]) as connection:
            declare(connection, producer_topology(self.source_service))
        Consumer.setup(self)

    def handle_message(self, body, message):
        try:
            event = self.parse(body)
        except PoisonMessage as exc:
            log.error("ignoring a malformed broadcast on %s: %s", self.consumer_name, exc)
            broker.settle(self.queue_consumer.ack_message, message, "ack")
            return
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=self.unpack_message_headers(message),
                handle_result=partial(self.handle_result, message, time.perf_counter()))
        except ContainerBeingKilled:
            broker.settle(self.queue_consumer.requeue_message, message, "requeue")

    def handle_result(self, message, started, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            log.error("%s failed on a broadcast (not retried): %s", self.consumer_name, exc_info[1])
        self._count("ok" if exc_info is None else "failed")
        broker.settle(self.queue_consumer.ack_message, message, "ack")
        return result, exc_info


event_handler = EventHandler.decorator
broadcast_handler = BroadcastHandler.decorator
