"""`python -m benchmarks.matching [--keep] [--reuse]`: matching's read model at national scale.

Seeds a fresh database (`staffbank_bench_matching`) with a bank of 100,000 workers and
1,000,000 bookings, then measures, in this process, against PostgreSQL on this machine:
- candidates for one shift (what the `candidates` RPC and a release do: the shift, its survivors
  from the reach index with their bookings and recent offers, booking's rules, the ranking), over
  3,000 open shifts drawn as the workforce is (common staff types and grades, big towns, most
  often): target p95 < 10 ms, also shown by how many candidates a shift has;
- applying one event to the model (bookings, completions, cancellations, worker and compliance
  changes; each in its own unit of work with the inbox claim, the event log, and any
  matching.candidates_ranked it causes): target p95 < 5 ms;
- a release (shift.published: the model change, the candidates, who was named, the outbox row),
  for reference.
Figures are printed beside their targets; nothing is asserted. The database is dropped at the end
unless `--keep` is given; `--reuse` measures again on a kept one without seeding (faster, for
trying a change; the events a run applied stay in it, so quote a fresh run's figures).

The bank is synthetic but shaped like England's health workforce: 26 staff types of very unequal
size (nurses 22 %, 16 small professions under 2 % each), 6 grades each (the entry grade most
common; one in four workers also works the next grade up), homes around 80 towns of Zipf-like
size (the largest holds about a ninth of the bank) plus 15 % rural, mostly the default 50 km
travel radius (some 20-30 km, a few 80-500 km), 92 % active and 96 % of those cleared, bookings
spread over the last year and the next six weeks. The open shifts' candidates are named first,
as their release would have done, so that later events find what a live model would.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import io  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402

import psycogreen.eventlet  # noqa: E402
import psycopg2.extensions  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.common import load_average, percentile, progress, row  # noqa: E402
from chassis import config as settings  # noqa: E402
from chassis.clock import LONDON  # noqa: E402
from chassis.db import UnitOfWork  # noqa: E402
from chassis.engines import dispose_engines, engine_for  # noqa: E402
from chassis.handlers import Event  # noqa: E402
from chassis.migrate import drop_database, migrate  # noqa: E402
from chassis.runner import migrations_dir  # noqa: E402
from matching import domain, queries, use_cases  # noqa: E402
from matching.service import MatchingService  # noqa: E402

WORKERS = 100_000
BOOKINGS = 1_000_000
OPEN_SHIFTS = 3_000
SITES = 600
TOWNS = 80
SAMPLES = 300  # measured shifts, and events of each kind
BANK = "bench-bank"
SEED = 16

# Staff types and their share of the bank (%): nurses most, then healthcare assistants, doctors,
# GPs, six allied professions, and 16 small professions of under 2 % each (26 in all).
STAFF_TYPES = {"nurse": 22, "healthcare_assistant": 12, "doctor": 10, "gp": 6, "pharmacist": 4,
               "physiotherapist": 4, "paramedic": 3, "midwife": 3, "radiographer": 3,
               "occupational_therapist": 3, **{f"profession_{i:02d}": 1.875 for i in range(16)}}
GRADE_WEIGHTS = (30, 25, 18, 12, 9, 6)  # six grades a staff type, the entry grades most common

WORKER_COLUMNS = ("worker_id", "user_id", "bank_id", "staff_type", "grade", "latitude", "longitude",
                  "extra_grades", "max_travel_km", "opted_out_of_48h", "status", "compliance_status",
                  "compliance_version", "cleared_until", "worked_sites", "worked_organisations",
                  "offered_days")
REACH_COLUMNS = ("worker_id", "grade", "bank_id", "staff_type", "reach_km", "latitude", "longitude",
                 "user_id", "grades", "max_travel_km", "opted_out_of_48h", "status", "compliance_status",
                 "cleared_until", "worked_sites", "worked_organisations", "booked_starts", "booked_ends",
                 "offered_days")
SHIFT_COLUMNS = ("shift_id", "site_id", "organisation_id", "bank_id", "staff_type", "grade", "starts_at",
                 "ends_at", "hourly_rate", "status", "status_rank", "worker_id", "stage", "stage_rank",
                 "release_event_id")


# --- the synthetic bank ----------------------------------------------------------------------

class Bank:
    def __init__(self, rng):
        self.rng = rng
        self.towns = [(rng.uniform(50.6, 54.9), rng.uniform(-4.3, 1.2)) for _ in range(TOWNS)]
        self.town_weights = [1 / (rank + 1) ** 0.8 for rank in range(TOWNS)]
        self.sites = []  # (site id, organisation id, latitude, longitude), four sites an organisation
        for i in range(SITES):
            town = rng.choices(range(TOWNS), self.town_weights)[0]
            self.sites.append((f"site-{i}", f"org-{i // 4}", *self.near(town, 0.05)))

    def near(self, town, spread):
        latitude, longitude = self.towns[town]
        return latitude + self.rng.gauss(0, spread), longitude + self.rng.gauss(0, spread * 1.6)

    def home(self):
        if self.rng.random() < 0.15:
            return self.rng.uniform(50.6, 54.9), self.rng.uniform(-4.3, 1.2)
        return self.near(self.rng.choices(range(TOWNS), self.town_weights)[0], 0.12)

    def person(self, i):
        staff_type = self.rng.choices(list(STAFF_TYPES), list(STAFF_TYPES.values()))[0]
        grade = self.rng.choices(range(len(GRADE_WEIGHTS)), GRADE_WEIGHTS)[0]
        also = grade < len(GRADE_WEIGHTS) - 1 and self.rng.random() < 0.25
        status = self.rng.choices(["active", "suspended", "onboarding"], [92, 4, 4])[0]
        cleared = status == "active" and self.rng.random() < 0.96
        until = None if self.rng.random() < 0.3 else date.today() + timedelta(days=self.rng.randrange(1, 400))
        return {"worker_id": f"w{i:06d}", "user_id": f"u{i:06d}", "staff_type": staff_type,
                "grades": [f"G{grade}"] + ([f"G{grade + 1}"] if also else []), "home": self.home(),
                "travel": self.rng.choices([50, 30, 20, 80, 150, 500], [70, 10, 8, 8, 3, 1])[0],
                "status": status, "compliance": "cleared" if cleared else "pending",
                "until": until if cleared else None, "worked": set(), "booked": [], "offered": []}


def _array(values):
    return "{" + ",".join(values) + "}"  # a PostgreSQL array literal, as COPY reads it


def _copy(connection, table, columns, rows):
    """COPY rows in (psycopg2's COPY cannot run under the green wait callback the chassis sets,
    so it is lifted for the bulk load alone)."""
    buffer = io.StringIO()
    for values in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
    buffer.seek(0)
    psycopg2.extensions.set_wait_callback(None)
    try:
        with connection.connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    finally:
        psycogreen.eventlet.patch_psycopg()


def _vacuum(engine):
    progress("analysing")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def _seed_bookings(engine, rng, bank, people, at):
    midnight = datetime.combine(at.astimezone(LONDON).date(), datetime.min.time(), LONDON)
    recent = (at - domain.HORIZON).timestamp()
    for part in range(10):
        rows = []
        for n in range(BOOKINGS // 10):
            person = people[rng.randrange(WORKERS)]
            site_id, organisation_id, *_ = bank.sites[rng.randrange(SITES)]
            starts_at = midnight + timedelta(days=rng.randrange(-365, 42),
                                             hours=rng.choice([7, 8, 9, 19, 20]))
            ends_at = starts_at + timedelta(hours=rng.choice([8, 10, 12]))
            status = "completed" if ends_at < midnight else "booked"
            if status == "completed" and rng.random() < 0.3:
                person["worked"].add((site_id, organisation_id))
            if ends_at.timestamp() > recent:
                person["booked"].append((starts_at.timestamp(), ends_at.timestamp()))
            rows.append((f"b{part}-{n}", site_id, organisation_id, BANK, person["staff_type"],
                         person["grades"][0], starts_at.isoformat(), ends_at.isoformat(), "50.00", status,
                         domain.STATUS_RANK[status], person["worker_id"], "bank", 2, None))
        with engine.begin() as connection:
            _copy(connection, "shifts", SHIFT_COLUMNS, rows)
        progress(f"   {(part + 1) * BOOKINGS // 10:,} bookings")


def _seed_workers(engine, people):
    """Workers, and the index rows their handlers would have filed (active and cleared only)."""
    workers, reach = [], []
    for p in people:
        sites = _array(sorted({s for s, _ in p["worked"]}))
        organisations = _array(sorted({o for _, o in p["worked"]}))
        latitude, longitude = p["home"]
        offered = _array(str(day) for day in p["offered"])
        workers.append((p["worker_id"], p["user_id"], BANK, p["staff_type"], p["grades"][0], latitude,
                        longitude, _array(p["grades"][1:]), p["travel"], "false", p["status"],
                        p["compliance"], 1, p["until"], sites, organisations, offered))
        if p["status"] == domain.MAY_WORK and p["compliance"] == domain.CLEARED:
            booked = sorted(p["booked"])
            starts, ends = _array(str(s) for s, _ in booked), _array(str(e) for _, e in booked)
            reach += [(p["worker_id"], grade, BANK, p["staff_type"], domain.reach_class(p["travel"]),
                       latitude, longitude, p["user_id"], _array(sorted(p["grades"])), p["travel"], "false",
                       p["status"], p["compliance"], p["until"], sites, organisations, starts, ends, offered)
                      for grade in p["grades"]]
    with engine.begin() as connection:
        _copy(connection, "workers", WORKER_COLUMNS, workers)
        _copy(connection, "reach", REACH_COLUMNS, reach)


def seed(engine, rng, at):
    """The bank as the handlers would have left it; the open shifts' ids."""
    bank = Bank(rng)
    people = [bank.person(i) for i in range(WORKERS)]
    today = domain.day_number(at.astimezone(LONDON).date())
    for _ in range(WORKERS):  # recent offers: one worker in three or so named lately, 1-5 times a day
        days = people[rng.randrange(WORKERS)]["offered"]
        days += [today - rng.randrange(7)] * rng.randrange(1, 6)
        days.sort()
    progress(f"seeding {BOOKINGS:,} bookings")
    _seed_bookings(engine, rng, bank, people, at)
    progress(f"seeding {WORKERS:,} workers, their recent offers and index rows, {OPEN_SHIFTS:,} open shifts")
    _seed_workers(engine, people)
    midnight = datetime.combine(at.astimezone(LONDON).date(), datetime.min.time(), LONDON)
    open_rows = []
    for n in range(OPEN_SHIFTS):
        person = people[rng.randrange(WORKERS)]
        site_id, organisation_id, *_ = bank.sites[rng.randrange(SITES)]
        starts_at = midnight + timedelta(days=rng.randrange(1, 28), hours=rng.choice([7, 8, 9, 19, 20]))
        ends_at = starts_at + timedelta(hours=rng.choice([8, 10, 12]))
        open_rows.append((f"open-{n}", site_id, organisation_id, BANK, person["staff_type"],
                          person["grades"][0], starts_at.isoformat(), ends_at.isoformat(), "50.00", "open",
                          domain.STATUS_RANK["open"], None, "bank", 2, str(uuid.uuid4())))
    with engine.begin() as connection:
        _copy(connection, "sites", ("site_id", "organisation_id", "bank_id", "latitude", "longitude"),
              [(s, o, BANK, latitude, longitude) for s, o, latitude, longitude in bank.sites])
        _copy(connection, "shifts", SHIFT_COLUMNS, open_rows)
    _vacuum(engine)
    open_ids = [r[0] for r in open_rows]
    progress(f"naming the candidates of the {OPEN_SHIFTS:,} open shifts, as their release did")
    offers = []
    with Session(engine) as session:
        for n, shift_id in enumerate(open_ids, start=1):
            found = queries.candidates(session, queries.open_shift(session, shift_id), at)
            offers += [(shift_id, c["worker_id"], "bank") for c in found]
            if n % 1000 == 0:
                progress(f"   {n:,} shifts, {len(offers):,} named")
    with engine.begin() as connection:
        _copy(connection, "offers", ("shift_id", "worker_id", "stage"), offers)
    _vacuum(engine)
    return bank, people, open_ids


