"""Matching's rules, pure: which workers of the read model may hear of an open shift, and in
what order. No I/O.

Who may take a shift is not decided here. It is shifts' own rule, imported rather than copied
(`shifts.domain.booking_refusals`, with `shifts.working_time` behind it, `open_to_worker` for the
priority window and `distance_km` for the travel radius), so matching can never disagree with
booking about a worker it knows the same facts of. What this module adds:

- the facts booking asks identity and compliance for, read from the model instead
  (`booking_candidate`: status, staff type and grades, compliance cleared on the shift's day);
- which of a worker's bookings can matter to the working-time rules (`Schedules`): most
  workers' cannot, and booking's verdict on no bookings, computed once, is theirs too (the
  index statement leaves their bookings out: `Schedules.sure_isolation`, `eligible_candidates`);
- the index's geometry (`reach_class`, `bounding_box`): a box sure to hold every point within a
  radius, on the sphere `distance_km` measures on;
- the order candidates are told in (`candidates`), and how the model takes facts that arrive out
  of order and more than once (`newer`, `STATUS_RANK`, `stage_rank`).

Booking never reads this model (API.md "Consistency"); it only decides who hears of what.
"""

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from chassis.clock import LONDON, london_date
from shifts import domain as shift_rules
from shifts.working_time import (
    MAX_CONSECUTIVE_SHIFTS,
    MAX_IN_ROLLING_WINDOW,
    MIN_REST,
    REFERENCE_PERIOD,
    REFERENCE_WEEKS,
    REST_AFTER_LONG,
    REST_AFTER_NIGHTS,
    REST_AFTER_SHIFTS,
    ROLLING_WINDOW,
    WEEKLY_AVERAGE,
)

DEFAULT_MAX_TRAVEL_KM = 50.0  # API.md "Notifications"
MAX_SHIFT_LENGTH = shift_rules.MAX_SHIFT_LENGTH  # 24 h: shifts refuses longer ones
EARTH_RADIUS_KM = 6371.0088  # the sphere of shifts.domain.distance_km
FAIRNESS_DAYS = 7  # "offered least lately": offers on the last 7 London days, today included

# Workers are indexed by the smallest of these radii that holds their max_travel_km, so that one
# bounding box per class finds every worker whose own radius may reach a site.
REACH_CLASSES = (10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)

MAY_WORK = "active"  # the worker status booking requires
CLEARED = "cleared"  # the compliance status that clears a worker
RELEASED = shift_rules.BOOKABLE  # open, agency: released and not yet booked
WORKING = shift_rules.WORKING  # booked, completed: in a worker's schedule

# A shift's facts arrive in any order: a status is taken only over a lower one (open < agency <
# booked < completed | cancelled; completed and cancelled both end a shift).
STATUS_RANK = {"open": 1, "agency": 2, "booked": 3, "completed": 4, "cancelled": 4}

# The priority window is open until shifts publishes the shift to the bank: matching has no
# clock of its own for it.
_UNTIL_SHIFTS_SAYS = datetime.max.replace(tzinfo=UTC)


def stage_rank(stage, tier=None):
    """Release order: priority group, then the bank, then agency tier 1, 2, ..."""
    return {"priority": 1, "bank": 2}.get(stage, 2 + (tier or 0))


def newer(occurred_at, last_applied):
    """Is a fact that occurred at `occurred_at` newer than the last one applied (None: none)?"""
    return last_applied is None or occurred_at > last_applied


