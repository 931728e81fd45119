"""request results bound to their request

Revision ID: chassis_0003
Revises: chassis_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "chassis_0003"
down_revision = "chassis_0002"
branch_labels = None
depends_on = None


def upgrade():
    # Rows kept before this have no request to compare with; they are never replayed (chassis.db).
    op.add_column("request_results", sa.Column("request_hash", sa.String(64)))


def downgrade():
    op.drop_column("request_results", "request_hash")
