"""Pay bands, bank holidays and shift amounts (DESIGN.md "Rates" and "Pay").

Pure functions, no I/O. Instants are timezone-aware datetimes; elapsed time is measured in UTC and
each instant is classified by its Europe/London wall time, so clock changes are handled: the night
the clocks go back holds 13 h between 20:00 and 08:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)
CENT = Decimal("0.01")

# Highest first: a minute belongs to the first band that applies.
BANDS = ("bank_holiday", "weekend", "night", "day")
NIGHT_STARTS = time(21)
NIGHT_ENDS = time(7)

# One-off changes to the England and Wales list, by year: (holidays removed, holidays added).
_ONE_OFF_CHANGES: dict[int, tuple[set[date], set[date]]] = {
    1995: ({date(1995, 5, 1)}, {date(1995, 5, 8)}),  # early May moved for VE Day's 50th
    1999: (set(), {date(1999, 12, 31)}),  # millennium
    2002: ({date(2002, 5, 27)}, {date(2002, 6, 3), date(2002, 6, 4)}),  # Golden Jubilee
    2011: (set(), {date(2011, 4, 29)}),  # royal wedding
    2012: ({date(2012, 5, 28)}, {date(2012, 6, 4), date(2012, 6, 5)}),  # Diamond Jubilee
    2020: ({date(2020, 5, 4)}, {date(2020, 5, 8)}),  # early May moved for VE Day's 75th
    2022: (
        {date(2022, 5, 30)},
        {date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19)},  # Platinum Jubilee; State Funeral
    ),
    2023: (set(), {date(2023, 5, 8)}),  # coronation
}


def easter_sunday(year: int) -> date:
    """Western Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def bank_holidays(year: int) -> set[date]:
    """England and Wales bank holidays of `year`, as gov.uk lists them.

    A holiday falling on a weekend moves to the next weekday that is not already a holiday (Christmas
    on a Saturday and Boxing Day on a Sunday become Monday 27 and Tuesday 28), and the weekend date
    itself is then not a bank holiday.
    """
    return set(_bank_holidays(year))


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    regular = [
        date(year, 1, 1),
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        _first_monday(year, 5),  # early May
        _last_monday(year, 5),  # spring
        _last_monday(year, 8),  # summer
        date(year, 12, 25),
        date(year, 12, 26),
    ]
    holidays = {d for d in regular if d.weekday() < 5}
    for d in sorted(d for d in regular if d.weekday() >= 5):
        substitute = d
        while substitute.weekday() >= 5 or substitute in holidays:
            substitute += timedelta(days=1)
        holidays.add(substitute)
    removed, added = _ONE_OFF_CHANGES.get(year, (set(), set()))
    return frozenset((holidays - removed) | added)


def band_at(moment: datetime) -> str:
    """The highest band of the minute starting at `moment`, judged on Europe/London wall time."""
    local = _aware(moment).astimezone(LONDON)
    if local.date() in _bank_holidays(local.year):
        return "bank_holiday"
    if local.weekday() >= 5:  # Saturday 00:00 to Monday 00:00
        return "weekend"
    if local.time() >= NIGHT_STARTS or local.time() < NIGHT_ENDS:
        return "night"
    return "day"


def minutes_by_band(starts_at: datetime, ends_at: datetime) -> dict[str, int]:
    """Elapsed minutes of [starts_at, ends_at) in each band (every band present, zero if unused).

    The band can only change at local midnight, 07:00 and 21:00, so the interval is cut there and each
    piece classified once. Times are expected on whole minutes; a stray part minute is dropped.
    """
    start, end = _aware(starts_at).astimezone(UTC), _aware(ends_at).astimezone(UTC)
    if end < start:
        raise ValueError("ends_at is before starts_at")
    elapsed = dict.fromkeys(BANDS, timedelta(0))
    for piece_start, piece_end in pairwise(_band_boundaries(start, end)):
        elapsed[band_at(piece_start)] += piece_end - piece_start
    return {band: elapsed[band] // MINUTE for band in BANDS}


def standard_band(starts_at: datetime, ends_at: datetime, rates: Mapping[str, Decimal] | None = None) -> str:
    """The band holding most of the shift's minutes; on a tie the higher rate (given `rates`), then
    the higher band."""
    minutes = minutes_by_band(starts_at, ends_at)
    worked = [band for band in BANDS if minutes[band] > 0] or list(BANDS)
    rank = {band: -i for i, band in enumerate(BANDS)}  # a higher band ranks higher

    def weight(band: str) -> tuple[int, Decimal, int]:
        rate = _decimal(rates[band]) if rates is not None else Decimal(0)
        return minutes[band], rate, rank[band]

    return max(worked, key=weight)


def standard_rate(
    starts_at: datetime, ends_at: datetime, rates: Mapping[str, Decimal]
) -> tuple[str, Decimal]:
    """The standard band of a shift and its rate on the card `rates` (band name to hourly rate)."""
    band = standard_band(starts_at, ends_at, rates)
    return band, _decimal(rates[band])


def pay_amount(
    starts_at: datetime, ends_at: datetime, break_minutes: int, rates: Mapping[str, Decimal]
) -> Decimal:
    """Pay for a shift at its standard rate: each minute at its band's rate, breaks unpaid.

    Break minutes come off the lowest-paid band worked first, then the next lowest, and so on. The
    amount is exact until the end, where it is rounded half up to pennies.
    """
    minutes = minutes_by_band(starts_at, ends_at)
    if not 0 <= break_minutes <= sum(minutes.values()):
        raise ValueError("break_minutes must be between 0 and the shift's length")
    unpaid = break_minutes
    for band in sorted((b for b in BANDS if minutes[b] > 0), key=lambda b: _decimal(rates[b])):
        taken = min(unpaid, minutes[band])
        minutes[band] -= taken
        unpaid -= taken
    total = sum((minutes[band] * _decimal(rates[band]) for band in BANDS if minutes[band]), Decimal(0))
    return _pennies(total / 60)


def flat_amount(hours: Decimal, rate: Decimal) -> Decimal:
    """Pay for `hours` at a flat hourly `rate`, rounded half up to pennies."""
    return _pennies(_decimal(hours) * _decimal(rate))


# --- helpers --------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return moment


def _decimal(value: Decimal | int | str | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _pennies(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _band_boundaries(start: datetime, end: datetime) -> list[datetime]:
    """`start`, `end` and every local midnight, 07:00 and 21:00 between them, in UTC, in order."""
    cuts = {start, end}
    day = start.astimezone(LONDON).date()
    last = end.astimezone(LONDON).date()
    while day <= last:
        for wall in (time(0), NIGHT_ENDS, NIGHT_STARTS):
            cut = datetime.combine(day, wall, tzinfo=LONDON).astimezone(UTC)
            if start < cut < end:
                cuts.add(cut)
        day += timedelta(days=1)
    return sorted(cuts)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=last.weekday())