# --- measures --------------------------------------------------------------------------------

def measure_candidates(engine, open_ids, rng, at):
    seconds, counts = [], []
    with Session(engine) as session:
        for shift_id in rng.sample(open_ids, SAMPLES):
            started = time.perf_counter()
            found = queries.candidates(session, queries.open_shift(session, shift_id), at)
            seconds.append(time.perf_counter() - started)
            counts.append(len(found))
            session.rollback()
    return seconds, counts


def _event(event_type, data, producer):
    return Event(event_id=str(uuid.uuid4()), type=event_type, version=1, occurred_at=datetime.now(UTC),
                 producer=producer, correlation_id=None, data=data)


def _shift_data(shift, status, worker_id=None, **extra):
    return {"shift_id": shift.shift_id, "site_id": shift.site_id, "organisation_id": shift.organisation_id,
            "bank_id": BANK, "staff_type": shift.staff_type, "grade": shift.grade,
            "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(),
            "hourly_rate": "50.00", "standard_rate": "50.00", "status": status, "worker_id": worker_id,
            **extra}


def events(engine, people, open_ids, rng):
    """SAMPLES events of each kind, as their producers would publish them."""
    today = date.today()
    columns = sa.text("SELECT shift_id, site_id, organisation_id, staff_type, grade, starts_at, ends_at, "
                      "worker_id FROM shifts WHERE shift_id = ANY(:ids)")
    with Session(engine) as session:
        opened = session.execute(columns, {"ids": rng.sample(open_ids, SAMPLES)}).all()
        picks = [f"b{rng.randrange(10)}-{rng.randrange(BOOKINGS // 10)}" for _ in range(SAMPLES * 4)]
        bookings = session.execute(columns, {"ids": picks}).all()
    past = [b for b in bookings if b.ends_at.date() < today][:SAMPLES]
    future = [b for b in bookings if b.starts_at.date() > today][:SAMPLES]
    cancelled = {"reason": "unwell", "cancelled_by": "worker", "late": False}
    kinds = {
        "shift.booked": [_event("shift.booked", _shift_data(s, "booked", f"w{rng.randrange(WORKERS):06d}"),
                                "shifts") for s in opened],
        "shift.completed": [_event("shift.completed", _shift_data(b, "completed", b.worker_id), "shifts")
                            for b in past],
        "shift.cancelled": [_event("shift.cancelled",
                                   _shift_data(b, "cancelled", b.worker_id, **cancelled), "shifts")
                            for b in future],
        "worker.updated": [], "compliance.cleared": [], "worker.suspended": [],
    }
    for n in range(SAMPLES):
        person = people[rng.randrange(WORKERS)]
        kinds["worker.updated"].append(_event("worker.updated", {
            "agency_id": None, "worker_id": person["worker_id"], "bank_id": BANK,
            "extra_grades": person["grades"][1:], "opted_out_of_48h": rng.random() < 0.2,
            "max_travel_km": rng.choice([30.0, 50.0, 60.0])}, "identity"))
        until = (today + timedelta(days=rng.randrange(30, 400))).isoformat()
        kinds["compliance.cleared"].append(_event("compliance.cleared", {
            "worker_id": f"w{rng.randrange(WORKERS):06d}", "bank_id": BANK, "status": "cleared",
            "missing": [], "version": 2 + n, "cleared_until": until}, "compliance"))
        kinds["worker.suspended"].append(_event("worker.suspended", {
            "worker_id": f"w{rng.randrange(WORKERS):06d}", "bank_id": BANK, "bank_number": "W000001",
            "previous_status": "active", "status": "suspended", "reason": "dbs lapsed"}, "identity"))
    return kinds


