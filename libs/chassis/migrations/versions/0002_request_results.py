"""request results

Revision ID: chassis_0002
Revises: chassis_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "chassis_0002"
down_revision = "chassis_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "request_results",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("result", postgresql.JSONB()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_request_results_created_at", "request_results", ["created_at"])


def downgrade():
    op.drop_table("request_results")
