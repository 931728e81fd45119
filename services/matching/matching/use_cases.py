"""Matching's writes: apply each consumed event to the read model, tell whoever it newly lets
hear of an open shift (`matching.candidates_ranked`), and rebuild the model from its event log.

Every event applied is written to `event_log` in the same unit of work, and so is every
`matching.candidates_ranked` published (the outbox row, the log row and the offers commit
together). `rebuild` empties the model and applies the log again in `occurred_at` order: the
facts from identity, compliance and shifts rebuild the workers, sites, shifts and groups (each
fact is applied by version, time or rank, so the order does not change the result), and
matching's own published events rebuild who was named for what, without naming anyone again.

Order and redelivery: a redelivered event never reaches here (the chassis inbox); facts from
different producers arrive in any order, and each is applied only over an older one.

Cost: rows are read and written as plain rows with SQL run on the driver (`_run`), not through
the ORM, and statements that touch different rows share a round trip (a booking's shift and its
worker upserted together; a worker's row saved in the statement that files it; the published
events' log rows with their offer counts). What must see other transactions' commits (a worker's
bookings) is read in a statement after the one that takes the worker's lock.
"""

import json
from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert

from chassis import eventlog
from chassis.clock import london_date
from matching import domain, queries
from matching.models import MODEL, GroupMember, Site, event_log

PUBLISHED = "matching.candidates_ranked"


def consume(uow, event, at):
    """Apply one consumed event (chassis.handlers.Event) as of `at`: log it, change the model,
    and name the workers it lets hear of a shift for the first time."""
    session = uow.session
    eventlog.record(session, event_log, eventlog.envelope_of(event))
    for kind, key in APPLY[event.type](session, event, at):
        if kind == "shift":
            tell(uow, key, at)
        elif kind == "site":
            for shift_id in queries.open_shifts_at_site(session, key, at):
                tell(uow, shift_id, at)
        elif kind == "group":
            for shift_id in queries.open_shifts_of_group(session, key, at):
                tell(uow, shift_id, at)
        else:  # a worker whose facts changed: the open shifts it may newly take
            tell_worker(uow, key, at)


def tell(uow, shift_id, at, only=None):
    """Publish the shift's candidates (of `only`, if given) not named for it before, ranked. The
    offers' primary key decides who is new, so that two units of work telling of one shift at
    once never name anyone twice (the second waits for the first, then finds them taken)."""
    session = uow.session
    shift = queries.open_shift(session, shift_id)
    if shift is None:
        return None
    ranked = queries.candidates(session, shift, at, only)
    if not ranked:
        return None
    worker_ids = sorted(c["worker_id"] for c in ranked)
    _run(session, _LOCK_WORKERS, {"worker_ids": worker_ids})  # before the offers: see _LOCK_WORKERS
    fresh = {worker_id for worker_id, in _run(session, _OFFER, {"shift_id": shift_id, "stage": shift.stage,
                                                                "worker_ids": worker_ids})}
    if not fresh:
        return None
    envelope = uow.emit(PUBLISHED, domain.candidates_ranked(
        shift, domain.renumber([c for c in ranked if c["worker_id"] in fresh])))
    _count_offers(session, sorted(fresh), [_offer_day(envelope)], at, logged=[envelope])
    return envelope


def tell_worker(uow, worker, at):
    """Name a worker (its workers row, locked) whose facts changed for each open shift it may
    newly take, one matching.candidates_ranked a shift, as `tell(..., only=[worker])` would for
    each: but the shifts and its index rows are read in one statement and judged in Python, and
    the offers, and the log and their count, are written in one statement each, whatever the
    number of shifts (a worker in a town may be in reach of dozens)."""
    session = uow.session
    chosen = []
    for shift, row in queries.open_shifts_for_worker(session, worker, at):
        ranked = domain.candidates(shift, [row], at)
        if ranked:
            chosen.append((shift, ranked))
    if not chosen:
        return []
    fresh = {shift_id for shift_id, in _run(session, _OFFER_SHIFTS, {
        "worker_id": worker.worker_id, "shift_ids": [shift.shift_id for shift, _ in chosen],
        "stages": [shift.stage for shift, _ in chosen]})}
    envelopes = [uow.emit(PUBLISHED, domain.candidates_ranked(shift, ranked))
                 for shift, ranked in chosen if shift.shift_id in fresh]
    if envelopes:
        _count_offers(session, [worker.worker_id], [_offer_day(e) for e in envelopes], at, logged=envelopes)
    return envelopes


