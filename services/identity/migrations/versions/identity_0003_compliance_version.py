"""workers remember the last compliance fact applied

Revision ID: identity_0003
Revises: identity_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "identity_0003"
down_revision = "identity_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("workers", sa.Column("compliance_version", sa.Integer(), nullable=False,
                                       server_default="0"))


def downgrade():
    op.drop_column("workers", "compliance_version")
