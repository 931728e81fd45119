"""Two tiny services on the real chassis: `ledger` records entries and emits
`entry.recorded`; `audit` consumes them with the idempotent handler."""

import eventlet
import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields
from nameko.rpc import rpc

import contracts
from chassis.errors import Conflict
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.service import StaffbankService

metadata = sa.MetaData()
entries = sa.Table(
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("note", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(36)),
    sa.Column("correlation_id", sa.String(100)),
)


class EntryRecorded(Schema):
    note = fields.Str(required=True)


# How the audit handler behaves, set by each test: notes in FAILING raise until a
# test removes them ("the operator fixed the cause"); notes in FAIL_ONCE raise on
# their first attempt only; a note starting "slow" holds its transaction open.
HANDLER_CALLS = []
FAILING = set()
FAIL_ONCE = set()


class LedgerService(StaffbankService):
    name = "ledger"

    @rpc
    def record(self, note, fail_after_emit=False):
        with self.db.unit_of_work() as uow:
            uow.session.execute(entries.insert().values(note=note, correlation_id=self.correlation_id))
            uow.emit("entry.recorded", {"note": note})
            if fail_after_emit:
                raise ValueError("failed after emitting")
        return note

    @domain_rpc
    def record_each(self, notes, raise_after=False):
        """One unit of work per note; a note starting "bad" fails its own unit of work."""
        recorded = []
        for note in notes:
            try:
                with self.db.unit_of_work() as uow:
                    uow.session.execute(entries.insert().values(note=note))
                    uow.emit("entry.recorded", {"note": note})
                    if note.startswith("bad"):
                        raise Conflict(f"{note} refused")
                recorded.append(note)
            except Conflict:
                continue
        if raise_after:
            raise Conflict("refused after recording")
        return recorded

    @domain_rpc
    def record_slowly(self, note, seconds):
        """Records, then takes `seconds` before it answers (its commit is at the call's end)."""
        with self.db.unit_of_work() as uow:
            uow.session.execute(entries.insert().values(note=note))
        eventlet.sleep(seconds)
        return note

    @rpc
    def slow_query(self, seconds):
        """When the database itself started and ended this worker's query."""
        started, ended = self.db.session.execute(
            sa.text("SELECT clock_timestamp(), pg_sleep(:s), clock_timestamp()"), {"s": seconds}
        ).one()[::2]
        return started.timestamp(), ended.timestamp()


class CallerService(StaffbankService):
    """Asks ledger to record without waiting long: its requests expire after half a second."""

    name = "caller"
    ledger = ServiceRpc("ledger", expiration=0.5)

    @rpc
    def ask_ledger(self, note):
        self.ledger.record.call_async(note)  # the caller gives up at once


class AuditService(StaffbankService):
    name = "audit"

    @event_handler("ledger", "entry.recorded")  # data loaded with its contract (the fixture below)
    def on_entry_recorded(self, event):
        note = event.data["note"]
        HANDLER_CALLS.append((note, event.event_id))
        if note in FAILING:
            raise RuntimeError(f"handler broke on {note}")
        if note in FAIL_ONCE:
            FAIL_ONCE.discard(note)
            raise RuntimeError(f"handler broke once on {note}")
        with self.db.unit_of_work() as uow:
            if note.startswith("slow"):
                eventlet.sleep(0.3)
            uow.session.execute(entries.insert().values(
                note=note, event_id=event.event_id, correlation_id=self.correlation_id
            ))


@pytest.fixture(autouse=True)
def entry_contract():
    contracts.CATALOGUE[("entry.recorded", 1)] = ("ledger", EntryRecorded)
    HANDLER_CALLS.clear()
    FAILING.clear()
    FAIL_ONCE.clear()
    yield
    contracts.CATALOGUE.pop(("entry.recorded", 1), None)


@pytest.fixture
def ledger_db(make_database):
    return make_database("ledger", extra_metadata=metadata)


@pytest.fixture
def audit_db(make_database):
    return make_database("audit", extra_metadata=metadata)


def rows(db_url, table=entries):
    from chassis.engines import engine_for

    with engine_for(db_url).connect() as conn:
        return conn.execute(sa.select(table)).mappings().all()
