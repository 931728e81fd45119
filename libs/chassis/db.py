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

In an RPC worker whose caller sent an idempotency key (context data
`idempotency_key`, set by the gateway from `Idempotency-Key`), the unit of work
does not commit on exit: `@domain_rpc` commits it together with the method's
result in `request_results`, and answers a repeated key with that result.
"""

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import contracts
from chassis.context import CORRELATION_KEY
from chassis.engines import engine_for
from chassis.events import events_exchange, new_envelope
from chassis.outbox import OutboxRelay
from chassis.tables import inbox, outbox, request_results

IDEMPOTENCY_KEY = "idempotency_key"


class AlreadyHandled(Exception):
    """This event's effects were committed before; the redelivery is a no-op."""


class UnitOfWork:
    """A transaction plus the events it will publish. Commits on clean exit."""

    def __init__(self, session, producer, correlation_id=None, inbox_claim=None, on_commit=None,
                 defer_commit=False):
        self.session = session
        self.defer_commit = defer_commit
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
        if exc_type is not None:
            self.rollback()
        elif self.defer_commit:
            self.session.flush()  # committed with the RPC's result by WorkerDatabase.finish
        else:
            self.commit()
        return False


class WorkerDatabase:
    """What `self.db` is inside a worker."""

    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._session = None
        self._claimed_inbox = False
        self._deferred = None

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
        if self._deferred is not None:
            raise RuntimeError("an idempotent RPC applies its effects in one unit of work")
        uow = UnitOfWork(
            self.session,
            producer=self._worker_ctx.service_name,
            correlation_id=self._worker_ctx.data.get(CORRELATION_KEY),
            inbox_claim=claim,
            on_commit=self._provider.relay.wake,
            defer_commit=claim is None and self.request_key is not None,
        )
        if uow.defer_commit:
            self._deferred = uow
        return uow

    @property
    def request_key(self):
        """`<method>:<caller's idempotency key>` for an RPC called with one, else None."""
        key = self._worker_ctx.data.get(IDEMPOTENCY_KEY)
        if not key or getattr(self._worker_ctx.entrypoint, "inbox_key", None) is not None:
            return None
        return f"{self._worker_ctx.entrypoint.method_name}:{key}"[:300]

    def stored_result(self, key):
        """The committed result of an earlier call with this key, wrapped in a 1-tuple, or None."""
        row = self.session.execute(
            sa.select(request_results.c.result).where(request_results.c.key == key)
        ).first()
        self.session.rollback()  # end the read so the effects start a fresh transaction
        return None if row is None else (row.result,)

    def finish(self, key, result):
        """Commit a deferred unit of work with its result; a concurrent twin's result wins a race."""
        uow, self._deferred = self._deferred, None
        if uow is None:
            return result  # the call changed nothing: nothing to remember
        try:
            self.session.execute(request_results.insert().values(key=key, result=result))
            uow.commit()
            return result
        except IntegrityError:
            uow.rollback()
            earlier = self.stored_result(key)
            return earlier[0] if earlier else result

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

    def kill(self):
        """Workers are dead by now: hand their connections back (rolled back), not leak them."""
        for worker_db in list(self._workers.values()):
            try:
                worker_db.close()
            except Exception:  # a connection broken mid-query is discarded by the pool
                pass
        self._workers.clear()

    def ping(self):
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))


def for_update(statement):
    """`SELECT ... FOR UPDATE` that also refreshes objects the session already holds.

    Without populate_existing the ORM hands back an object loaded earlier in the worker
    with its old attribute values, and a decision taken under the lock would be taken
    on a stale copy (two bookings of one shift would both see it `open`).
    """
    return statement.with_for_update().execution_options(populate_existing=True)
