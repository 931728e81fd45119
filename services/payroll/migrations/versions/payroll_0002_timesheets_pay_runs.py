"""timesheets, approvals, pay runs and their lines

Revision ID: payroll_0002
Revises: payroll_0001
Create Date: 2026-12-01 21:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'payroll_0002'
down_revision = 'payroll_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pay_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('bank_id', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_pay_runs_bank_created', 'pay_runs', ['bank_id', 'created_at'], unique=False)
    op.create_table('timesheets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('shift_id', sa.String(length=64), nullable=False),
    sa.Column('worker_id', sa.String(length=64), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('bank_id', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('bank_number', sa.String(length=32), nullable=False),
    sa.Column('worker_name', sa.String(length=200), nullable=False),
    sa.Column('site_name', sa.String(length=200), nullable=False),
    sa.Column('staff_type', sa.String(length=60), nullable=False),
    sa.Column('grade', sa.String(length=60), nullable=False),
    sa.Column('shift_starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_break_minutes', sa.Integer(), nullable=False),
    sa.Column('shift_date', sa.Date(), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('standard_rate', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('break_minutes', sa.Integer(), nullable=False),
    sa.Column('pay_basis', sa.String(length=10), nullable=False),
    sa.Column('paid_minutes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rates', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('scheduled_hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('second_approval_required', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resubmission_of', sa.String(length=36), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('rejected_by', sa.String(length=64), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pay_run_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['pay_run_id'], ['pay_runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_timesheets_payable', 'timesheets', ['bank_id', 'shift_date'], unique=False,
                    postgresql_where=sa.text("status = 'approved' AND pay_run_id IS NULL"))
    op.create_index('ix_timesheets_site_created', 'timesheets', ['site_id', 'created_at'], unique=False)
    op.create_index('ix_timesheets_worker_created', 'timesheets', ['worker_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_timesheets_pay_run_id'), 'timesheets', ['pay_run_id'], unique=False)
    op.create_index('uq_timesheets_live_shift', 'timesheets', ['shift_id'], unique=True,
                    postgresql_where=sa.text("status <> 'rejected'"))
    op.create_table('timesheet_approvals',
    sa.Column('timesheet_id', sa.String(length=36), nullable=False),
    sa.Column('approver_id', sa.String(length=64), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['timesheet_id'], ['timesheets.id'], ),
    sa.PrimaryKeyConstraint('timesheet_id', 'approver_id')
    )
    op.create_table('pay_run_lines',
    sa.Column('pay_run_id', sa.String(length=36), nullable=False),
    sa.Column('timesheet_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pay_run_id'], ['pay_runs.id'], ),
    sa.ForeignKeyConstraint(['timesheet_id'], ['timesheets.id'], ),
    sa.PrimaryKeyConstraint('pay_run_id', 'timesheet_id'),
    sa.UniqueConstraint('timesheet_id')
    )


def downgrade():
    op.drop_table('pay_run_lines')
    op.drop_table('timesheet_approvals')
    op.drop_index('uq_timesheets_live_shift', table_name='timesheets',
                  postgresql_where=sa.text("status <> 'rejected'"))
    op.drop_index(op.f('ix_timesheets_pay_run_id'), table_name='timesheets')
    op.drop_index('ix_timesheets_worker_created', table_name='timesheets')
    op.drop_index('ix_timesheets_site_created', table_name='timesheets')
    op.drop_index('ix_timesheets_payable', table_name='timesheets',
                  postgresql_where=sa.text("status = 'approved' AND pay_run_id IS NULL"))
    op.drop_table('timesheets')
    op.drop_index('ix_pay_runs_bank_created', table_name='pay_runs')
    op.drop_table('pay_runs')
