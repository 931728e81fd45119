"""Matching's tables: a read model of workers, their bookings and where they have worked,
fed only by events (DESIGN.md "Services")."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = MetaData()


metadata = Base.metadata
