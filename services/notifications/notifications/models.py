"""Notifications' tables: who may be told (a copy fed by identity's events), preferences, the
notifications themselves (the in-app inbox) and the delivery log, one row per person, source
event and channel."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.tables import new_id


class Base(DeclarativeBase):
    metadata = MetaData()


metadata = Base.metadata


class Bank(Base):
    __tablename__ = "banks"
    bank_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)


class Organisation(Base):
    __tablename__ = "organisations"
    organisation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)


class Site(Base):
    __tablename__ = "sites"
    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)


class Recipient(Base):
    """A person who may be told something: an account, and its worker if it is one."""

    __tablename__ = "recipients"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    worker_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    bank_id: Mapped[str | None] = mapped_column(String(36))  # a worker's bank


class Departure(Base):
    """A worker who left the bank (worker.left, or identity's answer): their inbox still
    fills, but nothing is sent to them any more. Apart from `recipients` because the
    departure may be heard of before the worker's registration."""

    __tablename__ = "departures"
    worker_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (Index("role_grants_role_scope", "role", "scope_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("recipients.user_id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(40), nullable=False)
    scope_type: Mapped[str] = mapped_column(String(20), nullable=False)
    scope_id: Mapped[str | None] = mapped_column(String(36))


class Preference(Base):
    __tablename__ = "preferences"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    in_app: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sms: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    push: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", Europe/London
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), onupdate=func.now())


class Notification(Base):
    """One thing told to one person. `source_key` is the event it came from (for shift offers,
    the shift: a person hears of one shift once); `in_inbox` is false when the person had the
    in-app channel off (the row still carries what the other channels send)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "source_key"),
        Index("notifications_inbox", "user_id", "created_at", "id", postgresql_where=text("in_inbox")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str | None] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(60), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    source_key: Mapped[str] = mapped_column(String(200), nullable=False)
    event_id: Mapped[str] = mapped_column(String(36), nullable=False)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    in_inbox: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """The delivery log: a notification on one channel. In-app rows are sent by the commit that
    writes them; outbound rows wait `pending` for the sender, which sends them at
    `next_attempt_at` (later under quiet hours, the digest or a retry), then marks them `sent`,
    or `failed` once the retries are spent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("user_id", "source_key", "channel"),
        Index("deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("deliveries_bank", "bank_id", "created_at", "id"),
        Index("deliveries_user_sent", "user_id", "sent_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    bank_id: Mapped[str | None] = mapped_column(String(36))
    source_key: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(60), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    address: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    held_for_digest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    digest_id: Mapped[str | None] = mapped_column(String(36))  # the email it went out in, if a digest
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())
