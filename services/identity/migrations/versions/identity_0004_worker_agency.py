"""workers may be supplied by an agency

Revision ID: identity_0004
Revises: identity_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "identity_0004"
down_revision = "identity_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("workers", sa.Column("agency_id", sa.String(36), sa.ForeignKey("organisations.id")))


def downgrade():
    op.drop_column("workers", "agency_id")