def _named(session, envelope, at):
    """Record who a published matching.candidates_ranked named (when rebuilding)."""
    data = envelope["data"]
    worker_ids = sorted(c["worker_id"] for c in data["candidates"])
    _run(session, _LOCK_WORKERS, {"worker_ids": worker_ids})
    _run(session, _OFFER, {"shift_id": data["shift_id"], "stage": data["stage"], "worker_ids": worker_ids})
    _count_offers(session, worker_ids, [_offer_day(envelope)], at)


def _offer_day(envelope):
    """The London day (domain.day_number) a published offer counts on."""
    return domain.day_number(london_date(datetime.fromisoformat(envelope["occurred_at"])))


def _count_offers(session, worker_ids, days, at, logged=()):
    """One more offer on each of `days` for each of the workers (their rows locked), on the
    worker and its index rows; offers older than fairness counts are dropped. In the same
    statement, the `logged` envelopes published are written to the event log (as
    eventlog.record writes them)."""
    values = {"days": days, "since": domain.day_number(domain.fairness_since(at)), "worker_ids": worker_ids}
    if not logged:
        _run(session, "WITH " + _OFFERED, values)
        return
    _run(session, f"WITH {_LOG}, {_OFFERED}", {
        **values, "log_ids": [e["event_id"] for e in logged], "log_types": [e["type"] for e in logged],
        "log_times": [datetime.fromisoformat(e["occurred_at"]) for e in logged],
        "log_envelopes": [json.dumps(e) for e in logged]})


# The statements every event runs, as SQL text run on the driver (`_run`): SQLAlchemy 2.0 does not
# cache the PostgreSQL INSERT ... ON CONFLICT construct (its dialect Insert sets inherit_cache =
# False), and compiling one, or even running a statement through SQLAlchemy, costs more than the
# statement. Sorted ids: one lock order for everyone.
_OFFER = (
    "INSERT INTO offers (shift_id, worker_id, stage) "
    "SELECT %(shift_id)s, worker_id, %(stage)s FROM unnest(CAST(%(worker_ids)s AS varchar[])) AS worker_id "
    "ORDER BY worker_id ON CONFLICT (shift_id, worker_id) DO NOTHING RETURNING worker_id")
# Naming workers locks their rows, in one order, before their offers are inserted: a handler
# holding one worker's row (a cancellation) that tells of a shift another unit of work is naming
# it for waits for that one here, instead of each waiting for the other's locks.
_LOCK_WORKERS = (
    "SELECT worker_id FROM workers WHERE worker_id = ANY(CAST(%(worker_ids)s AS varchar[])) "
    "ORDER BY worker_id FOR UPDATE")
# One worker named for several shifts at once (tell_worker): its row is locked already.
_OFFER_SHIFTS = (
    "INSERT INTO offers (shift_id, worker_id, stage) "
    "SELECT shift_id, %(worker_id)s, stage FROM unnest(CAST(%(shift_ids)s AS varchar[]), "
    "CAST(%(stages)s AS varchar[])) AS named(shift_id, stage) "
    "ORDER BY shift_id ON CONFLICT (shift_id, worker_id) DO NOTHING RETURNING shift_id")
# The worker's offers and its index rows' (two tables: one statement).
_OFFERED_IN = ("UPDATE {table} SET offered_days = ARRAY(SELECT d FROM unnest(offered_days || "
               "CAST(%(days)s AS integer[])) AS d WHERE d >= %(since)s ORDER BY d) "
               "WHERE worker_id = ANY(CAST(%(worker_ids)s AS varchar[]))")
_OFFERED = f"counted AS ({_OFFERED_IN.format(table='workers')}) {_OFFERED_IN.format(table='reach')}"
# Published events' rows of the log (chassis.eventlog.record's), several at once.
_LOG = ("logged AS (INSERT INTO event_log (event_id, type, occurred_at, envelope) "
        "SELECT e.event_id, e.type, e.occurred_at, CAST(e.envelope AS jsonb) FROM unnest("
        "CAST(%(log_ids)s AS uuid[]), CAST(%(log_types)s AS varchar[]), "
        "CAST(%(log_times)s AS timestamptz[]), CAST(%(log_envelopes)s AS text[])) "
        "AS e(event_id, type, occurred_at, envelope) "
        "ON CONFLICT (event_id) DO NOTHING)")


