"""Notifications' tables: inboxes, preferences, the delivery log."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = MetaData()


metadata = Base.metadata
