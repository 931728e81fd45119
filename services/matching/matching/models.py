"""Matching's tables: a read model of workers, their bookings and where they have worked,
fed only by events (DESIGN.md "Services"), and the log of every event it consumed and
published, from which `matching.rebuild` builds the model again.

Every model row is keyed by the producer's ids, and every column says which fact last set it
(`*_at` for identity's facts, compliance's `version`, a shift's status and stage ranks), so
facts applied in any order, and again, leave the same rows.
"""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis import eventlog


class Base(DeclarativeBase):
    metadata = MetaData()


class Worker(Base):
    """What identity and compliance said of a worker, and where it has worked. A row may exist
    before its registration arrives (a status, a compliance fact or a completed shift came
    first): `staff_type` is null until it does."""

    __tablename__ = "workers"
    worker_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    bank_id: Mapped[str | None] = mapped_column(String(36))
    agency_id: Mapped[str | None] = mapped_column(String(36))
    staff_type: Mapped[str | None] = mapped_column(String(60))
    grade: Mapped[str | None] = mapped_column(String(60))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # worker.registered / worker.updated, the newest applied (occurred_at):
    extra_grades: Mapped[list[str]] = mapped_column(ARRAY(String(60)), nullable=False, server_default="{}")
    max_travel_km: Mapped[float | None] = mapped_column(Float)
    opted_out_of_48h: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    profile_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # worker.registered and the status events, the newest applied:
    status: Mapped[str | None] = mapped_column(String(20))
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # compliance.cleared | uncleared | lapsed, the highest version applied:
    compliance_status: Mapped[str | None] = mapped_column(String(20))
    compliance_version: Mapped[int | None] = mapped_column(Integer)
    cleared_until: Mapped[date | None] = mapped_column(Date)
    # shift.completed:
    worked_sites: Mapped[list[str]] = mapped_column(ARRAY(String(36)), nullable=False, server_default="{}")
    worked_organisations: Mapped[list[str]] = mapped_column(ARRAY(String(36)), nullable=False,
                                                            server_default="{}")
    # Fairness: the London day (domain.day_number) of each shift it was named for lately, one
    # entry per shift, ascending; days before domain.fairness_since are dropped at each naming.
    offered_days: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False, server_default="{}")


class Reach(Base):
    """The index candidates are found in, derived from `workers` and `shifts` (rewritten under
    the worker's row lock whenever either changes): one row per worker who may work now (active,
    cleared) and grade it may work (its grade and extra grades), at its home, filed under its
    reach class (`domain.REACH_CLASSES`). A shift's survivors are one range scan on latitude per
    class, longitudes checked on the index entries; each row carries what judging and ranking
    the worker needs, its bookings from `domain.HORIZON` ago onwards among them (epoch seconds),
    so that no other table is read per candidate: its recent offers too (`offered_days`, kept
    with the worker's)."""

    __tablename__ = "reach"
    __table_args__ = (
        PrimaryKeyConstraint("worker_id", "grade"),
        Index("reach_lookup", "bank_id", "staff_type", "grade", "reach_km", "latitude", "longitude"),
    )
    worker_id: Mapped[str] = mapped_column(String(36))
    grade: Mapped[str] = mapped_column(String(60))
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    reach_km: Mapped[float] = mapped_column(Float, nullable=False)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(36))
    grades: Mapped[list[str]] = mapped_column(ARRAY(String(60)), nullable=False)
    max_travel_km: Mapped[float | None] = mapped_column(Float)
    opted_out_of_48h: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    compliance_status: Mapped[str] = mapped_column(String(20), nullable=False)
    cleared_until: Mapped[date | None] = mapped_column(Date)
    worked_sites: Mapped[list[str]] = mapped_column(ARRAY(String(36)), nullable=False)
    worked_organisations: Mapped[list[str]] = mapped_column(ARRAY(String(36)), nullable=False)
    booked_starts: Mapped[list[float]] = mapped_column(ARRAY(Float), nullable=False)
    booked_ends: Mapped[list[float]] = mapped_column(ARRAY(Float), nullable=False)
    offered_days: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False, server_default="{}")


class Site(Base):
    __tablename__ = "sites"
    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)


class Shift(Base):
    """A shift as shifts' events tell it: open to whom (its stage), and once booked, a booking in
    its worker's schedule."""

    __tablename__ = "shifts"
    __table_args__ = (
        Index("shifts_schedule", "worker_id", "starts_at",
              postgresql_where=text("status IN ('booked', 'completed')")),
        Index("shifts_open", "bank_id", "staff_type", "grade", "starts_at",
              postgresql_where=text("status IN ('open', 'agency')")),
        Index("shifts_site", "site_id"),
        Index("shifts_priority_group", "priority_group_id", postgresql_where=text("stage = 'priority'")),
    )
    shift_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    grade: Mapped[str] = mapped_column(String(60), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    hourly_rate: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_rank: Mapped[int] = mapped_column(Integer, nullable=False)  # domain.STATUS_RANK: only later moves
    worker_id: Mapped[str | None] = mapped_column(String(36))
    # Release, the furthest stage applied (domain.stage_rank), and the shifts event that opened it:
    stage: Mapped[str | None] = mapped_column(String(20))
    stage_rank: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    agency_tier: Mapped[int | None] = mapped_column(Integer)
    priority_group_id: Mapped[str | None] = mapped_column(String(36))
    release_event_id: Mapped[str | None] = mapped_column(String(36))


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (PrimaryKeyConstraint("group_id", "worker_id"),)
    group_id: Mapped[str] = mapped_column(String(36))
    worker_id: Mapped[str] = mapped_column(String(36))


class Offer(Base):
    """A worker named for a shift (matching.candidates_ranked): never named for it again."""

    __tablename__ = "offers"
    __table_args__ = (PrimaryKeyConstraint("shift_id", "worker_id"),)
    shift_id: Mapped[str] = mapped_column(String(36))
    worker_id: Mapped[str] = mapped_column(String(36))
    stage: Mapped[str] = mapped_column(String(20), nullable=False)


# Every event matching consumed or published, written in the unit of work that applied it:
# what `matching.rebuild` replays (chassis.eventlog). Not part of the model.
event_log = eventlog.table(Base.metadata)

MODEL = (Worker, Reach, Site, Shift, GroupMember, Offer)  # what a rebuild empties

metadata = Base.metadata
