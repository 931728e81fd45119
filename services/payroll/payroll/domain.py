"""Payroll's rules: pay bands, bank holidays, what a timesheet pays, the overpayment guard,
the timesheet's state machine and the split of an amount into pay elements (DESIGN.md "Rates"
and "Pay").

Pure functions, no I/O. Instants are timezone-aware datetimes; elapsed time is measured in UTC and
each instant is classified by its Europe/London wall time, so clock changes are handled: the night
the clocks go back holds 13 h between 20:00 and 08:00.

Money is `Decimal` throughout, never float. Rounding: a timesheet's amount is computed exactly
(paid minutes x hourly rate / 60, summed over the bands) and rounded once, half up, to pennies;
hours are paid minutes / 60 rounded half up to 2 places (for display and exports: pay follows the
minutes, not the rounded hours). A pay run's total is the sum of its rounded amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import pairwise

from chassis.clock import LONDON

MINUTE = timedelta(minutes=1)
CENT = Decimal("0.01")

# Highest first: a minute belongs to the first band that applies.
BANDS = ("bank_holiday", "weekend", "night", "day")
NIGHT_STARTS = time(21)
NIGHT_ENDS = time(7)

# One-off changes to the England and Wales list, by year: (holidays removed, holidays added).
# The regular rules below give every other year; the list is right through 2027 (checked against
# gov.uk). When a new one-off holiday is announced, add its year here (and a test).
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


def paid_minutes_by_band(
    starts_at: datetime, ends_at: datetime, break_minutes: int, rates: Mapping[str, Decimal]
) -> dict[str, int]:
    """Minutes paid in each band once the unpaid break is taken off.

    Break minutes come off the lowest-paid band worked first, then the next lowest, and so on (two
    bands at the same rate: the lower band first, day before night before weekend).
    """
    minutes = minutes_by_band(starts_at, ends_at)
    if not 0 <= break_minutes <= sum(minutes.values()):
        raise ValueError("break_minutes must be between 0 and the shift's length")
    unpaid = break_minutes
    lowest_first = sorted((b for b in BANDS if minutes[b] > 0),
                          key=lambda b: (_decimal(rates[b]), -BANDS.index(b)))
    for band in lowest_first:
        taken = min(unpaid, minutes[band])
        minutes[band] -= taken
        unpaid -= taken
    return minutes


def pay_amount(
    starts_at: datetime, ends_at: datetime, break_minutes: int, rates: Mapping[str, Decimal]
) -> Decimal:
    """Pay for a shift at its standard rate: each minute at its band's rate, breaks unpaid (off the
    lowest-paid band, see paid_minutes_by_band). Exact until the end, then rounded half up to pennies.
    """
    minutes = paid_minutes_by_band(starts_at, ends_at, break_minutes, rates)
    return _pennies(_exact(minutes, rates))


def flat_amount(hours: Decimal, rate: Decimal) -> Decimal:
    """Pay for `hours` at a flat hourly `rate`, rounded half up to pennies."""
    return _pennies(_decimal(hours) * _decimal(rate))


# --- what a timesheet pays -----------------------------------------------------------------------

FLAT = "flat"  # the pay element of a shift paid flat at its posted rate


@dataclass(frozen=True)
class Pay:
    """What a timesheet pays.

    basis: "banded" (the shift was posted at its standard rate: each minute in its band) or "flat"
    (posted at any other rate: every minute at that rate). `minutes` maps each pay element (a band,
    or "flat") to the minutes paid in it, breaks taken off; `rates` its hourly rate.
    """

    basis: str
    minutes: dict
    rates: dict
    hours: Decimal
    amount: Decimal

    @property
    def paid_minutes(self) -> int:
        return sum(self.minutes.values())


def is_banded(hourly_rate: Decimal, standard_rate: Decimal) -> bool:
    """A shift at its standard rate (posted without a rate, or with exactly that rate) is paid by
    band; any other rate is paid flat (DESIGN.md "Pay")."""
    return _decimal(hourly_rate) == _decimal(standard_rate)


def timesheet_pay(
    started_at: datetime, ended_at: datetime, break_minutes: int, hourly_rate: Decimal,
    standard_rate: Decimal, card: Mapping[str, Decimal] | None,
) -> Pay:
    """The pay of the time worked, [started_at, ended_at) less an unpaid break.

    Banded: minute by minute on the card `card` (band -> rate), the break off the lowest-paid band
    worked. Flat: the paid minutes at `hourly_rate`. Either way the exact amount is rounded once,
    half up, to pennies; hours are the paid minutes / 60, rounded half up to 2 places.
    """
    if is_banded(hourly_rate, standard_rate):
        if card is None:
            raise ValueError("a shift paid by band needs its rate card")
        by_band = paid_minutes_by_band(started_at, ended_at, break_minutes, card)
        minutes = {band: by_band[band] for band in BANDS if by_band[band]}
        rates = {band: _decimal(card[band]) for band in minutes}
        basis = "banded"
    else:
        worked = sum(minutes_by_band(started_at, ended_at).values())
        if not 0 <= break_minutes <= worked:
            raise ValueError("break_minutes must be between 0 and the time worked")
        minutes = {FLAT: worked - break_minutes} if worked > break_minutes else {}
        rates = {FLAT: _decimal(hourly_rate)} if minutes else {}
        basis = FLAT
    return Pay(basis, minutes, rates, hours_of(sum(minutes.values())), _pennies(_exact(minutes, rates)))


def hours_of(minutes: int) -> Decimal:
    """Minutes as hours with 2 places, rounded half up (7 h 20 min is 7.33)."""
    return _pennies(Decimal(minutes) / 60)


def pay_elements(pay: Pay) -> list[tuple[str, int, Decimal, Decimal]]:
    """The amount split by pay element, for exports: [(element, minutes, rate, amount)], highest band
    first. Each element's exact amount is rounded half up; any penny the rounding gains or loses
    against the timesheet's amount is put on the element with the most minutes (the higher band
    on a tie), so the elements always add up to the amount paid."""
    order = [e for e in (*BANDS, FLAT) if e in pay.minutes]
    amounts = {e: _pennies(pay.minutes[e] * pay.rates[e] / 60) for e in order}
    residue = pay.amount - sum(amounts.values(), Decimal(0))
    if order and residue:
        largest = max(order, key=lambda e: (pay.minutes[e], -order.index(e)))
        amounts[largest] += residue
    return [(e, pay.minutes[e], pay.rates[e], amounts[e]) for e in order]


# --- the overpayment guard -----------------------------------------------------------------------

OVERPAYMENT_SHARE = Decimal("0.25")
OVERPAYMENT_MINUTES = 120


def scheduled_minutes(starts_at: datetime, ends_at: datetime, break_minutes: int) -> int:
    """The paid minutes a shift was scheduled for: its elapsed length less its scheduled break."""
    return max(int((ends_at - starts_at) // MINUTE) - break_minutes, 0)


def needs_second_approval(paid_minutes: int, scheduled: int) -> bool:
    """More than 25% or more than 2 h over the scheduled hours, whichever is less (DESIGN.md "Pay"):
    hours are compared after breaks on both sides (the timesheet's break and the shift's)."""
    over = paid_minutes - scheduled
    return over > min(OVERPAYMENT_SHARE * scheduled, OVERPAYMENT_MINUTES)


# --- timesheets ----------------------------------------------------------------------------------

SUBMITTED, APPROVED, REJECTED = "submitted", "approved", "rejected"
TIMESHEET_STATUSES = (SUBMITTED, APPROVED, REJECTED)
SHIFT_PAYABLE = "completed"  # only a completed shift gets a timesheet


def timesheet_errors(started_at: datetime, ended_at: datetime, shift_starts_at: datetime,
                     shift_ends_at: datetime, now: datetime) -> dict[str, list[str]]:
    """What is wrong with the times claimed, given the shift (field -> messages; empty if nothing).

    The time worked must overlap the scheduled shift (a claim for another day is a mistake) and
    must have ended (hours are claimed once worked). The schema already checked that the claim
    ends after it starts, lasts at most 24 h and that the break is shorter than the time worked.
    """
    errors: dict[str, list[str]] = {}
    if ended_at > now:
        errors.setdefault("ended_at", []).append("Must not be in the future.")
    if not (started_at < shift_ends_at and ended_at > shift_starts_at):
        errors.setdefault("started_at", []).append("The time worked must overlap the shift's scheduled time.")
    return errors


def approvals_needed(second_approval_required: bool) -> int:
    return 2 if second_approval_required else 1


def awaiting(status: str, approvals: int) -> str | None:
    """What a submitted timesheet waits for: "approval", "second_approval" (the overpayment guard
    needs a second, different approver), or None once decided."""
    if status != SUBMITTED:
        return None
    return "approval" if approvals == 0 else "second_approval"


def after_approval(status: str, approvals_so_far: int, second_approval_required: bool) -> str:
    """The status after one more approval; Conflict-worthy states raise ValueError."""
    if status != SUBMITTED:
        raise ValueError(f"the timesheet is {status}, not awaiting approval")
    done = approvals_so_far + 1 >= approvals_needed(second_approval_required)
    return APPROVED if done else SUBMITTED


def check_may_reject(status: str) -> None:
    if status != SUBMITTED:
        raise ValueError(f"the timesheet is {status}, not awaiting approval")


# --- helpers --------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return moment


def _decimal(value: Decimal | int | str | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _pennies(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _exact(minutes: Mapping[str, int], rates: Mapping[str, Decimal]) -> Decimal:
    """The unrounded pay of `minutes` per element at `rates` per hour."""
    return sum((minutes[e] * _decimal(rates[e]) for e in minutes if minutes[e]), Decimal(0)) / 60


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
