"""notifications: workers who left are kept apart from their accounts (`departures`), so a
departure heard before the worker's registration still counts; `recipients.active` goes

Revision ID: notifications_0002
Revises: notifications_0001
Create Date: 2026-12-03 12:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'notifications_0002'
down_revision = 'notifications_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('departures',
    sa.Column('worker_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('worker_id')
    )
    op.execute("INSERT INTO departures (worker_id) SELECT worker_id FROM recipients "
               "WHERE NOT active AND worker_id IS NOT NULL")
    op.drop_column('recipients', 'active')


def downgrade():
    op.add_column('recipients', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute("UPDATE recipients SET active = false WHERE worker_id IN (SELECT worker_id FROM departures)")
    op.drop_table('departures')
