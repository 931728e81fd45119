"""Reporting's tables: read models fed only by events (DESIGN.md "Services"), and the log of
every event applied, from which `reporting.rebuild` builds them again.

Every row is keyed by its producer's ids and every column is set by a rule that gives the same
value whatever order its facts arrive in, and however often (use_cases): a fact given once is
kept (`first`), a status by rank, a worker's profile and status by `occurred_at`, its compliance
by `version`, a moment by the earliest. So a replay in any order rebuilds the same rows.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Float, Index, Integer, MetaData, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis import eventlog


class Base(DeclarativeBase):
    metadata = MetaData()


class Organisation(Base):
    """identity's organisation.created: every organisation of a bank is in the sitrep."""

    __tablename__ = "organisations"
    __table_args__ = (Index("organisations_bank", "bank_id"),)
    organisation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (Index("sites_bank", "bank_id"),)
    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)


class Worker(Base):
    """What identity and compliance said of a worker. A row may exist before its registration
    arrives (a status or compliance fact came first): `staff_type` is null until it does."""

    __tablename__ = "workers"
    __table_args__ = (Index("workers_pool", "bank_id", "staff_type"),)
    worker_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str | None] = mapped_column(String(36))
    # worker.registered, once:
    name: Mapped[str | None] = mapped_column(String(200))
    staff_type: Mapped[str | None] = mapped_column(String(60))
    grade: Mapped[str | None] = mapped_column(String(60))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # worker.registered | updated, the newest (occurred_at):
    max_travel_km: Mapped[float | None] = mapped_column(Float)
    agency_id: Mapped[str | None] = mapped_column(String(36))  # supplied by an agency: agency spend
    profile_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # worker.registered and the status events, the newest:
    status: Mapped[str | None] = mapped_column(String(20))
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # compliance.cleared | uncleared | lapsed, the highest version:
    compliance_status: Mapped[str | None] = mapped_column(String(20))
    compliance_version: Mapped[int | None] = mapped_column(Integer)
    missing: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    cleared_until: Mapped[date | None] = mapped_column(Date)


class Document(Base):
    """A verified document (compliance.document_verified), expired once compliance.lapsed says so:
    whether a kind a worker lacks is missing or expired, and what covers it today."""

    __tablename__ = "documents"
    __table_args__ = (Index("documents_worker", "worker_id"),)
    document_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(36), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_rank: Mapped[int] = mapped_column(Integer, nullable=False)  # verified 1 < expired 2
    expires_on: Mapped[date | None] = mapped_column(Date)


class Shift(Base):
    """A shift as shifts' events tell it: where and what, its rates, how far it got, who filled
    it, and when it was posted for cover, booked, completed or cancelled (and by whom, how late)."""

    __tablename__ = "shifts"
    __table_args__ = (Index("shifts_bank_start", "bank_id", "starts_at"),)
    shift_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    site_id: Mapped[str] = mapped_column(String(36), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    grade: Mapped[str] = mapped_column(String(60), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    standard_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    rate_violation: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_rank: Mapped[int] = mapped_column(Integer, nullable=False)  # domain.STATUS_RANK: only later moves
    worker_id: Mapped[str | None] = mapped_column(String(36))
    agency_tier: Mapped[int | None] = mapped_column(Integer)  # the furthest tier it was cascaded to
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first posted for cover
    booked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(20))  # site | worker
    late_cancellation: Mapped[bool | None] = mapped_column(Boolean)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)


class ShiftStatus(Base):
    """A shift's status history: one row per shifts event about it."""

    __tablename__ = "shift_statuses"
    __table_args__ = (Index("shift_statuses_shift", "shift_id", "occurred_at"),)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    shift_id: Mapped[str] = mapped_column(String(36), nullable=False)
    type: Mapped[str] = mapped_column(String(60), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Timesheet(Base):
    """An approved timesheet (timesheet.approved): hours and money the bank owes."""

    __tablename__ = "timesheets"
    __table_args__ = (Index("timesheets_shift", "shift_id"),)
    timesheet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    shift_id: Mapped[str] = mapped_column(String(36), nullable=False)
    worker_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    site_id: Mapped[str] = mapped_column(String(36), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Payment(Base):
    """A timesheet paid by a closed pay run (pay_run.closed, one row per line)."""

    __tablename__ = "payments"
    __table_args__ = (Index("payments_shift", "shift_id"),)
    timesheet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pay_run_id: Mapped[str] = mapped_column(String(36), nullable=False)
    shift_id: Mapped[str] = mapped_column(String(36), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


event_log = eventlog.table(Base.metadata)

# What a rebuild empties and fills again:
MODEL = (Organisation, Site, Worker, Document, Shift, ShiftStatus, Timesheet, Payment)

metadata = Base.metadata
