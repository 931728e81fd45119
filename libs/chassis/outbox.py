"""The outbox relay: publishes committed outbox rows, then marks them sent.

At-least-once: rows are locked (`FOR UPDATE SKIP LOCKED`, so replicas share the
work without publishing a row twice at once), published with publisher confirms
and `mandatory`, and marked in the same transaction. A crash after publishing but
before the commit leaves the rows unmarked and they are published again on the
next pass; consumers de-duplicate by `event_id`. Nothing is ever marked sent that
the broker did not confirm.
"""

import logging
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.extensions import SharedExtension

from chassis import metrics
from chassis.config import idempotency_retention_hours
from chassis.engines import engine_for
from chassis.events import declare, producer_topology
from chassis.loops import BackgroundLoop
from chassis.tables import inbox, outbox, request_results

log = logging.getLogger(__name__)

BATCH_SIZE = 200
POLL_INTERVAL = 1.0  # seconds between sweeps when nobody wakes the relay
HOUSEKEEPING_INTERVAL = 3600
OUTBOX_RETENTION_DAYS = 7
INBOX_RETENTION_DAYS = 90  # replaying a dead letter older than this could apply it twice


def event_publisher(amqp_uri):
    return Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer="json")


def publish_pending(engine, publisher, batch_size=BATCH_SIZE):
    """Publish one batch of unsent rows in id order; return how many were sent."""
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(outbox.c.id, outbox.c.exchange, outbox.c.event_type, outbox.c.envelope)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            publisher.publish(
                row.envelope,
                exchange=row.exchange,
                routing_key=row.event_type,
                message_id=row.envelope["event_id"],
                type=row.event_type,
                headers={"correlation_id": row.envelope.get("correlation_id")},
            )
        if rows:
            conn.execute(
                outbox.update()
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(published_at=datetime.now(UTC))
            )
        return len(rows)


def prune(engine, request_result_retention_hours):
    with engine.begin() as conn:
        conn.execute(
            outbox.delete().where(
                outbox.c.published_at < sa.func.now() - sa.text(f"interval '{OUTBOX_RETENTION_DAYS} days'")
            )
        )
        conn.execute(
            inbox.delete().where(
                inbox.c.received_at < sa.func.now() - sa.text(f"interval '{INBOX_RETENTION_DAYS} days'")
            )
        )
        conn.execute(  # IDEMPOTENCY_RETENTION_HOURS: as long as the gateway keeps its keys
            request_results.delete().where(
                request_results.c.created_at < sa.func.now()
                - sa.func.make_interval(0, 0, 0, 0, 0, 0, request_result_retention_hours * 3600)
            )
        )


_BACKLOG = sa.text(
    f"SELECT count(*), extract(epoch FROM now() - min({outbox.c.created_at.name})) FROM {outbox.name} "
    f"WHERE {outbox.c.published_at.name} IS NULL")
BACKLOG_MEASURE_INTERVAL = 1.0  # seconds between backlog measures (metrics)


def backlog(engine):
    """(unpublished events, age in seconds of the oldest of them or 0): for metrics and operators
    (the partial index on unpublished rows keeps it cheap)."""
    with engine.connect() as connection:
        count, oldest = connection.execute(_BACKLOG).one()
    return count, float(oldest or 0)


class OutboxRelay(BackgroundLoop, SharedExtension):
    """Runs in every service container: publishes its outbox continuously."""

    loop_name = "outbox-relay"
    poll_interval = POLL_INTERVAL

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.engine = engine_for(config["DB_URL"])
        self.service = self.container.service_name
        self.publisher = event_publisher(self.amqp_uri)
        self.enabled = config.get("OUTBOX_RELAY_ENABLED", True)
        self._last_housekeeping = 0.0
        self._last_measured = 0.0

    def start(self):
        with Connection(self.amqp_uri) as connection:
            declare(connection, producer_topology(self.service))
        if self.enabled:
            self.start_loop()

    def stop(self):
        self.stop_loop()
        super().stop()

    def kill(self):
        self.kill_loop()

    def _measure_backlog(self):
        count, oldest_seconds = backlog(self.engine)
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        metrics.OUTBOX_OLDEST_SECONDS.labels(self.service).set(oldest_seconds)
        self._last_measured = time.monotonic()

    def run_once(self):
        sent = publish_pending(self.engine, self.publisher)
        if time.monotonic() - self._last_measured >= BACKLOG_MEASURE_INTERVAL:
            self._measure_backlog()
        if time.monotonic() - self._last_housekeeping > HOUSEKEEPING_INTERVAL:
            prune(self.engine, idempotency_retention_hours(self.container.config))
            self._last_housekeeping = time.monotonic()
        return sent >= BATCH_SIZE
