"""Tables the chassis keeps in every service's database (own Alembic history,
version table `chassis_alembic_version`, so services never copy them)."""

import uuid

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()


def new_id():
    """The ids services mint: random UUIDs as strings (opaque to callers, API.md)."""
    return str(uuid.uuid4())

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("exchange", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)

# One row per event a consumer has applied, written in the transaction of its effects.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(200), nullable=False),
    Column("event_id", UUID(as_uuid=False), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id"),
)

# The result of an RPC that carried an idempotency key (the gateway's Idempotency-Key),
# committed in the same transaction as the RPC's effects: a retry returns it instead of
# acting again, whatever happened to the first caller. `request_hash` binds it to the
# request it answers (the body, the key naming the caller: chassis.db.WorkerDatabase.request_fingerprint):
# the same key with another request is refused, never answered with this result. Kept
# IDEMPOTENCY_RETENTION_HOURS, as the gateway keeps its keys.
request_results = Table(
    "request_results",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("result", JSONB),
    Column("request_hash", String(64)),  # NULL only in rows from before it existed: never replayed
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now(), index=True),
)
