"""Payroll's tables: rate cards (timesheets and pay runs come next)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, Numeric, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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


metadata = Base.metadata
