"""Identity's tables: accounts, grants, the bank tree and worker profiles."""

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from chassis.tables import new_id


class Base(DeclarativeBase):
    metadata = MetaData()


class Timestamped:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Bank(Timestamped, Base):
    __tablename__ = "banks"
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Last bank number issued; incremented under the row lock of its UPDATE.
    last_worker_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Organisation(Timestamped, Base):
    __tablename__ = "organisations"
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ods_code: Mapped[str | None] = mapped_column(String(20))


class Site(Timestamped, Base):
    __tablename__ = "sites"
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, index=True
    )
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    postcode: Mapped[str | None] = mapped_column(String(10))


class User(Timestamped, Base):
    __tablename__ = "users"
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    # Set when the account is deactivated: it no longer logs in and its tokens are refused.
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    grants: Mapped[list["RoleGrant"]] = relationship(lazy="selectin", order_by="RoleGrant.created_at")
    worker: Mapped["Worker | None"] = relationship(lazy="selectin", back_populates="user")


class RoleGrant(Timestamped, Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_type", "scope_id"),)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(40), nullable=False)
    scope_type: Mapped[str] = mapped_column(String(20), nullable=False)
    scope_id: Mapped[str | None] = mapped_column(String(36))
    # The bank the scope lies in, so a grant on a site still reaches the bank's workers.
    bank_id: Mapped[str | None] = mapped_column(String(36))


class Worker(Timestamped, Base):
    __tablename__ = "workers"
    __table_args__ = (
        UniqueConstraint("bank_id", "bank_number"),
        Index("workers_bank_status", "bank_id", "status"),
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id"), nullable=False)
    bank_number: Mapped[str] = mapped_column(String(20), nullable=False)
    staff_type: Mapped[str] = mapped_column(String(60), nullable=False)
    grade: Mapped[str] = mapped_column(String(60), nullable=False)
    extra_grades: Mapped[list[str]] = mapped_column(ARRAY(String(60)), nullable=False, default=list)
    specialty: Mapped[str | None] = mapped_column(String(100))
    registration_body: Mapped[str | None] = mapped_column(String(20))
    registration_number: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    max_travel_km: Mapped[float] = mapped_column(Float, nullable=False)
    opted_out_of_48h: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # The agency (an organisation of kind agency in the bank) that supplies this worker, if any.
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    # The version of the last compliance status fact applied: older facts are ignored.
    compliance_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    user: Mapped[User] = relationship(lazy="selectin", back_populates="worker")


class WorkerStatusChange(Base):
    """Every status transition a worker went through, and why."""

    __tablename__ = "worker_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"), nullable=False, index=True)
    from_status: Mapped[str] = mapped_column(String(20), nullable=False)
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("login_failures_email_at", "email", "failed_at"),
                      Index("login_failures_address_at", "client_address", "failed_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # where the attempt came from (the gateway's client address); None from a caller that gave none
    client_address: Mapped[str | None] = mapped_column(String(45))


metadata = Base.metadata
