"""What the demo sent and what the platform answered: every shift it posted with its status as
the last answer about it gave it, every refusal by rule, every timesheet and pay run. The
figures the reports should show are counted from here (`expected_fill_rate`,
`expected_sitrep`), never read back from the platform.

Statuses change only by the demo's own requests: nothing else moves these shifts (no site
policy cascades by itself, live shifts start tomorrow at the earliest so none completes
during a run, and history shifts are completed when recorded), so the last answer is the
status now."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

FILLED = ("booked", "completed")
SITREP_DAYS = 14


@dataclass
class ShiftRecord:
    id: str
    slot_key: str
    bank_key: str
    site_key: str
    org_key: str
    staff_type: str
    grade: str
    starts_at: object
    ends_at: object
    break_minutes: int
    phase: str  # history | live
    status: str
    instant_book: bool = False
    release: str | None = None
    priority_until: object = None
    posted_round: int | None = None
    worker_key: str | None = None
    booked_by: str | None = None  # retrospective | worker | coordinator... | agency
    agency_worker: bool = False  # filled by a worker an agency supplies
    cascaded: bool = False
    late_cancellation: bool = False
    cancelled_by: str | None = None
    rate_violation: bool = False
    slot: object = field(default=None, repr=False)  # the world's Slot it was posted for

    @property
    def filled(self):
        return self.status in FILLED

    def hours(self):
        """Scheduled hours, breaks included (what the fill-rate report calls hours booked)."""
        return Decimal(str((self.ends_at - self.starts_at).total_seconds())) / 3600


@dataclass
class TimesheetRecord:
    id: str
    shift_id: str
    worker_key: str
    status: str
    amount: Decimal
    hours: Decimal
    resubmission_of: str | None = None


@dataclass
class Ledger:
    shifts: dict = field(default_factory=dict)  # id -> ShiftRecord
    refusals: Counter = field(default_factory=Counter)  # (phase, rule) -> count of 409s naming it first
    rules_broken: Counter = field(default_factory=Counter)  # rule -> times named among `rules`
    counts: Counter = field(default_factory=Counter)  # what happened: applications, bookings, ...
    timesheets: dict = field(default_factory=dict)  # id -> TimesheetRecord
    pay_runs: dict = field(default_factory=dict)  # bank key -> the pay run as answered
    notifications: Counter = field(default_factory=Counter)  # type -> seen in inboxes
    ids: dict = field(default_factory=dict)  # bank key -> {"bank": id, "orgs": {key: id}, "sites": {...}}

    def add_shift(self, record):
        self.shifts[record.id] = record
        self.counts[f"{record.phase} posted"] += 1
        if record.rate_violation:
            self.counts["rate violations"] += 1

    def update(self, shift_id, answer, **changes):
        """The platform's latest answer about a shift."""
        record = self.shifts[shift_id]
        record.status = answer["status"]
        record.late_cancellation = bool(answer.get("late_cancellation"))
        record.cancelled_by = answer.get("cancelled_by")
        if answer.get("agency_tier") is not None:
            record.cascaded = True
        for key, value in changes.items():
            setattr(record, key, value)
        return record

    def refused(self, phase, error):
        self.refusals[(phase, error.type)] += 1
        for rule in error.rules or [error.type]:
            self.rules_broken[rule] += 1

    def of_bank(self, bank_key):
        return [s for s in self.shifts.values() if s.bank_key == bank_key]

    # --- the figures reports should show -------------------------------------------------

    def expected_fill_rate(self, bank_key, group_by, names):
        """{key: {posted, filled, cancelled, agency, fill_rate, hours_booked}} per API.md: filled =
        booked or completed; fill_rate = filled / (posted - cancelled), None when that is 0;
        agency = filled by a worker an agency supplies; hours booked = the filled shifts'
        scheduled hours (breaks included). `names` maps the demo's site and organisation keys
        to the platform's ids."""
        groups = {}
        for shift in self.of_bank(bank_key):
            if group_by == "site":
                key = names["sites"][shift.site_key]
            elif group_by == "organisation":
                key = names["orgs"][shift.org_key]
            else:
                key = shift.staff_type
            g = groups.setdefault(key, {"posted": 0, "filled": 0, "cancelled": 0, "agency": 0,
                                        "hours_booked": Decimal(0)})
            g["posted"] += 1
            if shift.filled:
                g["filled"] += 1
                g["hours_booked"] += shift.hours()
            if shift.status == "cancelled":
                g["cancelled"] += 1
            if shift.filled and shift.agency_worker:
                g["agency"] += 1
        for g in groups.values():
            g["fill_rate"] = fill_rate(g["filled"], g["posted"] - g["cancelled"])
            g["hours_booked"] = g["hours_booked"].quantize(Decimal("0.01"), ROUND_HALF_UP)
        return groups

    def expected_sitrep(self, bank_key, names, now):
        """{organisation id: {coverage, rag, open_gaps}} for the next 14 days as DESIGN.md
        "Sitrep" defines them, counted from the shifts sent; every organisation of the bank."""
        end, next_day = now + timedelta(days=SITREP_DAYS), now + timedelta(hours=24)
        items = {org_id: [] for org_id in names["orgs"].values()}
        for shift in self.of_bank(bank_key):
            if now <= shift.starts_at < end:
                items[names["orgs"][shift.org_key]].append(shift)
        result = {}
        for org_id, shifts in items.items():
            live = [s for s in shifts if s.status != "cancelled"]
            filled = sum(1 for s in live if s.filled)
            coverage = fill_rate(filled, len(live))
            gaps = [s for s in live if not s.filled]
            soon = any(s.starts_at < next_day for s in gaps)
            if coverage is not None and coverage < 0.7:
                rag = "red"
            elif (coverage is not None and coverage < 0.9) or soon:
                rag = "amber"
            else:
                rag = "green"
            result[org_id] = {"coverage": coverage, "rag": rag, "open_gaps": len(gaps)}
        return result


def fill_rate(filled, denominator):
    return None if denominator == 0 else filled / denominator
