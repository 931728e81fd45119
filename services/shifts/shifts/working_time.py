"""Working-time rules checked when a shift is booked (DESIGN.md "Working time at booking").

Pure functions, no I/O. Every datetime is timezone-aware; a `Shift` keeps its ends in UTC so that
all arithmetic is elapsed time, and calendar questions (which day, is it 23:00 yet) are asked in
Europe/London.

`broken_rules` judges the worker's whole schedule with the candidate in it, wherever the candidate
falls (before, between or after the booked shifts), but reports a rule only when the candidate is
part of a breach of it: a breach already in the schedule that does not involve the candidate does
not block this booking (it is not the candidate's doing, and refusing every later booking for it
would leave the worker unbookable).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from chassis.clock import LONDON

HOUR = timedelta(hours=1)

MAX_SHIFT = 13 * HOUR
MIN_REST = 11 * HOUR
ROLLING_WINDOW = 168 * HOUR
MAX_IN_ROLLING_WINDOW = 72 * HOUR
MAX_CONSECUTIVE_NIGHTS = 4
REST_AFTER_NIGHTS = 46 * HOUR
MAX_CONSECUTIVE_LONG = 4
REST_AFTER_LONG = 48 * HOUR
MAX_CONSECUTIVE_SHIFTS = 7
REST_AFTER_SHIFTS = 48 * HOUR
REFERENCE_WEEKS = 17
REFERENCE_PERIOD = timedelta(days=7 * REFERENCE_WEEKS)  # 119 days of elapsed time
WEEKLY_AVERAGE = 48 * HOUR
WEEKLY_AVERAGE_OPTED_OUT = 56 * HOUR
NIGHT_HOURS_NEEDED = 3 * HOUR
LONG_SHIFT = 10 * HOUR

RULES = (
    "max-shift-13h",
    "min-rest-11h",
    "max-72h-in-7-days",
    "max-consecutive-nights",
    "max-consecutive-long-shifts",
    "max-consecutive-shifts",
    "weekly-average-48h",
)


@dataclass(frozen=True)
class Shift:
    """A scheduled shift. Both ends must be timezone-aware; they are stored in UTC."""

    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        for moment in (self.starts_at, self.ends_at):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError("shift times must be timezone-aware")
        object.__setattr__(self, "starts_at", self.starts_at.astimezone(UTC))
        object.__setattr__(self, "ends_at", self.ends_at.astimezone(UTC))
        if self.ends_at <= self.starts_at:
            raise ValueError("a shift must end after it starts")

    @property
    def duration(self) -> timedelta:
        """Elapsed length, breaks included (a clock change makes a 20:00-08:00 shift 11 h or 13 h)."""
        return self.ends_at - self.starts_at

    @property
    def hours(self) -> float:
        return self.duration / HOUR

    @property
    def start_date(self) -> date:
        """Calendar date of the start in Europe/London: what "consecutive days" is judged on."""
        return self.starts_at.astimezone(LONDON).date()

    @property
    def is_long(self) -> bool:
        return self.duration > LONG_SHIFT

    @property
    def is_night(self) -> bool:
        """At least 3 h of elapsed time between 23:00 and 06:00 London time.

        The night hours of every night the shift touches are added up; on a clock-change night the
        23:00-06:00 stretch lasts 6 h (March) or 8 h (October) of real time.
        """
        return _night_time(self.starts_at, self.ends_at) >= NIGHT_HOURS_NEEDED

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        """Elapsed time this shift spends inside [start, end)."""
        return max(min(self.ends_at, end) - max(self.starts_at, start), timedelta(0))


def overlaps(a: Shift, b: Shift) -> bool:
    """Whether two shifts share any time (touching ends do not overlap)."""
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def broken_rules(schedule: Sequence[Shift], candidate: Shift, opted_out_of_48h: bool = False) -> list[str]:
    """Names of the rules, in `RULES` order, that the schedule breaks with `candidate` added.

    `schedule` is the worker's booked shifts across every organisation; `candidate` need not come
    after them. A rule is reported only if the candidate takes part in a breach of it (see the module
    docstring). Overlaps are not judged here (see `overlaps`), though an overlapping shift naturally
    leaves less than 11 h of rest.
    """
    ordered = sorted([*schedule, candidate], key=lambda s: (s.starts_at, s.ends_at))
    position = next(i for i, s in enumerate(ordered) if s is candidate)
    context = _Context(tuple(ordered), position, opted_out_of_48h)
    return [rule for rule in RULES if _CHECKS[rule](context)]


# --- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    shifts: tuple[Shift, ...]  # the whole schedule with the candidate, ordered by start
    position: int  # the candidate's index in `shifts`
    opted_out: bool

    @property
    def candidate(self) -> Shift:
        return self.shifts[self.position]

    def near(self, reach: timedelta) -> list[Shift]:
        """Shifts that share time with the candidate widened by `reach` on both sides."""
        c = self.candidate
        return [s for s in self.shifts if s.ends_at > c.starts_at - reach and s.starts_at < c.ends_at + reach]


def _max_shift(ctx: _Context) -> bool:
    """Exactly 13 h is allowed. Only the candidate's own length is the candidate's doing."""
    return ctx.candidate.duration > MAX_SHIFT


def _min_rest(ctx: _Context) -> bool:
    """Exactly 11 h is allowed; rest is checked against the shifts on both sides of the candidate."""
    c = ctx.candidate
    return any(_rest_between(c, s) < MIN_REST for i, s in enumerate(ctx.shifts) if i != ctx.position)


def _max_in_rolling_window(ctx: _Context) -> bool:
    """More than 72 h inside some 168 h window that holds part of the candidate.

    The hours in a window are a piecewise-linear function of where it starts, so its maximum is where
    the window starts at a shift's start or ends at a shift's end; the two extreme placements that
    just touch the candidate are tried too (a window over the limit there still is an instant later,
    when it holds a sliver of the candidate).
    """
    c = ctx.candidate
    nearby = ctx.near(ROLLING_WINDOW)
    if _total(nearby) <= MAX_IN_ROLLING_WINDOW:
        return False  # no window can hold more than all of them
    earliest, latest = c.starts_at - ROLLING_WINDOW, c.ends_at
    placements = {earliest, latest}
    placements.update(s.starts_at for s in nearby)
    placements.update(s.ends_at - ROLLING_WINDOW for s in nearby)
    return any(
        _time_inside(nearby, start, start + ROLLING_WINDOW) > MAX_IN_ROLLING_WINDOW
        for start in placements
        if earliest <= start <= latest
    )


def _consecutive_nights(ctx: _Context) -> bool:
    """At most 4 nights in a run; 46 h rest after the last night of every run, even of one.

    The rest breach is the last night's and the next shift's: a candidate earlier in the run of nights
    does not change it.
    """
    nights = [i for i, s in enumerate(ctx.shifts) if s.is_night]
    for run in _runs(ctx.shifts, nights):
        if len(run) > MAX_CONSECUTIVE_NIGHTS and ctx.position in run:
            return True
        if _short_rest_after(ctx, run[-1:], REST_AFTER_NIGHTS):
            return True
    return False


def _consecutive_long(ctx: _Context) -> bool:
    """At most 4 long shifts in a run; 48 h rest after the 4th before the next shift of any kind."""
    longs = [i for i, s in enumerate(ctx.shifts) if s.is_long]
    return _run_limit_broken(ctx, longs, MAX_CONSECUTIVE_LONG, REST_AFTER_LONG)


def _consecutive_shifts(ctx: _Context) -> bool:
    """At most 7 shifts in a run; 48 h rest after the 7th before the next shift."""
    return _run_limit_broken(ctx, range(len(ctx.shifts)), MAX_CONSECUTIVE_SHIFTS, REST_AFTER_SHIFTS)


def _weekly_average(ctx: _Context) -> bool:
    """Hours in the 17 weeks ending at a shift's end, over 17, above 48 h (56 h opted out).

    The period ending at the candidate's end is checked, and so, since the rules hold for the whole
    schedule, is the period ending at every later shift's end that still reaches back into the
    candidate. Only the part of each shift inside the period counts; 119 days are elapsed time.
    """
    c = ctx.candidate
    limit = (WEEKLY_AVERAGE_OPTED_OUT if ctx.opted_out else WEEKLY_AVERAGE) * REFERENCE_WEEKS
    nearby = ctx.near(REFERENCE_PERIOD)
    if _total(nearby) <= limit:
        return False  # no period can hold more than all of them
    period_ends = {s.ends_at for s in nearby if c.starts_at < s.ends_at < c.ends_at + REFERENCE_PERIOD}
    return any(_time_inside(nearby, end - REFERENCE_PERIOD, end) > limit for end in period_ends)


_CHECKS: dict[str, Callable[[_Context], bool]] = {
    "max-shift-13h": _max_shift,
    "min-rest-11h": _min_rest,
    "max-72h-in-7-days": _max_in_rolling_window,
    "max-consecutive-nights": _consecutive_nights,
    "max-consecutive-long-shifts": _consecutive_long,
    "max-consecutive-shifts": _consecutive_shifts,
    "weekly-average-48h": _weekly_average,
}


# --- helpers --------------------------------------------------------------------------------------


def _rest_between(a: Shift, b: Shift) -> timedelta:
    """Time from the end of the earlier shift to the start of the later one (negative if they overlap)."""
    return max(b.starts_at - a.ends_at, a.starts_at - b.ends_at)


def _total(shifts: Iterable[Shift]) -> timedelta:
    return sum((s.duration for s in shifts), timedelta(0))


def _time_inside(shifts: Iterable[Shift], start: datetime, end: datetime) -> timedelta:
    return sum((s.overlap(start, end) for s in shifts), timedelta(0))


def _runs(shifts: Sequence[Shift], members: Iterable[int]) -> list[list[int]]:
    """Split `members` (indices into start-ordered `shifts`) into runs on consecutive calendar days.

    A run continues while each member starts on the same day as the previous one or the day after.
    Runs count shifts, so two shifts starting on one day both count (the conservative reading).
    """
    runs: list[list[int]] = []
    for i in members:
        if runs and (shifts[i].start_date - shifts[runs[-1][-1]].start_date).days <= 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _short_rest_after(ctx: _Context, run_part: Sequence[int], needed: timedelta) -> bool:
    """Whether the shift after the last of `run_part` starts too soon, the candidate taking part.

    The candidate takes part if it is that following shift or in `run_part`: the shifts whose run made
    the rest necessary (with the candidate left out, that run would be shorter or not end there).
    """
    index = run_part[-1]
    following = index + 1
    if following >= len(ctx.shifts) or (ctx.position != following and ctx.position not in run_part):
        return False
    return ctx.shifts[following].starts_at - ctx.shifts[index].ends_at < needed


def _run_limit_broken(ctx: _Context, members: Iterable[int], limit: int, rest: timedelta) -> bool:
    """A run longer than `limit` holding the candidate, or too little rest after a run's `limit`-th shift."""
    for run in _runs(ctx.shifts, members):
        if len(run) > limit and ctx.position in run:
            return True
        if len(run) >= limit and _short_rest_after(ctx, run[:limit], rest):
            return True
    return False


@functools.lru_cache(maxsize=4096)  # a shift is judged against many schedules (matching: thousands)
def _night_time(starts_at: datetime, ends_at: datetime) -> timedelta:
    """Elapsed time a shift (UTC ends) spends between 23:00 and 06:00 London time, over every
    night it touches."""
    shift = Shift(starts_at, ends_at)
    first = starts_at.astimezone(LONDON).date() - timedelta(days=1)
    last = ends_at.astimezone(LONDON).date()
    total = timedelta(0)
    day = first
    while day <= last:
        night_start = datetime.combine(day, time(23), tzinfo=LONDON).astimezone(UTC)
        night_end = datetime.combine(day + timedelta(days=1), time(6), tzinfo=LONDON).astimezone(UTC)
        total += shift.overlap(night_start, night_end)
        day += timedelta(days=1)
    return total
