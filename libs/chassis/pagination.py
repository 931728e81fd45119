"""Keyset pagination: `{"items": [...], "next_cursor": str|null}` over (created_at, id)."""

import sqlalchemy as sa

from chassis.schemas import decode_cursor, encode_cursor


def paginate(session, statement, created_col, id_col, limit, cursor=None):
    """Rows of `statement` after `cursor`, oldest first, plus the cursor of the next page."""
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        statement = statement.where(
            sa.tuple_(created_col, id_col) > sa.tuple_(sa.literal(created_at, created_col.type), last_id)
        )
    rows = session.execute(statement.order_by(created_col, id_col).limit(limit + 1)).scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, created_col.key).isoformat(), getattr(last, id_col.key)])
    return rows, next_cursor
