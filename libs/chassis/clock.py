"""Time as the platform reads it: instants are aware datetimes (UTC on the wire), and every
calendar notion (day, night, weekend, bank holiday, "consecutive days", compliance's "today")
is Europe/London (API.md "Conventions")."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now():
    return datetime.now(UTC)


def london_date(moment):
    """The calendar day in London of an aware instant."""
    return moment.astimezone(LONDON).date()