# --- the working-time rules' reach --------------------------------------------------------
#
# Judging a worker with `broken_rules` costs a tenth of a millisecond or more, growing with its
# bookings. `Schedules.of` hands booking's rules the schedule that gives the verdict the whole
# schedule would, and no more; each step is proved against each rule (DESIGN.md "Working time"):
#
# 1. Bookings beyond FAR change no verdict: every 17-week period holding part of the shift lies
#    within FAR, and everything else the rules look at lies much nearer (below); a run reaching
#    beyond FAR holds more shifts than any run limit, with or without what lies beyond.
# 2. Isolated: no booking within REST of the shift (nor starting on its London day or the days
#    either side), and the hours within ROLLING of it and within FAR of it under the 72-hour and
#    the lower 17-week limits with the shift added. Then the verdict is the one on no bookings
#    (computed once for everyone): max-shift-13h is the shift's own length; min-rest-11h and
#    overlapping-booking see every other shift more than REST away; every 168-hour window holding
#    part of the shift lies within ROLLING; the shift makes a run of its own and every rest it
#    takes part in lasts REST or more, the longest any run asks for; no 17-week period can exceed
#    even the lower limit. Most workers are isolated from most shifts.
# 3. Otherwise, while the hours within FAR stay under the lower 17-week limit (the weekly
#    average cannot be broken), only bookings within NEAR matter, with every run of shifts on
#    consecutive days they belong to kept whole: min-rest and the 72-hour windows look within
#    ROLLING; a run the shift belongs to is kept whole; a rest the shift takes part in follows
#    the first MAX_CONSECUTIVE_SHIFTS of a run (at most that many days, a shift's length and
#    REST away) or precedes the shift by less than REST.
# 4. Otherwise every booking within FAR.
REST = max(MIN_REST, REST_AFTER_NIGHTS, REST_AFTER_LONG, REST_AFTER_SHIFTS)
ROLLING = ROLLING_WINDOW
NEAR = timedelta(days=MAX_CONSECUTIVE_SHIFTS + 2) + REST  # the run, a shift's length, REST, a day
FAR = REFERENCE_PERIOD + timedelta(days=1)
HORIZON = FAR + timedelta(days=1)  # a booking that ended before now - HORIZON matters to no shift to come
_MOST_IN_ANY_PERIOD = WEEKLY_AVERAGE * REFERENCE_WEEKS  # the lower limit: not opted out
_DAY = 86400.0
# So many bookings of a day at most, with the shift, stay under the lower 17-week limit.
_FEW_ENOUGH = int((_MOST_IN_ANY_PERIOD - MAX_SHIFT_LENGTH) / MAX_SHIFT_LENGTH)


def _moment(epoch):
    return datetime.fromtimestamp(epoch, UTC)


def _midnight(day):
    return datetime.combine(day, time(0), LONDON).timestamp()


class Schedules:
    """The schedule booking's rules are to judge each worker on, for one shift (see above).
    Bookings come as epoch seconds, by start; shifts last at most a day, so what may lie within
    a window is found by bisecting the starts."""

    def __init__(self, starts_at, ends_at):
        start, end = starts_at.timestamp(), ends_at.timestamp()
        self.starts_at, self.ends_at, self._length = starts_at, ends_at, end - start
        rest, rolling = REST.total_seconds(), ROLLING.total_seconds()
        near, far = NEAR.total_seconds(), FAR.total_seconds()
        self._rest = start - rest, end + rest
        day = london_date(starts_at)
        self._days = _midnight(day - timedelta(days=1)), _midnight(day + timedelta(days=2))
        self._rolling = start - rolling, end + rolling
        self._near = start - near, end + near
        self._far = start - far, end + far
        self._most = _MOST_IN_ANY_PERIOD.total_seconds()
        self._rolling_most = MAX_IN_ROLLING_WINDOW.total_seconds()

    def sure_isolation(self):
        """What the index statement needs to leave out the bookings of a worker surely isolated
        (`of` would return () whatever they are), by counting booking starts in ranges: ranges
        (lower, upper] by name, and the most starts allowed in each. Each range holds the one `of`
        or `_isolated` looks in (a second wider at the bottom, for the half-open ranges), so that
        counting never says isolated where `of` would not: at most _FEW_ENOUGH within FAR (its
        first test, and so the 17-week hours); none that may overlap the REST around the shift (a
        booking lasts at most a day) nor start on the London days around it; so few within
        ROLLING that even a day's work each keeps the 72 hours (the hours `_isolated` adds)."""
        rest_lower, rest_upper = self._rest
        days_lower, days_upper = self._days
        rolling_lower, rolling_upper = self._rolling
        return {"far": (self._far[0] - _DAY - 1, self._far[1], _FEW_ENOUGH),
                "rest": (rest_lower - _DAY - 1, rest_upper, 0),
                "days": (days_lower - 1, days_upper, 0),
                "rolling": (rolling_lower - _DAY - 1, rolling_upper,
                            int((self._rolling_most - self._length) // _DAY))}

    def of(self, booked_starts, booked_ends):
        """The worker's bookings to judge, as (starts_at, ends_at) pairs; () when isolated."""
        far_lower, far_upper = self._far
        rolling_lower, rolling_upper = self._rolling
        first, last = bisect_left(booked_starts, far_lower - _DAY), bisect_left(booked_starts, far_upper)
        near = slice(bisect_left(booked_starts, rolling_lower - _DAY),
                     bisect_left(booked_starts, rolling_upper))
        if last - first <= _FEW_ENOUGH and near.start == near.stop:
            return ()  # nothing within ROLLING, too few within FAR to reach the 17-week limit
        within_far = [(start, end) for start, end in zip(booked_starts[first:last], booked_ends[first:last],
                                                         strict=True) if end > far_lower]
        booked = sum(end - start for start, end in within_far)
        if booked + self._length <= self._most and self._isolated(
                zip(booked_starts[near], booked_ends[near], strict=True)):
            return ()
        moments = [(_moment(start), _moment(end)) for start, end in within_far]
        if booked + self._length > self._most:
            return tuple(moments)
        near_lower, near_upper = self._near
        keep = [end > near_lower and start < near_upper for start, end in within_far]
        days = [london_date(start) for start, _ in moments]
        for i in range(1, len(days)):  # keep whole every run of consecutive days a kept one is in
            keep[i] = keep[i] or (keep[i - 1] and (days[i] - days[i - 1]).days <= 1)
        for i in range(len(days) - 2, -1, -1):
            keep[i] = keep[i] or (keep[i + 1] and (days[i + 1] - days[i]).days <= 1)
        return tuple(moment for moment, kept in zip(moments, keep, strict=True) if kept)

    def _isolated(self, near):
        """Step 2 for the bookings that may lie within ROLLING (the 17-week hours are checked)."""
        rolling_lower = self._rolling[0]
        rest_lower, rest_upper = self._rest
        days_lower, days_upper = self._days
        hours = self._length
        for start, end in near:
            if end <= rolling_lower:
                continue
            if (start < rest_upper and end > rest_lower) or days_lower <= start < days_upper:
                return False
            hours += end - start
        return hours <= self._rolling_most


# --- the index's geometry -------------------------------------------------------------------

def reach_class(max_travel_km):
    km = radius(max_travel_km)
    return next((c for c in REACH_CLASSES if km <= c), REACH_CLASSES[-1])


@dataclass(frozen=True)
class Box:
    """Latitudes and longitudes (degrees) holding every point within a radius of a centre;
    `longitudes` is None when every longitude may (a pole or the antimeridian is in reach)."""

    south: float
    north: float
    longitudes: tuple | None


def bounding_box(latitude, longitude, km):
    """The box around a spherical cap of radius `km` (great-circle distance on the sphere
    `distance_km` uses), widened by a hair so that rounding never leaves a point out."""
    angle = km / EARTH_RADIUS_KM + 1e-9
    delta = math.degrees(angle)
    south, north = latitude - delta, latitude + delta
    if south <= -90 or north >= 90:
        return Box(max(south, -90.0), min(north, 90.0), None)
    spread = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(latitude)))))
    west, east = longitude - spread, longitude + spread
    if west < -180 or east > 180:
        return Box(south, north, None)
    return Box(south, north, (west, east))


