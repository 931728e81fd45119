"""shifts: applications found by worker (worker_has_shift_at: may site staff see this worker?)

Revision ID: shifts_0004
Revises: shifts_0003
"""
from alembic import op

revision = 'shifts_0004'
down_revision = 'shifts_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('applications_worker', 'applications', ['worker_id'])


def downgrade():
    op.drop_index('applications_worker', table_name='applications')
