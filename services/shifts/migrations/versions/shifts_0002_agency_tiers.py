"""agency tiers

Revision ID: shifts_0002
Revises: shifts_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "shifts_0002"
down_revision = "shifts_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agency_tiers",
        sa.Column("organisation_id", sa.String(36), primary_key=True),
        sa.Column("bank_id", sa.String(36), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("agency_tiers")