def apply(engine, event, at):
    """Apply one event as its handler does (inbox claim, model, log, outbox; committed)."""
    with Session(engine) as session:
        started = time.perf_counter()
        with UnitOfWork(session, "matching", inbox_claim=("matching.bench", event.event_id)) as uow:
            use_cases.consume(uow, event, at)
            emitted = len(uow.emitted)
        return time.perf_counter() - started, emitted


def releases(engine, bank, people, rng, at):
    seconds = []
    midnight = datetime.combine(at.astimezone(LONDON).date(), datetime.min.time(), LONDON)
    for n in range(SAMPLES):
        person = people[rng.randrange(WORKERS)]
        site_id, organisation_id, *_ = bank.sites[rng.randrange(SITES)]
        starts_at = midnight + timedelta(days=rng.randrange(2, 28), hours=8)
        data = {"shift_id": f"new-{n}", "site_id": site_id, "organisation_id": organisation_id,
                "bank_id": BANK, "staff_type": person["staff_type"], "grade": person["grades"][0],
                "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=10)).isoformat(),
                "hourly_rate": "50.00", "standard_rate": "50.00", "status": "open", "worker_id": None,
                "to": "bank", "priority_group_id": None}
        seconds.append(apply(engine, _event("shift.published", data, "shifts"), at)[0])
    return seconds


