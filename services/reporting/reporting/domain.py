"""Reporting's rules, pure: what the figures mean and how facts that arrive out of order and
more than once are taken. No I/O.

- A shift's facts come from every event shifts publishes about it; its status is taken only
  over a lower one (`STATUS_RANK`), a worker's profile and status only from a newer
  `occurred_at`, its compliance only from a higher `version` (use_cases merges each fact so).
- Fill rate (API.md "Reports"): filled = booked or completed; fill_rate = filled / (posted -
  cancelled), None when that is 0. A shift is "posted" once reporting hears of it: published,
  awaiting approval of its rate, booked (a retrospective one), cascaded, completed or cancelled
  (a draft never published publishes nothing, so it is in no report until it is).
- Sitrep (DESIGN.md "Sitrep"): `sitrep`.
- Utilisation: `blockers` and `utilisation`.
- Figures: ratios as numbers rounded to 4 places; hours and money as decimal strings with 2
  places (API.md "Conventions"), rounded half up once, from exact sums.
"""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from chassis.clock import LONDON, london_date
from compliance import domain as compliance_rules
from shifts import domain as shift_rules

# Statuses in the order a shift moves through them; completed and cancelled both end it.
STATUS_RANK = {status: min(rank, 5) for rank, status in enumerate(shift_rules.STATUSES)}
FILLED = shift_rules.WORKING  # booked, completed
CANCELLED = "cancelled"
# Before booking: the statuses in which a shift is posted for cover (time to fill starts at the first).
POSTED_FOR_COVER = ("pending_approval", "open", "agency")

RED_BELOW, AMBER_BELOW = Fraction(7, 10), Fraction(9, 10)
SITREP_WINDOW = timedelta(days=14)
UNFILLED_ALERT = timedelta(hours=24)  # any shift starting this soon unfilled: at least amber
GAPS_NAMED = timedelta(hours=48)  # open gaps named in the reasons

DEFAULT_MAX_TRAVEL_KM = 50.0  # API.md "Notifications": a worker's max_travel_km defaults to 50
NOT_ACTIVE, OUT_OF_RANGE = "not-active", "out-of-range"
KINDS = compliance_rules.KINDS  # required of every staff type unless a bank says otherwise

GROUPS = ("site", "organisation", "staff_type")
INTERVALS = ("day", "week", "month")
CENTS, RATIO_PLACES = Decimal("0.01"), 4


def ratio(numerator, denominator):
    """numerator / denominator rounded to 4 places; None when the denominator is 0."""
    return None if not denominator else round(numerator / denominator, RATIO_PLACES)


def fill_rate(posted, filled, cancelled):
    return ratio(filled, posted - cancelled)


def decimal_text(amount):
    """A Decimal (or int) as API.md's decimal string, 2 places, rounded half up."""
    return str(Decimal(amount or 0).quantize(CENTS, rounding=ROUND_HALF_UP))


def hours_text(seconds):
    """Seconds (int, float or Decimal) as hours, API.md's decimal string."""
    return decimal_text(Decimal(str(seconds or 0)) / 3600)


def is_violation(hourly_rate, standard_rate):
    return shift_rules.is_violation(hourly_rate, standard_rate)


# --- reports over shifts -----------------------------------------------------------------

def fill_rate_item(key, name, posted, filled, cancelled, agency, booked_seconds):
    """One group of the fill-rate report (API.md); `agency`: filled by a worker an agency supplies;
    `booked_seconds`: the scheduled length of the filled shifts (breaks included: shifts' events
    do not carry them)."""
    return {"key": key, "name": name, "posted": posted, "filled": filled, "cancelled": cancelled,
            "agency": agency, "fill_rate": fill_rate(posted, filled, cancelled),
            "hours_booked": hours_text(booked_seconds)}


def rate_violation_item(key, name, posted, violations, filled, cancelled, premium):
    """One group of the rate-violations report: shifts posted above their standard rate, and the
    premium of those filled (hourly_rate - standard_rate, times their scheduled hours)."""
    return {"key": key, "name": name, "posted": posted, "violations": violations,
            "violation_rate": ratio(violations, posted), "filled": filled, "cancelled": cancelled,
            "premium": decimal_text(premium)}


def time_to_fill_items(rows):
    """rows: (key, name, seconds from posted for cover to booked). Per group: how many were
    measured and the mean, median and longest wait in hours."""
    waits = defaultdict(list)
    for key, name, seconds in rows:
        waits[(key, name)].append(seconds)
    return [{"key": key, "name": name, "filled": len(seconds),
             "mean_hours": hours_text(Decimal(str(sum(seconds))) / len(seconds)),
             "median_hours": hours_text(statistics.median(seconds)),
             "max_hours": hours_text(max(seconds))}
            for (key, name), seconds in _by_name(waits)]


def time_to_fill_seconds(posted_at, booked_at, starts_at):
    """How long a filled shift waited, from when it was first posted for cover to its booking;
    None for one booked after it started (cover recorded afterwards) or never posted for cover."""
    if posted_at is None or booked_at is None or booked_at >= starts_at:
        return None
    return max((booked_at - posted_at).total_seconds(), 0.0)


