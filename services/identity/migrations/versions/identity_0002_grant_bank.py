"""role grants record the bank their scope lies in

Revision ID: identity_0002
Revises: identity_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("role_grants", sa.Column("bank_id", sa.String(36)))
    op.execute("""
        UPDATE role_grants g SET bank_id = CASE g.scope_type
            WHEN 'bank' THEN g.scope_id
            WHEN 'organisation' THEN (SELECT o.bank_id FROM organisations o WHERE o.id = g.scope_id)
            WHEN 'site' THEN (SELECT s.bank_id FROM sites s WHERE s.id = g.scope_id)
        END
    """)


def downgrade():
    op.drop_column("role_grants", "bank_id")
