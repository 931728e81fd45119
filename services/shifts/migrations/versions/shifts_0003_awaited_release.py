"""shifts: requested_release is named for what it is, a release awaiting approval

Revision ID: shifts_0003
Revises: shifts_0002
"""
from alembic import op

revision = 'shifts_0003'
down_revision = 'shifts_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('shifts', 'requested_release', new_column_name='awaited_release')


def downgrade():
    op.alter_column('shifts', 'awaited_release', new_column_name='requested_release')