def late_cancellation_items(rows):
    """rows: (key, name, late, cancelled_by, starts_at, cancelled_at), one per cancelled shift.
    Per group: cancelled, late (inside 72 h of the start of a booked shift, as shifts judged it),
    by whom, and the median notice the late ones gave, in hours."""
    groups = defaultdict(list)
    for key, name, *facts in rows:
        groups[(key, name)].append(facts)
    items = []
    for (key, name), facts in _by_name(groups):
        late = [(by, starts_at, cancelled_at) for is_late, by, starts_at, cancelled_at in facts if is_late]
        notice = [max((starts_at - cancelled_at).total_seconds(), 0.0) for _, starts_at, cancelled_at in late
                  if cancelled_at is not None]
        items.append({"key": key, "name": name, "cancelled": len(facts), "late": len(late),
                      "late_by_site": sum(1 for by, *_ in late if by == "site"),
                      "late_by_worker": sum(1 for by, *_ in late if by == "worker"),
                      "median_notice_hours": hours_text(statistics.median(notice)) if notice else None})
    return items


def spend_items(rows):
    """rows: (organisation_id, name, agency: bool, amount, hours, paid, hours_paid), amounts of
    approved timesheets by organisation and by who supplied the worker. Per organisation: bank and
    agency spend, their total and hours, and what closed pay runs have paid of it."""
    totals = defaultdict(lambda: defaultdict(Decimal))
    for organisation_id, name, agency, amount, hours, paid, hours_paid in rows:
        total = totals[(organisation_id, name)]
        total["agency" if agency else "bank"] += Decimal(amount or 0)
        total["hours"] += Decimal(hours or 0)
        total["paid"] += Decimal(paid or 0)
        total["hours_paid"] += Decimal(hours_paid or 0)
    return [{"organisation_id": key, "name": name, "bank": decimal_text(t["bank"]),
             "agency": decimal_text(t["agency"]), "total": decimal_text(t["bank"] + t["agency"]),
             "hours": decimal_text(t["hours"]), "paid": decimal_text(t["paid"]),
             "hours_paid": decimal_text(t["hours_paid"])}
            for (key, name), t in _by_name(totals)]


def series_items(rows):
    """rows: (period_start date, site_id, name, posted, filled, cancelled): fill rate by site and
    period, oldest first."""
    return [{"period_start": period.isoformat(), "site_id": site_id, "name": name, "posted": posted,
             "filled": filled, "cancelled": cancelled, "fill_rate": fill_rate(posted, filled, cancelled)}
            for period, site_id, name, posted, filled, cancelled
            in sorted(rows, key=lambda r: (r[0], r[2] or "", r[1]))]


def _by_name(groups):
    """A dict keyed by (key, name), its items sorted by name, then key."""
    return sorted(groups.items(), key=lambda item: (item[0][1] or "", item[0][0] or ""))


# --- sitrep ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CoverShift:
    organisation_id: str
    site_id: str
    site_name: str | None
    staff_type: str
    grade: str
    starts_at: datetime
    ends_at: datetime
    status: str
    worker_id: str | None


def rag(coverage, unfilled_soon):
    """DESIGN.md "Sitrep": red below 0.7, amber below 0.9 or any shift in the next 24 h unfilled,
    green otherwise (also when nothing is posted: coverage None). `coverage` exact (a Fraction)."""
    if coverage is not None and coverage < RED_BELOW:
        return "red"
    if (coverage is not None and coverage < AMBER_BELOW) or unfilled_soon:
        return "amber"
    return "green"


def sitrep_item(organisation_id, name, shifts, now):
    """One organisation's cover for the 14 days from `now`, from its shifts (CoverShift) starting
    then: coverage = filled / (posted - cancelled); open gaps = shifts neither filled nor cancelled;
    reasons name the open gaps in the next 48 h, soonest first, then each day (Europe/London) where
    a site has a single booked clinician."""
    window = [s for s in shifts if now <= s.starts_at < now + SITREP_WINDOW]
    live = [s for s in window if s.status != CANCELLED]
    filled = [s for s in live if s.status in FILLED]
    gaps = sorted((s for s in live if s.status not in FILLED), key=lambda s: (s.starts_at, s.site_name or ""))
    coverage = Fraction(len(filled), len(live)) if live else None
    unfilled_soon = any(s.starts_at < now + UNFILLED_ALERT for s in gaps)
    reasons = [gap_reason(s) for s in gaps if s.starts_at < now + GAPS_NAMED]
    reasons += [single_clinician_reason(site_name, day) for day, site_name in _single_clinician_days(filled)]
    return {"organisation_id": organisation_id, "name": name, "rag": rag(coverage, unfilled_soon),
            "coverage": None if coverage is None else round(float(coverage), RATIO_PLACES),
            "open_gaps": len(gaps), "reasons": reasons}


def _single_clinician_days(filled):
    """(day, site name) where the site's shifts starting that London day are booked to one worker."""
    workers = defaultdict(set)
    for s in filled:
        workers[(london_date(s.starts_at), s.site_name or s.site_id)].add(s.worker_id)
    return sorted(key for key, booked in workers.items() if len(booked) == 1)