def indexed(worker):
    """Does the index file this worker (models.Worker)? Only a registered worker who may work now
    (active, cleared) can be anyone's candidate; the shift's day is judged at the query."""
    return (worker.staff_type is not None and worker.status == MAY_WORK
            and worker.compliance_status == CLEARED)


class Admission(NamedTuple):
    """What decides which shifts a worker may take, as the model holds it."""

    indexed: bool
    grades: frozenset
    cleared_until: date | None
    max_travel_km: float | None
    opted_out_of_48h: bool

    @classmethod
    def of(cls, worker):
        """Of a models.Worker."""
        return cls(indexed(worker), frozenset([worker.grade, *worker.extra_grades]),
                   worker.cleared_until, worker.max_travel_km, worker.opted_out_of_48h)


def admits_more(before, after):
    """May a worker whose facts went from `before` to `after` (Admission) take some shift it could
    not before? Only then are the open shifts looked through for it again."""
    if not after.indexed:
        return False
    if not before.indexed:
        return True
    return bool(after.grades - before.grades
                or radius(after.max_travel_km) > radius(before.max_travel_km)
                or (after.opted_out_of_48h and not before.opted_out_of_48h)
                or (before.cleared_until is not None
                    and (after.cleared_until is None or after.cleared_until > before.cleared_until)))


def radius(max_travel_km):
    return DEFAULT_MAX_TRAVEL_KM if max_travel_km is None else max_travel_km


def reaches(worker, latitude, longitude):
    """The worker's distance to a place if its travel radius reaches it, else None."""
    distance = shift_rules.distance_km(worker.latitude, worker.longitude, latitude, longitude)
    return distance if distance <= radius(worker.max_travel_km) else None


# --- who may take it ---------------------------------------------------------------------