def _run(session, sql, values):
    """Run SQL (the driver's paramstyle) on the unit of work's own connection and transaction;
    its rows, if it returns any. The hot writes go straight to the driver: SQLAlchemy's ORM and
    statement execution cost more than the statements themselves."""
    with session.connection().connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall() if cursor.description is not None else None


@dataclass(slots=True)
class _Worker:
    """A row of `workers` (models.Worker), as a handler reads it under its lock and changes it."""

    worker_id: str
    user_id: str | None
    bank_id: str | None
    agency_id: str | None
    staff_type: str | None
    grade: str | None
    latitude: float | None
    longitude: float | None
    extra_grades: list
    max_travel_km: float | None
    opted_out_of_48h: bool
    profile_at: datetime | None
    status: str | None
    status_at: datetime | None
    compliance_status: str | None
    compliance_version: int | None
    cleared_until: date | None
    worked_sites: list
    worked_organisations: list
    offered_days: list


_WORKER_COLUMNS = tuple(f.name for f in fields(_Worker))
# Upserts that lock and return the row (the update of a conflicting row takes its lock).
_WORKER = (f"INSERT INTO workers (worker_id) VALUES (%(worker_id)s) ON CONFLICT (worker_id) DO UPDATE "
           f"SET worker_id = excluded.worker_id RETURNING {', '.join(_WORKER_COLUMNS)}")
_SAVE_WORKER = (f"UPDATE workers SET {', '.join(f'{c} = %({c})s' for c in _WORKER_COLUMNS[1:])} "
                "WHERE worker_id = %(worker_id)s")
_SAVE_WITH = f"WITH saved AS ({_SAVE_WORKER}) "  # the worker's row, written back in its index's statement


@dataclass(slots=True)
class _Shift:
    """A row of `shifts` (models.Shift), as a handler reads it under its lock and changes it."""

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
    status_rank: int
    worker_id: str | None
    stage: str | None
    stage_rank: int
    agency_tier: int | None
    priority_group_id: str | None
    release_event_id: str | None


_SHIFT_FACTS = ("shift_id", "site_id", "organisation_id", "bank_id", "staff_type", "grade", "starts_at",
                "ends_at", "hourly_rate", "status", "status_rank", "worker_id")
_SHIFT = (
    f"INSERT INTO shifts ({', '.join(_SHIFT_FACTS)}) VALUES ({', '.join(f'%({f})s' for f in _SHIFT_FACTS)}) "
    "ON CONFLICT (shift_id) DO UPDATE SET status = CASE WHEN excluded.status_rank > shifts.status_rank "
    "THEN excluded.status ELSE shifts.status END, "
    "status_rank = greatest(excluded.status_rank, shifts.status_rank), "
    "worker_id = coalesce(shifts.worker_id, excluded.worker_id) "
    f"RETURNING {', '.join(f.name for f in fields(_Shift))}")
# A booking's shift and its worker, each upserted and locked (in that order), in one statement.
_SHIFT_AND_WORKER = (
    f"WITH shift AS ({_SHIFT}), worker AS (INSERT INTO workers (worker_id) SELECT worker_id FROM shift "
    "WHERE worker_id IS NOT NULL ON CONFLICT (worker_id) DO UPDATE SET worker_id = excluded.worker_id "
    f"RETURNING {', '.join(_WORKER_COLUMNS)}) SELECT shift.*, worker.* FROM shift LEFT JOIN worker ON true")
_SHIFT_LENGTH = len(fields(_Shift))
_RELEASE_COLUMNS = ("stage", "stage_rank", "agency_tier", "priority_group_id", "release_event_id", "shift_id")
_RELEASE = (f"UPDATE shifts SET {', '.join(f'{c} = %({c})s' for c in _RELEASE_COLUMNS[:-1])} "
            "WHERE shift_id = %(shift_id)s")

