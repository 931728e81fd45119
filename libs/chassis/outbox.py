"""The outbox relay: publishes committed outbox rows, then marks them sent.

At-least-once: rows are locked (`FOR UPDATE SKIP LOCKED`, so replicas share the
work without publishing a row twice at once), published with publisher confirms
and `mandatory`, and marked in the same transaction. A crash after publishing but
before the commit leaves the rows unmarked and they are published again on the
next pass; consumers de-duplicate by `event_id`. Nothing is ever marked sent that
the broker did not confirm.
"""

import logging
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.extensions import SharedExtension

from chassis.engines import engine_for
from chassis.events import declare, producer_topology
from chassis.tables import inbox, outbox, request_results

log = logging.getLogger(__name__)

BATCH_SIZE = 200
POLL_INTERVAL = 1.0  # seconds between sweeps when nobody wakes the relay
HOUSEKEEPING_INTERVAL = 3600
OUTBOX_RETENTION_DAYS = 7
INBOX_RETENTION_DAYS = 90  # replaying a dead letter older than this could apply it twice
REQUEST_RESULT_RETENTION_DAYS = 7


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


def prune(engine):
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
        conn.execute(
            request_results.delete().where(
                request_results.c.created_at
                < sa.func.now() - sa.text(f"interval '{REQUEST_RESULT_RETENTION_DAYS} days'")
            )
        )


class OutboxRelay(SharedExtension):
    """Runs in every service container: publishes its outbox continuously."""

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.engine = engine_for(config["DB_URL"])
        self.service = self.container.service_name
        self.publisher = event_publisher(self.amqp_uri)
        self.enabled = config.get("OUTBOX_RELAY_ENABLED", True)
        self._wake = threading.Event()
        self._running = False
        self._gt = None

    def start(self):
        with Connection(self.amqp_uri) as connection:
            declare(connection, producer_topology(self.service))
        if self.enabled:
            self._running = True
            self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self._wake.set()
        if self._gt is not None:
            self._gt.wait()
        super().stop()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    def wake(self):
        """Called after a commit that emitted events: publish now, not at the next poll."""
        self._wake.set()

    def _run(self):
        backoff = POLL_INTERVAL
        last_housekeeping = 0.0
        while self._running:
            self._wake.clear()  # a wake() from here on is kept for the wait below
            try:
                sent = publish_pending(self.engine, self.publisher)
                backoff = POLL_INTERVAL
                if time.monotonic() - last_housekeeping > HOUSEKEEPING_INTERVAL:
                    prune(self.engine)
                    last_housekeeping = time.monotonic()
            except Exception:
                log.exception("outbox relay: publishing failed; will retry in %.1fs", backoff)
                sent = 0
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            if sent >= BATCH_SIZE:
                continue
            self._wake.wait(POLL_INTERVAL)