class Worker(NamedTuple):
    """A worker as the model's index holds it, seen from one shift (queries read these fields,
    in this order): its bookings from HORIZON ago onwards as epoch seconds by start, whether it
    has worked at the shift's site and organisation, and how often it was offered work in the
    last FAIRNESS_DAYS (`offered_days`: day_number of each offer, ascending). A named tuple: a shift
    may have thousands of these to judge."""

    worker_id: str
    user_id: str
    status: str | None
    staff_type: str | None
    grades: tuple
    opted_out_of_48h: bool
    compliance_status: str | None
    cleared_until: date | None
    latitude: float
    longitude: float
    max_travel_km: float | None
    worked_at_site: bool = False
    worked_at_organisation: bool = False
    booked_starts: tuple = ()
    booked_ends: tuple = ()
    offered_days: tuple = ()


@dataclass(frozen=True)
class OpenShift:
    """A released shift as the model holds it, with its site's place and, while in its priority
    window, its group's members."""

    shift_id: str
    site_id: str
    organisation_id: str
    bank_id: str
    staff_type: str
    grade: str
    starts_at: datetime
    ends_at: datetime
    hourly_rate: str
    status: str
    stage: str | None
    release_event_id: str | None
    latitude: float  # the site's
    longitude: float
    priority_group_id: str | None = None
    priority_members: frozenset = field(default_factory=frozenset)

    @property
    def day(self):
        return london_date(self.starts_at)


def cleared_on(compliance_status, cleared_until, day):
    """Compliance clears the worker on `day`: cleared now, and every required check still
    covered then (cleared_until: the last such day; None when none expires)."""
    return compliance_status == CLEARED and (cleared_until is None or day <= cleared_until)


def booking_candidate(worker, day):
    """What booking would learn of the worker from identity and compliance for a shift on `day`."""
    reasons = () if cleared_on(worker.compliance_status, worker.cleared_until, day) else (
        f"compliance not cleared on {day.isoformat()}",)
    return shift_rules.Candidate(status=worker.status, staff_type=worker.staff_type,
                                 grades=frozenset(worker.grades), opted_out_of_48h=worker.opted_out_of_48h,
                                 compliance_reasons=reasons)


class Judge:
    """Booking's verdict on each worker for one shift at one moment. Workers booking would see
    alike (the same facts, and bookings that cannot matter: most of them) are judged once."""

    def __init__(self, shift, at):
        self.shift = shift
        self.at = at
        self.status = shift.status if shift.starts_at > at else "started"  # started: not bookable
        until = _UNTIL_SHIFTS_SAYS if shift.stage == "priority" else None
        self.release = shift_rules.Release(shift.stage, shift.priority_members, until)
        self.schedules = Schedules(shift.starts_at, shift.ends_at)
        self.day = shift.day
        self._open = {}  # is the shift open to a member of its priority group, and to anyone else?
        self._eligible = {}  # what booking learns of an Eligible worker, by its opt-out
        self._verdicts = {}

    def _open_to(self, worker_id):
        member = worker_id in self.release.priority_members
        if member not in self._open:
            self._open[member] = shift_rules.open_to_worker(self.status, self.release, worker_id, self.at)
        return self._open[member]

    def refusals(self, worker):
        """Every rule booking this worker (a Worker) on the shift now would break, in API.md's order."""
        schedule = self.schedules.of(worker.booked_starts, worker.booked_ends) if worker.booked_starts else ()
        return self._verdict(booking_candidate(worker, self.day), self._open_to(worker.worker_id), schedule)

    def refusals_of_eligible(self, worker_id, opted_out_of_48h, booked_starts, booked_ends):
        """`refusals` of a worker known to be what booking asks identity and compliance for
        (active, of the shift's staff type and grade, cleared on its day: `Eligible`)."""
        schedule = self.schedules.of(booked_starts, booked_ends) if booked_starts else ()
        candidate = self._eligible.get(opted_out_of_48h)
        if candidate is None:
            candidate = self._eligible[opted_out_of_48h] = shift_rules.Candidate(
                status=MAY_WORK, staff_type=self.shift.staff_type, grades=frozenset([self.shift.grade]),
                opted_out_of_48h=opted_out_of_48h)
        return self._verdict(candidate, self._open_to(worker_id), schedule)

    def _verdict(self, candidate, open_now, schedule):
        """booking_refusals, once for each distinct (what booking learns of the worker, open to
        it, its schedule): Candidate is a frozen dataclass, equal when its facts are."""
        key = (candidate, open_now, schedule)
        verdict = self._verdicts.get(key)
        if verdict is None:
            shift = self.shift
            verdict = self._verdicts[key] = shift_rules.booking_refusals(
                self.status, shift.staff_type, shift.grade, shift.starts_at, shift.ends_at, candidate,
                open_now, schedule)
        return verdict


