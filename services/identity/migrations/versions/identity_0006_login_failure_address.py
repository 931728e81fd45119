"""failed logins record the client address they came from (the per-address login limit)

Revision ID: identity_0006
Revises: identity_0005
"""
import sqlalchemy as sa
from alembic import op

revision = "identity_0006"
down_revision = "identity_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("login_failures", sa.Column("client_address", sa.String(45)))
    op.create_index("login_failures_address_at", "login_failures", ["client_address", "failed_at"])


def downgrade():
    op.drop_index("login_failures_address_at", table_name="login_failures")
    op.drop_column("login_failures", "client_address")
