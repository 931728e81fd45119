"""Shifts' tables: shifts and their release steps, site policies, priority groups,
applications, and a copy of the sites they happen at."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.tables import new_id
from shifts.domain import AwaitedRelease


class Base(DeclarativeBase):
    metadata = MetaData()


class Site(Base):
    """Identity's site, as far as shifts needs it (learned on first use or from site.created)."""

    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)


class SitePolicy(Base):
    __tablename__ = "site_policies"
    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    approval_before_release: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    instant_book_allowed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    priority_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    cascade_hours_before: Mapped[int | None] = mapped_column(Integer)
    agency_cascade_needs_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class PriorityGroup(Base):
    __tablename__ = "priority_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


class PriorityGroupMember(Base):
    __tablename__ = "priority_group_members"
    __table_args__ = (PrimaryKeyConstraint("group_id", "worker_id"),)
    group_id: Mapped[str] = mapped_column(ForeignKey("priority_groups.id"))
    worker_id: Mapped[str] = mapped_column(String(36))


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (
        Index("shifts_site_start", "site_id", "starts_at"),
        Index("shifts_worker_start", "worker_id", "starts_at"),
        Index("shifts_bank_status_start", "bank_id", "status", "starts_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), nullable=False)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    grade: Mapped[str] = mapped_column(String(60), nullable=False)
    specialty: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    break_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    standard_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    rate_band: Mapped[str] = mapped_column(String(20), nullable=False)
    rate_violation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    violation_status: Mapped[str | None] = mapped_column(String(20))  # pending|approved|rejected
    approved_by: Mapped[str | None] = mapped_column(String(36))
    approval_reason: Mapped[str | None] = mapped_column(String(1000))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why a rate above the card is needed, as the poster said (optional), and who refused the rate
    # (POST /v1/shifts/{id}/reject, or a cancellation withdrawing it unapproved), why and when.
    justification: Mapped[str | None] = mapped_column(String(500))
    rejected_by: Mapped[str | None] = mapped_column(String(36))
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    instant_book: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # Release: who may see and take it now, and what was asked for while it waited.
    release_stage: Mapped[str | None] = mapped_column(String(20))
    priority_group_id: Mapped[str | None] = mapped_column(ForeignKey("priority_groups.id"))
    priority_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agency_tier: Mapped[int | None] = mapped_column(Integer)
    # A release asked for that waits for an approver: read and written only as the domain's
    # AwaitedRelease, through the `awaited` property below.
    awaited_release: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    worker_id: Mapped[str | None] = mapped_column(String(36))
    booked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    booked_by: Mapped[str | None] = mapped_column(String(36))
    cancellation_reason: Mapped[str | None] = mapped_column(String(1000))
    cancelled_by: Mapped[str | None] = mapped_column(String(20))  # site | worker (a rejected rate: site)
    late_cancellation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    retrospective: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())

    @property
    def awaited(self):
        return AwaitedRelease.from_json(self.awaited_release)

    @awaited.setter
    def awaited(self, release):
        self.awaited_release = None if release is None else release.to_json()


class ShiftStep(Base):
    """Every step of a shift's life (posted, approved, released, cascaded, booked...)."""

    __tablename__ = "shift_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), nullable=False, index=True)
    step: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[dict | None] = mapped_column(JSON)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class AgencyTier(Base):
    """Where an agency stands in a bank's cascade: tier N sees shifts cascaded to tiers 1..N."""

    __tablename__ = "agency_tiers"
    organisation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    tier: Mapped[int] = mapped_column(Integer, nullable=False)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("shift_id", "worker_id"), Index("applications_worker", "worker_id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), nullable=False)
    worker_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


metadata = Base.metadata