def candidates(shift, workers, at):
    """The workers who may take `shift` now (booking would refuse them nothing) and whose travel
    radius reaches its site, best first: who has worked at the site first, then at its
    organisation, then the rest; within each, who has been offered least in the last
    FAIRNESS_DAYS first, then the nearest (then by id, so that the order is the same every time)."""
    judge, latitude, longitude = Judge(shift, at), shift.latitude, shift.longitude
    since = day_number(fairness_since(at))
    found = []
    for worker in workers:
        distance = reaches(worker, latitude, longitude)
        if distance is None or judge.refusals(worker):
            continue
        found.append((not worker.worked_at_site, not worker.worked_at_organisation,
                      offers_since(worker.offered_days, since), distance, worker.worker_id, worker.user_id))
    return _ranked(found)


class Eligible(NamedTuple):
    """A worker as the index statement hands it over for one shift (queries read these fields,
    in this order): one the statement found to be all booking asks identity and compliance for
    (active, of the shift's staff type and grade, cleared on its day), so that only its travel
    radius, its opt-out and its schedule are left to judge. `recent_offers`: offers_since
    fairness_since; its bookings are None when `Schedules.sure_isolation` says they cannot matter
    to this shift."""

    worker_id: str
    user_id: str
    opted_out_of_48h: bool
    latitude: float
    longitude: float
    max_travel_km: float | None
    worked_at_site: bool
    worked_at_organisation: bool
    recent_offers: int
    bookings: list | None = None  # [booked_starts, booked_ends] (as Worker's), or None


def eligible_candidates(shift, workers, at):
    """`candidates` of Eligible workers: the same answer for the same workers, without building
    per worker what is the same for all of them (a big shift has a thousand or more)."""
    judge, latitude, longitude = Judge(shift, at), shift.latitude, shift.longitude
    distance_km, refusals = shift_rules.distance_km, judge.refusals_of_eligible
    members = shift.priority_members
    isolated = {}  # the verdict on no bookings, by (opted out, member of the priority group)
    found = []
    for (worker_id, user_id, opted_out, worker_latitude, worker_longitude, max_travel_km, at_site,
         at_organisation, recent_offers, bookings) in workers:
        distance = distance_km(worker_latitude, worker_longitude, latitude, longitude)
        if distance > (DEFAULT_MAX_TRAVEL_KM if max_travel_km is None else max_travel_km):
            continue
        if bookings is None:  # isolated: most workers
            key = (opted_out, worker_id in members)
            refused = isolated.get(key)
            if refused is None:
                refused = isolated[key] = refusals(worker_id, opted_out, (), ())
        else:
            refused = refusals(worker_id, opted_out, *(bookings or ((), ())))  # no bookings: empty
        if refused:
            continue
        found.append((not at_site, not at_organisation, recent_offers, distance, worker_id, user_id))
    return _ranked(found)


def _ranked(found):
    """(not worked at the site, not at the organisation, recent offers, distance, worker id, user
    id) of each candidate: ranked best first."""
    found.sort()
    return [{"worker_id": worker_id, "user_id": user_id, "rank": rank, "distance_km": round(distance, 2),
             "worked_at_site": not elsewhere, "worked_at_organisation": not other_organisation}
            for rank, (elsewhere, other_organisation, _, distance, worker_id, user_id)
            in enumerate(found, start=1)]


def renumber(ranked):
    """The same candidates, in the same order, ranked 1..n (after some were left out)."""
    return [{**candidate, "rank": position} for position, candidate in enumerate(ranked, start=1)]


def fairness_since(at):
    """The first London day whose offers count as recent."""
    return london_date(at) - timedelta(days=FAIRNESS_DAYS - 1)


_DAY_ZERO = date(1970, 1, 1)


def day_number(day):
    """A London day as the model keeps offers by: days since 1970-01-01."""
    return (day - _DAY_ZERO).days


def offers_since(offered_days, since):
    """How many shifts a worker was named for from day_number `since` on (offered_days ascending)."""
    return len(offered_days) - bisect_left(offered_days, since)


def candidates_ranked(shift, ranked):
    """matching.candidates_ranked's data (contracts/matching.py)."""
    return {"shift_id": shift.shift_id, "site_id": shift.site_id, "organisation_id": shift.organisation_id,
            "bank_id": shift.bank_id, "staff_type": shift.staff_type, "grade": shift.grade,
            "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(),
            "hourly_rate": shift.hourly_rate, "stage": shift.stage,
            "release_event_id": shift.release_event_id, "candidates": ranked}
