"""accounts can be deactivated

Revision ID: identity_0005
Revises: identity_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "identity_0005"
down_revision = "identity_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("deactivated_at", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("users", "deactivated_at")
