"""The event log a read model is rebuilt from, and the rebuild (DESIGN.md: read models "are
rebuilt from events and must tolerate replays").

A service whose tables are a read model fed by events keeps every event it applied in a table
of its own database, written in the unit of work that applied it, and can then empty the model
and apply the log again:

    event_log = eventlog.table(Base.metadata)                        # models.py
    eventlog.record(uow.session, event_log, eventlog.envelope_of(event))  # in each handler's unit of work
    eventlog.replay(uow.session, event_log, MODEL, apply)             # the rebuild, in one transaction
    sys.exit(eventlog.main("reporting", use_cases.rebuild))          # `python -m reporting.rebuild`

`replay` locks the model's tables against writes (handlers wait and catch up after; readers see
the old model until the rebuild commits), empties them and applies the log in `occurred_at`
order in batches. The log is kept for good: it is the model's source, not part of the model.
"""

import functools
import time
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session

from chassis.handlers import Event


def table(metadata, name="event_log"):
    """The log's table on a service's own metadata (its migrations create it)."""
    return sa.Table(
        name, metadata,
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Index(f"{name}_replay", "occurred_at", "seq"),
    )


def envelope_of(event):
    """A consumed event (chassis.handlers.Event) as the envelope it arrived in (data as loaded)."""
    return {"event_id": event.event_id, "type": event.type, "version": event.version,
            "occurred_at": event.occurred_at.isoformat(), "producer": event.producer,
            "correlation_id": event.correlation_id, "data": event.data}


def event_of(envelope):
    """A logged envelope as the Event its handler was given."""
    return Event(event_id=envelope["event_id"], type=envelope["type"], version=envelope["version"],
                 occurred_at=datetime.fromisoformat(envelope["occurred_at"]), producer=envelope["producer"],
                 correlation_id=envelope["correlation_id"], data=envelope["data"])


def record(session, log, envelope):
    """Log an event (once: a replayed one is already there)."""
    session.execute(_insert(log), {"event_id": envelope["event_id"], "type": envelope["type"],
                                   "occurred_at": datetime.fromisoformat(envelope["occurred_at"]),
                                   "envelope": envelope})


@functools.cache
def _insert(log):
    """As SQL text: SQLAlchemy does not cache PostgreSQL's INSERT ... ON CONFLICT, and compiling it
    would cost every event more than the rest of logging it."""
    return sa.text(
        f"INSERT INTO {log.name} (event_id, type, occurred_at, envelope) "
        "VALUES (:event_id, :type, :occurred_at, :envelope) ON CONFLICT (event_id) DO NOTHING",
    ).bindparams(sa.bindparam("envelope", type_=JSONB))


def replay(session, log, model, apply, progress=None, batch=2000):
    """Empty the `model` tables (ORM classes or Tables) and `apply(envelope)` every logged event
    again, oldest first; `progress(done, total)` after each batch. Returns {"events": n}."""
    tables = [getattr(t, "__table__", t) for t in model]
    session.execute(sa.text(f"LOCK TABLE {', '.join(t.name for t in tables)} IN EXCLUSIVE MODE"))
    for t in tables:
        session.execute(sa.delete(t))
    total = session.scalar(sa.select(sa.func.count()).select_from(log))
    done, after = 0, None
    while True:
        statement = sa.select(log.c.seq, log.c.occurred_at, log.c.envelope)
        if after is not None:
            statement = statement.where(sa.tuple_(log.c.occurred_at, log.c.seq) > after)
        rows = session.execute(statement.order_by(log.c.occurred_at, log.c.seq).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            apply(row.envelope)
        session.flush()
        session.expunge_all()  # what was applied is written; keep the session small
        done, after = done + len(rows), (rows[-1].occurred_at, rows[-1].seq)
        if progress is not None:
            progress(done, total)
    return {"events": done}


def main(service, rebuild):
    """`python -m <service>.rebuild`: run `rebuild(uow, progress=...)` on the service's database
    (`<SERVICE>_DATABASE_URL` or `DATABASE_URL`, as the service itself) in one transaction,
    printing progress."""
    from chassis.config import database_url
    from chassis.db import UnitOfWork
    from chassis.engines import engine_for

    engine = engine_for(database_url(service))
    started = time.monotonic()

    def progress(done, total):
        print(f"  replayed {done}/{total} events ({done / max(total, 1):.0%}, "
              f"{time.monotonic() - started:.1f}s)", flush=True)

    print(f"rebuilding {service}'s read model from its event log", flush=True)
    with Session(engine) as session, UnitOfWork(session, producer=service) as uow:
        result = rebuild(uow, progress=progress)
    print(f"done: {result['events']} events in {time.monotonic() - started:.1f}s", flush=True)
    return 0
