"""Payroll's tables: rate cards, timesheets with their approvals, pay runs and their lines."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.tables import new_id


class Base(DeclarativeBase):
    metadata = MetaData()


class RateCard(Base):
    """The hourly rates every site of a bank pays a staff type and grade, one per band
    (DESIGN.md "Rates"). No effective dates in v1: a put replaces the card."""

    __tablename__ = "rate_cards"
    __table_args__ = (PrimaryKeyConstraint("bank_id", "staff_type", "grade"),)
    bank_id: Mapped[str] = mapped_column(String(36))
    staff_type: Mapped[str] = mapped_column(String(60))
    grade: Mapped[str] = mapped_column(String(60))
    day_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    night_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    weekend_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    bank_holiday_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


class Timesheet(Base):
    """Hours a worker claims for one completed shift, priced when submitted.

    What payroll needs of the shift, the worker and the site is copied in at submission (asked of
    shifts and identity then), so approving, paying and exporting never depend on another service.
    One live timesheet per shift: a rejected one may be followed by a corrected one (a new row,
    `resubmission_of` the rejected one), which the partial unique index allows and nothing else does.
    """

    __tablename__ = "timesheets"
    __table_args__ = (
        Index("uq_timesheets_live_shift", "shift_id", unique=True,
              postgresql_where=text("status <> 'rejected'")),
        Index("ix_timesheets_payable", "bank_id", "shift_date",
              postgresql_where=text("status = 'approved' AND pay_run_id IS NULL")),
        Index("ix_timesheets_site_created", "site_id", "created_at"),
        Index("ix_timesheets_worker_created", "worker_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shift_id: Mapped[str] = mapped_column(String(64), nullable=False)
    worker_id: Mapped[str] = mapped_column(String(64), nullable=False)
    submitted_by: Mapped[str] = mapped_column(String(64), nullable=False)  # the worker's user id
    bank_id: Mapped[str] = mapped_column(String(64), nullable=False)
    organisation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    site_id: Mapped[str] = mapped_column(String(64), nullable=False)
    bank_number: Mapped[str] = mapped_column(String(32), nullable=False)
    worker_name: Mapped[str] = mapped_column(String(200), nullable=False)
    site_name: Mapped[str] = mapped_column(String(200), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    grade: Mapped[str] = mapped_column(String(60), nullable=False)
    shift_starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    shift_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    shift_break_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    shift_date: Mapped[date] = mapped_column(Date, nullable=False)  # the start's Europe/London date
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    standard_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    break_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    pay_basis: Mapped[str] = mapped_column(String(10), nullable=False)  # banded | flat
    paid_minutes: Mapped[dict] = mapped_column(JSONB, nullable=False)  # element -> minutes
    rates: Mapped[dict] = mapped_column(JSONB, nullable=False)  # element -> hourly rate ("50.00")
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    scheduled_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    second_approval_required: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # submitted | approved | rejected
    resubmission_of: Mapped[str | None] = mapped_column(String(36))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pay_run_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("pay_runs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


class TimesheetApproval(Base):
    """One approver's approval; two rows when the overpayment guard asks for a second approver.
    The primary key stops one approver counting twice."""

    __tablename__ = "timesheet_approvals"
    __table_args__ = (PrimaryKeyConstraint("timesheet_id", "approver_id"),)
    timesheet_id: Mapped[str] = mapped_column(String(36), ForeignKey("timesheets.id"))
    approver_id: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class PayRun(Base):
    """A bank's pay run over a period of shift start dates (Europe/London, inclusive); closed
    when created."""

    __tablename__ = "pay_runs"
    __table_args__ = (Index("ix_pay_runs_bank_created", "bank_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    bank_id: Mapped[str] = mapped_column(String(64), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class PayRunLine(Base):
    """A timesheet paid by a pay run. `timesheet_id` is unique: whatever happens upstream, the
    database refuses to pay one timesheet in two runs (DESIGN.md rule 4)."""

    __tablename__ = "pay_run_lines"
    __table_args__ = (PrimaryKeyConstraint("pay_run_id", "timesheet_id"),)
    pay_run_id: Mapped[str] = mapped_column(String(36), ForeignKey("pay_runs.id"))
    timesheet_id: Mapped[str] = mapped_column(String(36), ForeignKey("timesheets.id"), unique=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # order in the run and its exports


metadata = Base.metadata
