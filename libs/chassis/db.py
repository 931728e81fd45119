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

In an RPC (`@domain_rpc`) the call is the transaction: each unit of work is a
savepoint in it (an exception inside one undoes that unit of work alone), and
the call commits once at its end, whether it returns or raises, with its result
stored under the caller's idempotency key when there is one (context data
`idempotency_key`, set by the gateway from `Idempotency-Key`), so that a repeated
key gets the first result back (chassis.rpc). The result is bound to the request it
answers (`idempotency_request`, the gateway's hash of the body, its key already naming
the caller, method and path; else the call's own arguments): the same key with another
request is refused (Invalid, 422), never answered with someone else's result. Results are
kept IDEMPOTENCY_RETENTION_HOURS, the gateway's retention of its keys; an older one is
forgotten and the key acts anew.
A call may open several units of work, with or without a key; none of them commits by
itself, and nothing here ever calls `session.commit()` in the middle of a call.
"""

import functools
import hashlib
import json

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import contracts
from chassis.config import idempotency_retention_hours
from chassis.context import CORRELATION_KEY, RPC_REDELIVERED_KEY, RPC_REQUEST_KEY
from chassis.engines import engine_for
from chassis.errors import Invalid
from chassis.events import events_exchange, new_envelope
from chassis.outbox import OutboxRelay
from chassis.tables import inbox, outbox, request_results

IDEMPOTENCY_KEY = "idempotency_key"
# What the idempotency key was sent with (the gateway's hash of the body; its key names the
# caller): a kept result answers only the same request again.
IDEMPOTENCY_REQUEST = "idempotency_request"


# As SQL text: SQLAlchemy does not cache PostgreSQL's INSERT ... ON CONFLICT (its Insert sets
# inherit_cache = False), and compiling it would cost every event handled a millisecond or more.
_CLAIM = sa.text(
    f"INSERT INTO {inbox.name} (consumer, event_id) VALUES (:consumer, :event_id) "
    "ON CONFLICT DO NOTHING RETURNING event_id")

_KEPT = (f"{request_results.c.created_at.name} >= now() - make_interval(secs => :retention_seconds)")
_STORED_RESULT = sa.text(
    f"SELECT result, request_hash FROM {request_results.name} WHERE key = :key AND {_KEPT}")
# A result kept past its retention is replaced: the key is free again.
_STORE_RESULT = sa.text(
    f"INSERT INTO {request_results.name} AS kept (key, result, request_hash) "
    "VALUES (:key, :result, :request_hash) "
    "ON CONFLICT (key) DO UPDATE SET result = excluded.result, request_hash = excluded.request_hash, "
    "created_at = now() WHERE kept.created_at < now() - make_interval(secs => :retention_seconds) "
    "RETURNING key"
).bindparams(sa.bindparam("result", type_=request_results.c.result.type))


def request_hash(*parts):
    """A stable hash of JSON-able parts (what a kept result is bound to)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def key_reused():
    """The error for an idempotency key whose kept result answered another request (another caller
    or body): the gateway's own answer to a key reused with another body (422)."""
    return Invalid("This Idempotency-Key was used with a different body.",
                   errors={"Idempotency-Key": ["Already used with a different body."]})


class AlreadyHandled(Exception):
    """This event's effects were committed before; the redelivery is a no-op."""


class UnitOfWork:
    """A transaction (or, inside an RPC, a savepoint of the call's transaction) plus the
    events it will publish. Commits (or releases its savepoint) on clean exit."""

    def __init__(self, session, producer, correlation_id=None, inbox_claim=None, on_commit=None,
                 nested=False):
        self.session = session
        self.nested = nested
        self.producer = producer
        self.correlation_id = correlation_id
        self.inbox_claim = inbox_claim
        self.on_commit = on_commit
        self.emitted = []
        self._savepoint = None

    def __enter__(self):
        if self.nested:
            self._savepoint = self.session.begin_nested()
        if self.inbox_claim is not None:
            consumer, event_id = self.inbox_claim
            claimed = self.session.execute(_CLAIM, {"consumer": consumer, "event_id": event_id}).first()
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
        self.emitted.append(envelope)
        return envelope

    def _write_outbox(self):
        """The emitted events' outbox rows, in one statement (a handler telling fifty people
        emits fifty events: a statement each cost it a millisecond each)."""
        if self.emitted:
            exchange = events_exchange(self.producer).name
            self.session.execute(outbox.insert(), [
                {"event_id": envelope["event_id"], "exchange": exchange, "event_type": envelope["type"],
                 "envelope": envelope} for envelope in self.emitted])

    def commit(self):
        self._write_outbox()
        if self._savepoint is not None:
            self._savepoint.commit()  # released: the call's transaction commits it (WorkerDatabase.end_call)
        else:
            self.session.commit()
        if self.on_commit:
            self.on_commit(self.emitted)

    def rollback(self):
        if self._savepoint is not None:
            if self._savepoint.is_active:
                self._savepoint.rollback()
        else:
            self.session.rollback()
        self.emitted = []

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.rollback()
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
        self._in_call = False
        self._units_done = 0
        self._emitted = False

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
        nested = self._in_call and claim is None
        return UnitOfWork(
            self.session,
            producer=self._worker_ctx.service_name,
            correlation_id=self._worker_ctx.data.get(CORRELATION_KEY),
            inbox_claim=claim,
            on_commit=self._unit_done if nested else self._committed,
            nested=nested,
        )

    def _committed(self, emitted):
        if emitted:
            self._provider.relay.wake()

    def _unit_done(self, emitted):
        self._units_done += 1
        self._emitted = self._emitted or bool(emitted)

    @property
    def request_key(self):
        """`<method>:<caller's idempotency key>` for an RPC called with one, else
        `<method>:rpc:<the request's correlation id>`; None outside an RPC."""
        if getattr(self._worker_ctx.entrypoint, "inbox_key", None) is not None:
            return None
        key = self._worker_ctx.data.get(IDEMPOTENCY_KEY)
        if key:
            return f"{self._worker_ctx.entrypoint.method_name}:{key}"[:300]
        request = self._worker_ctx.data.get(RPC_REQUEST_KEY)
        if request:
            return f"{self._worker_ctx.entrypoint.method_name}:rpc:{request}"[:300]
        return None

    def request_fingerprint(self, args, kwargs):
        """What a result kept under `request_key` is bound to: the gateway's hash of the body when it
        sent one (nested calls inherit it; its key names the caller), else this call's own arguments."""
        return self._worker_ctx.data.get(IDEMPOTENCY_REQUEST) or request_hash(
            self._worker_ctx.entrypoint.method_name, args, kwargs)

    @property
    def _retention_seconds(self):
        return idempotency_retention_hours(self._provider.container.config) * 3600

    def earlier_result(self, key, fingerprint=None):
        """The result this call already committed, as a 1-tuple, or None. Looked up only when
        there can be one: the caller sent an idempotency key, or the broker delivers this
        request again (so a first delivery costs no extra query). Raises key_reused() (Invalid)
        if the key's result answered another request (`fingerprint` differs)."""
        data = self._worker_ctx.data
        if key is None or not (data.get(IDEMPOTENCY_KEY) or data.get(RPC_REDELIVERED_KEY)):
            return None
        return self.stored_result(key, fingerprint)

    def stored_result(self, key, fingerprint=None):
        """The committed result of an earlier call with this key, wrapped in a 1-tuple, or None
        (also when it is older than the retention). Raises key_reused() (Invalid) if it was kept for
        another request than `fingerprint` (or an unknown one: a row from before requests were kept)."""
        row = self.session.execute(
            _STORED_RESULT, {"key": key, "retention_seconds": self._retention_seconds}
        ).first()
        self.session.rollback()  # end the read so the effects start a fresh transaction
        if row is None:
            return None
        if row.request_hash is None or row.request_hash != fingerprint:
            raise key_reused()
        return (row.result,)

    def begin_call(self):
        """From here to end_call, units of work are savepoints of one transaction."""
        self._in_call, self._units_done, self._emitted = True, 0, False

    def end_call(self, key=None, result=None, raised=False, fingerprint=None):
        """Commit what the call's units of work did, with `result` under `key` (bound to
        `fingerprint`) if the call changed anything; a concurrent twin that stored its result
        first wins the race (and this call's effects are undone: the twin's result is returned, or
        key_reused() raised if it answered another request). After a call that raised, a transaction
        the error left unusable is rolled back."""
        self._in_call = False
        if self._session is None:
            return result
        if raised:
            try:
                self.session.commit()
            except SQLAlchemyError:
                self.session.rollback()
            return result
        try:
            stored = True
            if key is not None and self._units_done:
                stored = self.session.execute(_STORE_RESULT, {
                    "key": key, "result": result, "request_hash": fingerprint,
                    "retention_seconds": self._retention_seconds,
                }).first() is not None
            if stored:
                self.session.commit()
        except IntegrityError:
            stored = False
        if not stored:  # a twin kept its result under this key first: ours never happened
            self.session.rollback()
            earlier = self.stored_result(key, fingerprint)
            return earlier[0] if earlier else result
        if self._emitted:
            self._provider.relay.wake()
        return result

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


def one_or_not_found(session, statement, what, lock=False):
    """The row `statement` selects (locked and refreshed with `for_update` if asked), or
    NotFound("no such <what>")."""
    from chassis.errors import NotFound

    found = session.scalar(for_update(statement) if lock else statement)
    if found is None:
        raise NotFound(f"no such {what}")
    return found


@functools.cache
def _insert_new_rows_statement(table, columns, conflict, returning):
    """`INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (...) DO NOTHING [RETURNING ...]` as
    SQL text, built once per shape. JSON travels as text and is cast back."""
    dialect = postgresql.dialect()
    arrays, selected = [], []
    for n, name in enumerate(columns):
        column_type = table.c[name].type
        is_json = isinstance(column_type, sa.JSON)
        element = "TEXT" if is_json else column_type.compile(dialect=dialect)
        arrays.append(f"CAST(:c{n} AS {element}[])")
        selected.append(f"CAST(r.c{n} AS {column_type.compile(dialect=dialect)})" if is_json else f"r.c{n}")
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(selected)} "
           f"FROM unnest({', '.join(arrays)}) AS r({aliases}) "
           f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
    if returning:
        sql += f" RETURNING {returning}"
    json_columns = frozenset(n for n, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON))
    return sa.text(sql), json_columns


def insert_new_rows(session, table, rows, conflict, returning=None):
    """Insert `rows` (dicts with the same keys) into `table` in one statement, skipping any that
    would break the unique `conflict` columns; the `returning` column of those written, if asked.

    SQLAlchemy compiles PostgreSQL's INSERT ... ON CONFLICT afresh on every call (its Insert
    sets inherit_cache = False), and for fifty rows of values that cost tens of milliseconds a
    call; this statement is built once and takes each column as one array."""
    if not rows:
        return []
    columns = tuple(rows[0])
    statement, json_columns = _insert_new_rows_statement(table, columns, tuple(conflict), returning)
    parameters = {}
    for n, name in enumerate(columns):
        values = [row[name] for row in rows]
        parameters[f"c{n}"] = ([None if v is None else json.dumps(v) for v in values]
                               if n in json_columns else values)
    result = session.execute(statement, parameters)
    return list(result.scalars()) if returning else []