def gap_reason(shift):
    starts, ends = shift.starts_at.astimezone(LONDON), shift.ends_at.astimezone(LONDON)
    return (f"Open gap in the next 48 h: {shift.site_name or shift.site_id}, {starts:%a %d %b %H:%M}"
            f"–{ends:%H:%M}, {shift.staff_type} {shift.grade} ({shift.status})")


def single_clinician_reason(site_name, day):
    return f"Single booked clinician: {site_name} on {day:%a %d %b %Y}"


def sitrep(organisations, shifts, now):
    """organisations: (id, name), in the order to list them; shifts: CoverShift of any of them."""
    by_organisation = defaultdict(list)
    for s in shifts:
        by_organisation[s.organisation_id].append(s)
    return [sitrep_item(organisation_id, name, by_organisation[organisation_id], now)
            for organisation_id, name in organisations]


# --- bank utilisation --------------------------------------------------------------------

@dataclass(frozen=True)
class PoolWorker:
    """A worker of the bank as identity and compliance told of it."""

    worker_id: str
    staff_type: str
    status: str | None
    latitude: float
    longitude: float
    max_travel_km: float | None
    compliance_status: str | None = None  # None: compliance has published no status for it yet
    missing: tuple = ()
    cleared_until: date | None = None


def compliance_blockers(worker, documents, today):
    """Why a worker's checks do not let it work today: `missing:<kind>` (never covered) or
    `expired:<kind>` (its verified document lapsed), for each required kind no verified document
    covers today. `documents`: compliance.domain.Document of the worker (verified or expired).

    Which kinds are required: those compliance last said were missing (by version); while it
    says cleared, none, unless the day is past `cleared_until` (then the kinds whose cover ran
    out). A worker compliance has never published a status for (never cleared) is judged against
    every kind, compliance's default requirement: events do not say what a bank requires."""
    if worker.compliance_status is None:
        wanted = KINDS
    elif worker.compliance_status == "cleared":
        if worker.cleared_until is None or worker.cleared_until >= today:
            return []
        wanted = sorted({d.kind for d in documents if compliance_rules.lapsed_on(d, today)}) or ["unknown"]
    else:
        wanted = worker.missing
    reasons = []
    for kind in wanted:
        mine = [d for d in documents if d.kind == kind]
        if any(compliance_rules.valid_on(d, today) for d in mine):
            continue
        lapsed = kind == "unknown" or any(compliance_rules.lapsed_on(d, today) for d in mine)
        reasons.append(f"{'expired' if lapsed else 'missing'}:{kind}")
    return reasons


def blockers(worker, documents, today):
    """Everything but distance that keeps the worker from a shift today."""
    return ([] if worker.status == "active" else [NOT_ACTIVE]) + compliance_blockers(worker, documents, today)


def in_range(worker, latitude, longitude):
    reach = worker.max_travel_km if worker.max_travel_km is not None else DEFAULT_MAX_TRAVEL_KM
    return shift_rules.distance_km(worker.latitude, worker.longitude, latitude, longitude) <= reach


def utilisation(sites, workers, documents, today):
    """sites: (site_id, name, latitude, longitude), in the order to list them; workers:
    PoolWorker of the bank (not `left`); documents: {worker_id: [Document]}. For each site and
    staff type of the bank's workers: how many there are (registered), how many could take a
    shift there today (eligible: active, every required check covered, the site within their
    travel radius), and what keeps the others (a worker counts once under each reason it has)."""
    judged = [(w, blockers(w, documents.get(w.worker_id, ()), today)) for w in workers]
    staff_types = sorted({w.staff_type for w in workers})
    items = []
    for site_id, name, latitude, longitude in sites:
        for staff_type in staff_types:
            registered, eligible, blocked = 0, 0, Counter()
            for worker, reasons in judged:
                if worker.staff_type != staff_type:
                    continue
                registered += 1
                here = reasons if in_range(worker, latitude, longitude) else reasons + [OUT_OF_RANGE]
                blocked.update(here)
                eligible += not here
            items.append({"site_id": site_id, "name": name, "staff_type": staff_type,
                          "registered": registered, "eligible": eligible,
                          "blocked_by": dict(sorted(blocked.items()))})
    return items


# --- downloads ---------------------------------------------------------------------------

def table(items):
    """Report items as CSV columns and rows: a dict value (blocked_by) becomes a column per key
    (`blocked_by:missing:dbs`, 0 where an item lacks it), a list (reasons) one cell of its entries
    joined by " | "."""
    fields, dicts = [], defaultdict(set)
    for item in items:
        for field, value in item.items():
            if field not in fields:
                fields.append(field)
            if isinstance(value, dict):
                dicts[field].update(value)
    columns = [(field, key) for field in fields
               for key in (sorted(dicts[field]) if field in dicts else [None])]

    def cell(item, field, key):
        value = item.get(field) if key is None else item.get(field, {}).get(key, 0)
        return " | ".join(value) if isinstance(value, list) else value

    return ([field if key is None else f"{field}:{key}" for field, key in columns],
            [[cell(item, field, key) for field, key in columns] for item in items])