KEPT = ".run/bench-matching.pickle"  # what --reuse needs of the kept database's bank


def main():
    rng = random.Random(SEED)
    url = settings.with_database(settings.database_server_url(), "staffbank_bench_matching")
    at = datetime.now(UTC)
    reuse, keep = "--reuse" in sys.argv, "--keep" in sys.argv or "--reuse" in sys.argv
    print(f"\nMatching benchmarks: {WORKERS:,} workers, {BOOKINGS:,} bookings, {OPEN_SHIFTS:,} open shifts "
          f"(one process, PostgreSQL on this machine)\n", flush=True)
    try:
        engine = engine_for(url)
        if reuse:
            with open(KEPT, "rb") as kept:
                bank, people, open_ids, state = pickle.load(kept)
            rng.setstate(state)
            progress(f"reusing the kept database; warming up ({load_average()})")
        else:
            progress("migrating a fresh database")
            drop_database(url)
            migrate(url, migrations_dir(MatchingService))
            started = time.monotonic()
            bank, people, open_ids = seed(engine, rng, at)
            if keep:
                os.makedirs(os.path.dirname(KEPT), exist_ok=True)
                with open(KEPT, "wb") as kept:
                    pickle.dump((bank, people, open_ids, rng.getstate()), kept)
            progress(f"seeded in {time.monotonic() - started:.0f}s; warming up ({load_average()})")
        measure_candidates(engine, open_ids, random.Random(SEED + 1), at)

        progress("candidates for one shift")
        seconds, counts = measure_candidates(engine, open_ids, random.Random(SEED + 2), at)
        print()
        row("candidates for one shift", seconds, 10)
        print(f"{'  candidates per shift':<46} p50={statistics.median(counts):.0f}  "
              f"p95={percentile(counts, 95)}  max={max(counts)}", flush=True)
        for low, high in ((0, 250), (251, 1000), (1001, WORKERS)):
            sized = [t for t, c in zip(seconds, counts, strict=True) if low <= c <= high]
            if sized:
                row(f"  shifts with {low}-{high if high < WORKERS else 'more'} candidates", sized)

        everything = []
        for kind, sample in events(engine, people, open_ids, rng).items():
            timed = [apply(engine, event, at) for event in sample]
            everything += [t for t, _ in timed]
            published = sum(e for _, e in timed)
            label = f"apply {kind}" + (f" ({published} published)" if published else "")
            row(label, [t for t, _ in timed])
        row("apply one event (all of the above)", everything, 5)
        row("release: shift.published, candidates, outbox", releases(engine, bank, people, rng, at))
        print(f"\n({load_average()})\n", flush=True)
    finally:
        dispose_engines()
        if not keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
