"""chassis.db.insert_new_rows: many rows in one cached statement, skipping those a unique key
already holds (in the table or earlier in the same batch), returning what was written."""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from chassis.db import insert_new_rows
from chassis.engines import engine_for

metadata = sa.MetaData()
told = sa.Table(
    "told_probe", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("source_key", sa.String(200), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("in_inbox", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("user_id", "source_key"),
)


def _row(n, user, source, data=None, sent_at=None):
    return {"id": f"id-{n}", "user_id": user, "source_key": source, "data": data or {"n": n},
            "in_inbox": n % 2 == 0, "attempts": n, "sent_at": sent_at}


def test_rows_are_written_once_each_with_their_types_and_duplicates_are_skipped(ledger_db):
    engine = engine_for(ledger_db)
    metadata.create_all(engine)
    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    try:
        with Session(engine) as session:
            first = insert_new_rows(session, told, [
                _row(1, "ada", "shift:1", {"site": "Leeds", "nested": [1, None, "x"]}, at),
                _row(2, "bob", "shift:1"),
                _row(3, "ada", "shift:1")],  # the same (user, source) later in the batch
                ("user_id", "source_key"), returning="id")
            again = insert_new_rows(session, told, [_row(4, "ada", "shift:1"), _row(5, "ada", "shift:2")],
                                    ("user_id", "source_key"), returning="id")
            nothing = insert_new_rows(session, told, [], ("user_id", "source_key"), returning="id")
            session.commit()
        assert sorted(first) == ["id-1", "id-2"] and again == ["id-5"] and nothing == []
        with engine.connect() as connection:
            stored = {r["id"]: r for r in connection.execute(sa.select(told)).mappings()}
        assert set(stored) == {"id-1", "id-2", "id-5"}
        assert stored["id-1"]["data"] == {"site": "Leeds", "nested": [1, None, "x"]}
        assert stored["id-1"]["sent_at"] == at and stored["id-2"]["sent_at"] is None
        assert [stored[i]["in_inbox"] for i in ("id-1", "id-2")] == [False, True]
        assert stored["id-5"]["attempts"] == 5
    finally:
        metadata.drop_all(engine)
