"""matching: recent offers kept on the worker and its index rows (`offered_days`), so that a
shift's candidates are found without a lookup per candidate; `offer_days` goes

Revision ID: matching_0002
Revises: matching_0001
Create Date: 2026-12-03 07:45:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'matching_0002'
down_revision = 'matching_0001'
branch_labels = None
depends_on = None

# One entry per offer: the London day as days since 1970-01-01 (matching.domain.day_number).
_EXPANDED = ("ARRAY(SELECT o.day - DATE '1970-01-01' FROM offer_days o, generate_series(1, o.offers) "
             "WHERE o.worker_id = {table}.worker_id ORDER BY 1)")


def upgrade():
    for table in ('workers', 'reach'):
        op.add_column(table, sa.Column('offered_days', postgresql.ARRAY(sa.Integer()), server_default='{}',
                                       nullable=False))
        op.execute(f"UPDATE {table} SET offered_days = {_EXPANDED.format(table=table)}")
    op.drop_table('offer_days')


def downgrade():
    op.create_table('offer_days',
    sa.Column('worker_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('offers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', 'day', postgresql_include=['offers'])
    )
    op.execute("INSERT INTO offer_days (worker_id, day, offers) SELECT worker_id, DATE '1970-01-01' + d, "
               "count(*) FROM workers, unnest(offered_days) AS d GROUP BY 1, 2")
    for table in ('reach', 'workers'):
        op.drop_column(table, 'offered_days')
