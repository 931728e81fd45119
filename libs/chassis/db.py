"""Database access for nameko workers: one session per worker, one unit of work
that commits state changes and the events they cause together.

    class Shifts(StaffbankService):
        def book(self, ...):
            with self.db.unit_of_work() as uow:
                shift = uow.session.get(Shift, shift_id)
                ...
                uow.emit("shift.booked", {...})
            # committed here: the row and the outbox entry, or neither

In a worker started by an idempotent event handler, the first statement of the
unit of work claims `(consumer, event_id)` in the inbox table; if another worker
already committed that claim the unit of work raises `AlreadyHandled` before
running any effects, and the handler entrypoint acks the message as done.
"""

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

import contracts
from chassis.context import CORRELATION_KEY
from chassis.engines import engine_for
from chassis.events import events_exchange, new_envelope
from chassis.outbox import OutboxRelay
from chassis.tables import inbox, outbox


class AlreadyHandled(Exception):
    """This event's effects were committed before; the redelivery is a no-op."""


class UnitOfWork:
    """A transaction plus the events it will publish. Commits on clean exit."""

    def __init__(self, session, producer, correlation_id=None, inbox_claim=None, on_commit=None):
        self.session = session
        self.producer = producer
        self.correlation_id = correlation_id
        self.inbox_claim = inbox_claim
        self.on_commit = on_commit
        self.emitted = []

    def __enter__(self):
        if self.inbox_claim is not None:
            consumer, event_id = self.inbox_claim
            claimed = self.session.execute(
                insert(inbox)
                .values(consumer=consumer, event_id=event_id)
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            ).first()
            if claimed is None:
                self.session.rollback()
                raise AlreadyHandled(f"{consumer} already handled {event_id}")
        return self

    def emit(self, event_type, data, version=1):
        """Record an event to publish if, and only if, this unit of work commits."""
        contracts.validate(event_type, version, data)
        envelope = new_envelope(
            event_type, data, self.producer, version=version, correlation_id=self.correlation_id
        )
        self.session.execute(
            outbox.insert().values(
                event_id=envelope["event_id"],
                exchange=events_exchange(self.producer).name,
                event_type=event_type,
                envelope=envelope,
            )
        )
        self.emitted.append(envelope)
        return envelope

    def commit(self):
        self.session.commit()
        if self.emitted and self.on_commit:
            self.on_commit()

    def rollback(self):
        self.session.rollback()
        self.emitted = []

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False


class WorkerDatabase:
    """What `self.db` is inside a worker."""

    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._session = None
        self._claimed_inbox = False

    @property
    def session(self):
        """A session for reads (and writes outside a unit of work, which you should not do)."""
        if self._session is None:
            self._session = self._provider.session_factory()
        return self._session

    def unit_of_work(self):
        claim = None
        inbox_key = getattr(self._worker_ctx.entrypoint, "inbox_key", None)
        if inbox_key is not None:
            if self._claimed_inbox:
                raise RuntimeError("an event handler applies its effects in one unit of work")
            self._claimed_inbox = True
            claim = inbox_key(self._worker_ctx)
        return UnitOfWork(
            self.session,
            producer=self._worker_ctx.service_name,
            correlation_id=self._worker_ctx.data.get(CORRELATION_KEY),
            inbox_claim=claim,
            on_commit=self._provider.relay.wake,
        )

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """Session-per-worker access to this service's own database (`DB_URL`)."""

    relay = OutboxRelay()

    def setup(self):
        self.url = self.container.config["DB_URL"]
        self.engine = engine_for(self.url, pool_size=int(self.container.config.get("max_workers", 10)))
        self.session_factory = sessionmaker(bind=self.engine, class_=Session, expire_on_commit=False)
        self._workers = {}

    def get_dependency(self, worker_ctx):
        worker_db = WorkerDatabase(self, worker_ctx)
        self._workers[worker_ctx] = worker_db
        return worker_db

    def worker_teardown(self, worker_ctx):
        worker_db = self._workers.pop(worker_ctx, None)
        if worker_db is not None:
            worker_db.close()

    def ping(self):
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
