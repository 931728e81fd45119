"""shifts: the poster's justification of a rate above the card, and who rejected a rate, why and when

Rates withdrawn unapproved before this revision (a pending violation cancelled) take their
rejection from the cancellation: its reason, and who cancelled when (the `cancelled` step).

Revision ID: shifts_0005
Revises: shifts_0004
"""
import sqlalchemy as sa
from alembic import op

revision = 'shifts_0005'
down_revision = 'shifts_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('shifts', sa.Column('justification', sa.String(length=500), nullable=True))
    op.add_column('shifts', sa.Column('rejected_by', sa.String(length=36), nullable=True))
    op.add_column('shifts', sa.Column('rejection_reason', sa.String(length=1000), nullable=True))
    op.add_column('shifts', sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE shifts SET rejection_reason = shifts.cancellation_reason, rejected_by = steps.actor_id,
                          rejected_at = steps.at
        FROM (SELECT DISTINCT ON (shift_id) shift_id, actor_id, at FROM shift_steps
              WHERE step = 'cancelled' ORDER BY shift_id, id) AS steps
        WHERE steps.shift_id = shifts.id AND shifts.violation_status = 'rejected'
          AND shifts.rejected_at IS NULL
    """)


def downgrade():
    for column in ('rejected_at', 'rejection_reason', 'rejected_by', 'justification'):
        op.drop_column('shifts', column)
