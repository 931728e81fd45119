"""Compliance's tables: documents with their full history, requirements, notices."""

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.tables import new_id


class Base(DeclarativeBase):
    metadata = MetaData()


class WorkerProfile(Base):
    """What compliance knows of a worker (from identity), and where its checks stand."""

    __tablename__ = "worker_profiles"
    worker_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    registration_body: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    # Bumped at every change of status; carried by compliance.cleared/uncleared/lapsed so a consumer
    # can ignore a fact older than one it has already applied.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cleared_until: Mapped[date | None] = mapped_column(Date)  # as last published (domain.cleared_until)
    first_document_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("documents_worker_kind", "worker_id", "kind"),
        Index("documents_expiry", "expires_on", postgresql_where="status = 'verified'"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    worker_id: Mapped[str] = mapped_column(ForeignKey("worker_profiles.worker_id"), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    reference: Mapped[str] = mapped_column(String(200), nullable=False)
    registration_body: Mapped[str | None] = mapped_column(String(20))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="submitted")
    note: Mapped[str | None] = mapped_column(String(1000))
    submitted_by: Mapped[str | None] = mapped_column(String(36))
    verified_by: Mapped[str | None] = mapped_column(String(36))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


class Requirement(Base):
    """The kinds a bank requires of a staff type; absent means all seven."""

    __tablename__ = "requirements"
    __table_args__ = (PrimaryKeyConstraint("bank_id", "staff_type"),)
    bank_id: Mapped[str] = mapped_column(String(36))
    staff_type: Mapped[str] = mapped_column(String(60))
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(40)), nullable=False)


class RegistrationNumber(Base):
    """A professional registration number belongs to one worker per bank."""

    __tablename__ = "registration_numbers"
    __table_args__ = (PrimaryKeyConstraint("bank_id", "body", "number"),)
    bank_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(200))
    worker_id: Mapped[str] = mapped_column(String(36), nullable=False)


class ExpiryNotice(Base):
    """One row per notice sent (30, 14, 1 days before; 0 = lapsed): each is sent once."""

    __tablename__ = "expiry_notices"
    __table_args__ = (PrimaryKeyConstraint("document_id", "days_before"),)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                              server_default=func.now())


metadata = Base.metadata
