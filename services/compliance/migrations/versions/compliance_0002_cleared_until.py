"""compliance: the cleared horizon last published for each worker

Revision ID: compliance_0002
Revises: compliance_0001
"""
from alembic import op
import sqlalchemy as sa

revision = 'compliance_0002'
down_revision = 'compliance_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('worker_profiles', sa.Column('cleared_until', sa.Date(), nullable=True))


def downgrade():
    op.drop_column('worker_profiles', 'cleared_until')