# A worker's bookings from HORIZON ago onwards, by start, as the index keeps them (epoch seconds).
_SCHEDULE = (
    "SELECT coalesce(array_agg(CAST(extract(epoch FROM starts_at) AS float8) ORDER BY starts_at), '{}'), "
    "coalesce(array_agg(CAST(extract(epoch FROM ends_at) AS float8) ORDER BY starts_at), '{}') "
    "FROM shifts WHERE worker_id = %(worker_id)s "
    f"AND status IN ({', '.join(repr(s) for s in sorted(domain.WORKING))}) AND ends_at > %(since)s")
_REACH_FACTS = ("bank_id", "staff_type", "reach_km", "latitude", "longitude", "user_id", "grades",
                "max_travel_km", "opted_out_of_48h", "status", "compliance_status", "cleared_until",
                "worked_sites", "worked_organisations", "offered_days")
# Filing a worker (a WITH list's tail: _save runs it): its rows of the grades it may work written
# (one a grade, its bookings read in the same statement), the rest deleted (all while it may not
# work): rows of other grades, so that the two parts never touch one row.
_FILE = (
    "gone AS (DELETE FROM reach WHERE worker_id = %(worker_id)s "
    "AND grade <> ALL(CAST(%(grades)s AS varchar[]))) "
    f"INSERT INTO reach (worker_id, grade, {', '.join(_REACH_FACTS)}, booked_starts, booked_ends) "
    f"SELECT %(worker_id)s, grade, {', '.join(f'%({f})s' for f in _REACH_FACTS)}, booked.starts, booked.ends "
    f"FROM unnest(CAST(%(grades)s AS varchar[])) AS grade, ({_SCHEDULE}) AS booked(starts, ends) "
    "ON CONFLICT (worker_id, grade) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_REACH_FACTS, "booked_starts", "booked_ends")))
_RESCHEDULE = (
    "UPDATE reach SET worked_sites = %(worked_sites)s, worked_organisations = %(worked_organisations)s, "
    f"booked_starts = booked.starts, booked_ends = booked.ends FROM ({_SCHEDULE}) AS booked(starts, ends) "
    "WHERE reach.worker_id = %(worker_id)s")


# --- identity and compliance: workers and sites ----------------------------------------

def _worker(session, worker_id):
    """The worker's row (_Worker), created empty if no fact of it arrived before, locked (one
    statement: the upsert's update takes the row lock)."""
    return _Worker(*_run(session, _WORKER, {"worker_id": worker_id})[0])


def _values(worker):
    return {c: getattr(worker, c) for c in _WORKER_COLUMNS}


def _save(session, worker, before, index=None, values=None):
    """Write the worker's row back if a fact changed it (`before`: its _values when read), in
    one statement with `index` (_FILE, _RESCHEDULE: its index rows' statement) with `values`,
    if given: they touch different tables, and the worker's lock is held already."""
    row = _values(worker)
    changed = row != before
    if index is None:
        if changed:
            _run(session, _SAVE_WORKER, row)
    elif index is _FILE:
        _run(session, (_SAVE_WITH + ", " if changed else "WITH ") + _FILE, {**row, **values})
    else:
        _run(session, (_SAVE_WITH if changed else "") + index, {**row, **values})


def _profile(worker, data, occurred_at):
    if domain.newer(occurred_at, worker.profile_at):
        worker.extra_grades = sorted(set(data["extra_grades"]))
        worker.max_travel_km, worker.opted_out_of_48h = data["max_travel_km"], data["opted_out_of_48h"]
        worker.agency_id, worker.profile_at = data.get("agency_id"), occurred_at


def _status(worker, status, occurred_at):
    if domain.newer(occurred_at, worker.status_at):
        worker.status, worker.status_at = status, occurred_at


def _index(session, worker, before, at):
    """Save the worker (its row locked; `before`: as _save) and file it in the index again, from
    its facts and its bookings: a row per grade it may work while it may work (active, cleared),
    none otherwise. (Where the index's values share a name with the worker's, they are its.)"""
    grades = sorted({worker.grade, *worker.extra_grades}) if domain.indexed(worker) else []
    _save(session, worker, before, _FILE, {
        "worker_id": worker.worker_id, "grades": grades, "bank_id": worker.bank_id,
        "staff_type": worker.staff_type, "reach_km": domain.reach_class(worker.max_travel_km),
        "latitude": worker.latitude, "longitude": worker.longitude, "user_id": worker.user_id,
        "max_travel_km": worker.max_travel_km, "opted_out_of_48h": worker.opted_out_of_48h,
        "status": worker.status, "compliance_status": worker.compliance_status,
        "cleared_until": worker.cleared_until, "worked_sites": list(worker.worked_sites),
        "worked_organisations": list(worker.worked_organisations), "offered_days": list(worker.offered_days),
        "since": at - domain.HORIZON})


def _rescheduled(session, worker, before, at):
    """A booking of the worker (its row locked) was made, completed or cancelled: save it (as
    _save) and its index rows take its bookings (and where it has worked) again."""
    _save(session, worker, before, _RESCHEDULE, {
        "worker_id": worker.worker_id, "worked_sites": list(worker.worked_sites),
        "worked_organisations": list(worker.worked_organisations), "since": at - domain.HORIZON})


def on_worker_registered(session, event, at):
    data = event.data
    worker, before = _worker_before(session, data["worker_id"])
    worker.user_id, worker.bank_id = data["user_id"], data["bank_id"]
    worker.staff_type, worker.grade = data["staff_type"], data["grade"]
    worker.latitude, worker.longitude = data["latitude"], data["longitude"]
    _profile(worker, data, event.occurred_at)
    _status(worker, data["status"], event.occurred_at)
    return _reindexed(session, worker, before, at)


def on_worker_updated(session, event, at):
    worker, before = _worker_before(session, event.data["worker_id"])
    worker.bank_id = worker.bank_id or event.data["bank_id"]
    _profile(worker, event.data, event.occurred_at)
    return _reindexed(session, worker, before, at)


def on_worker_status(session, event, at):
    worker, before = _worker_before(session, event.data["worker_id"])
    worker.bank_id = worker.bank_id or event.data["bank_id"]
    _status(worker, event.data["status"], event.occurred_at)
    return _reindexed(session, worker, before, at)


def on_compliance(session, event, at):
    """cleared, uncleared, lapsed: the worker's compliance as a whole, by version."""
    data = event.data
    worker, before = _worker_before(session, data["worker_id"])
    worker.bank_id = worker.bank_id or data["bank_id"]
    if worker.compliance_version is None or data["version"] > worker.compliance_version:
        worker.compliance_status, worker.compliance_version = data["status"], data["version"]
        until = data.get("cleared_until")
        worker.cleared_until = date.fromisoformat(until) if until else None
    return _reindexed(session, worker, before, at)


def _filed(worker):
    """What the index holds of a worker, but its bookings and where it has worked."""
    return (worker.user_id, worker.bank_id, worker.staff_type, worker.grade, tuple(worker.extra_grades),
            worker.latitude, worker.longitude, worker.max_travel_km, worker.opted_out_of_48h, worker.status,
            worker.compliance_status, worker.cleared_until)


def _worker_before(session, worker_id):
    """The worker's row (locked) and what it was before this fact: (its values, its index facts,
    Admission)."""
    worker = _worker(session, worker_id)
    return worker, (_values(worker), _filed(worker), domain.Admission.of(worker))


def _reindexed(session, worker, before, at):
    """Save the worker and file it again if its facts changed; if it may now take shifts it
    could not, the open shifts it may newly take are to be told."""
    values, filed, admission = before
    if _filed(worker) != filed:
        _index(session, worker, values, at)
    else:
        _save(session, worker, values)
    return [("worker", worker)] if domain.admits_more(admission, domain.Admission.of(worker)) else []


def on_site_created(session, event, at):
    data = event.data
    session.execute(insert(Site).values(
        site_id=data["site_id"], organisation_id=data["organisation_id"], bank_id=data["bank_id"],
        latitude=data["latitude"], longitude=data["longitude"]).on_conflict_do_nothing())
    return [("site", data["site_id"])]  # shifts released before their site was known


# --- shifts ----------------------------------------------------------------------------

def _shift_facts(data):
    """What every shifts event tells of its shift, as _SHIFT takes it."""
    return {**{f: data.get(f) for f in _SHIFT_FACTS}, "starts_at": datetime.fromisoformat(data["starts_at"]),
            "ends_at": datetime.fromisoformat(data["ends_at"]),
            "status_rank": domain.STATUS_RANK.get(data["status"], 0)}


def _shift(session, data):
    """The shift's row (_Shift), created from the facts every shifts event carries, its status
    moved on if this fact's comes later (domain.STATUS_RANK) and its booked worker kept; locked."""
    return _Shift(*_run(session, _SHIFT, _shift_facts(data))[0])


def _released(session, shift, event, stage, tier=None):
    """Move the shift to a later stage of its release; [the shift] to tell about, if it moved.
    Its priority group is kept whichever stage arrives first (a fact of the shift, not of the
    stage: the model ends the same in any order)."""
    before = (shift.priority_group_id, shift.stage_rank)
    if event.data.get("priority_group_id"):
        shift.priority_group_id = event.data["priority_group_id"]
    rank = domain.stage_rank(stage, tier)
    moved = rank > shift.stage_rank  # else an earlier stage arriving late
    if moved:
        shift.stage, shift.stage_rank, shift.release_event_id = stage, rank, event.event_id
        if tier is not None:
            shift.agency_tier = tier
    if (shift.priority_group_id, shift.stage_rank) != before:
        _run(session, _RELEASE, {f: getattr(shift, f) for f in _RELEASE_COLUMNS})
    return [("shift", shift.shift_id)] if moved else []


def on_shift_published(session, event, at):
    return _released(session, _shift(session, event.data), event, event.data["to"])


def on_shift_cascaded(session, event, at):
    return _released(session, _shift(session, event.data), event, "agency", event.data["tier"])


def _booking_changed(session, data, at):
    """The booked worker's schedule changed (booked, completed, cancelled): its index rows follow.
    The worker, if the shift has one."""
    row = _run(session, _SHIFT_AND_WORKER, _shift_facts(data))[0]  # _shift's, and _worker's if booked
    shift = _Shift(*row[:_SHIFT_LENGTH])
    if shift.worker_id is None:
        return None
    worker = _Worker(*row[_SHIFT_LENGTH:])
    before = _values(worker)
    if shift.status == "completed":
        worker.worked_sites = sorted({*worker.worked_sites, shift.site_id})
        worker.worked_organisations = sorted({*worker.worked_organisations, shift.organisation_id})
    _rescheduled(session, worker, before, at)
    return worker


def on_shift_booked(session, event, at):
    _booking_changed(session, event.data, at)
    return []


def on_shift_completed(session, event, at):
    _booking_changed(session, event.data, at)
    return []


def on_shift_cancelled(session, event, at):
    worker = _booking_changed(session, event.data, at)
    return [("worker", worker)] if worker is not None and domain.indexed(worker) else []


def on_priority_group_created(session, event, at):
    data = event.data
    if data["worker_ids"]:
        session.execute(insert(GroupMember).values([
            {"group_id": data["priority_group_id"], "worker_id": w} for w in sorted(set(data["worker_ids"]))
        ]).on_conflict_do_nothing())
    return [("group", data["priority_group_id"])]  # shifts released to it before it was known


APPLY = {
    "worker.registered": on_worker_registered,
    "worker.updated": on_worker_updated,
    "worker.onboarding": on_worker_status,
    "worker.activated": on_worker_status,
    "worker.suspended": on_worker_status,
    "worker.left": on_worker_status,
    "compliance.cleared": on_compliance,
    "compliance.uncleared": on_compliance,
    "compliance.lapsed": on_compliance,
    "site.created": on_site_created,
    "shift.published": on_shift_published,
    "shift.cascaded": on_shift_cascaded,
    "shift.booked": on_shift_booked,
    "shift.completed": on_shift_completed,
    "shift.cancelled": on_shift_cancelled,
    "priority_group.created": on_priority_group_created,
}


# --- rebuild ---------------------------------------------------------------------------

def rebuild(uow, at, progress=None):
    """Empty the model and apply the event log again in occurred_at order (chassis.eventlog),
    naming nobody: who was named comes back from matching's own published events.
    `progress(done, total)`."""
    session = uow.session
    return eventlog.replay(session, event_log, MODEL, lambda envelope: _replay(session, envelope, at),
                           progress=progress)


def _replay(session, envelope, at):
    if envelope["type"] == PUBLISHED:
        _named(session, envelope, at)
    else:
        APPLY[envelope["type"]](session, eventlog.event_of(envelope), at)
