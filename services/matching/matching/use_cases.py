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
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert

from chassis import eventlog
from chassis.clock import london_date
from matching import domain, queries
from matching.models import MODEL, GroupMember, Reach, Shift, Site, Worker, event_log

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
    session.execute(_LOCK_WORKERS, {"worker_ids": worker_ids})  # before the offers: see _LOCK_WORKERS
    fresh = set(session.scalars(_OFFER, {"shift_id": shift_id, "stage": shift.stage,
                                         "worker_ids": worker_ids}))
    if not fresh:
        return None
    envelope = uow.emit(PUBLISHED, domain.candidates_ranked(
        shift, domain.renumber([c for c in ranked if c["worker_id"] in fresh])))
    eventlog.record(session, event_log, envelope)
    _count_offers(session, sorted(fresh), [_offer_day(envelope)], at)
    return envelope


def tell_worker(uow, worker, at):
    """Name a worker (models.Worker, its row locked) whose facts changed for each open shift it
    may newly take, one matching.candidates_ranked a shift, as `tell(..., only=[worker])` would
    for each: but its index rows are read once and judged against every such shift in Python,
    and the offers and their count are written in one statement each, whatever the number of
    shifts (a worker in a town may be in reach of dozens)."""
    session = uow.session
    shifts = queries.open_shifts_for_worker(session, worker, at)
    rows = queries.index_rows(session, worker.worker_id) if shifts else {}
    chosen = []
    for shift in shifts:
        if shift.grade not in rows:
            continue
        row, sites, organisations = rows[shift.grade]
        ranked = domain.candidates(shift, [row._replace(worked_at_site=shift.site_id in sites,
                                                        worked_at_organisation=shift.organisation_id in
                                                        organisations)], at)
        if ranked:
            chosen.append((shift, ranked))
    if not chosen:
        return []
    fresh = set(session.scalars(_OFFER_SHIFTS, {
        "worker_id": worker.worker_id, "shift_ids": [shift.shift_id for shift, _ in chosen],
        "stages": [shift.stage for shift, _ in chosen]}))
    envelopes = []
    for shift, ranked in chosen:
        if shift.shift_id in fresh:
            envelopes.append(uow.emit(PUBLISHED, domain.candidates_ranked(shift, ranked)))
            eventlog.record(session, event_log, envelopes[-1])
    if envelopes:
        _count_offers(session, [worker.worker_id], [_offer_day(e) for e in envelopes], at)
    return envelopes


def _named(session, envelope, at):
    """Record who a published matching.candidates_ranked named (when rebuilding)."""
    data = envelope["data"]
    worker_ids = sorted(c["worker_id"] for c in data["candidates"])
    session.execute(_LOCK_WORKERS, {"worker_ids": worker_ids})
    session.execute(_OFFER, {"shift_id": data["shift_id"], "stage": data["stage"], "worker_ids": worker_ids})
    _count_offers(session, worker_ids, [_offer_day(envelope)], at)


def _offer_day(envelope):
    """The London day (domain.day_number) a published offer counts on."""
    return domain.day_number(london_date(datetime.fromisoformat(envelope["occurred_at"])))


def _count_offers(session, worker_ids, days, at):
    """One more offer on each of `days` for each of the workers (their rows locked), on the
    worker and its index rows; offers older than fairness counts are dropped."""
    values = {"days": days, "since": domain.day_number(domain.fairness_since(at)), "worker_ids": worker_ids}
    for statement in _OFFERED:
        session.execute(statement, values)


# The statements every event runs, as SQL text: SQLAlchemy 2.0 does not cache the PostgreSQL
# INSERT ... ON CONFLICT construct (its dialect Insert sets inherit_cache = False), and compiling
# one costs more than the rest of applying an event. Sorted ids: one lock order for everyone.
_OFFER = sa.text(
    "INSERT INTO offers (shift_id, worker_id, stage) "
    "SELECT :shift_id, worker_id, :stage FROM unnest(CAST(:worker_ids AS varchar[])) AS worker_id "
    "ORDER BY worker_id ON CONFLICT (shift_id, worker_id) DO NOTHING RETURNING worker_id")
# Naming workers locks their rows, in one order, before their offers are inserted: a handler
# holding one worker's row (a cancellation) that tells of a shift another unit of work is naming
# it for waits for that one here, instead of each waiting for the other's locks.
_LOCK_WORKERS = sa.text(
    "SELECT worker_id FROM workers WHERE worker_id = ANY(CAST(:worker_ids AS varchar[])) "
    "ORDER BY worker_id FOR UPDATE")
# One worker named for several shifts at once (tell_worker): its row is locked already.
_OFFER_SHIFTS = sa.text(
    "INSERT INTO offers (shift_id, worker_id, stage) "
    "SELECT shift_id, :worker_id, stage FROM unnest(CAST(:shift_ids AS varchar[]), "
    "CAST(:stages AS varchar[])) AS named(shift_id, stage) "
    "ORDER BY shift_id ON CONFLICT (shift_id, worker_id) DO NOTHING RETURNING shift_id")
_OFFERED = tuple(sa.text(
    f"UPDATE {table} SET offered_days = ARRAY(SELECT d FROM unnest(offered_days || "
    "CAST(:days AS integer[])) AS d WHERE d >= :since ORDER BY d) "
    "WHERE worker_id = ANY(CAST(:worker_ids AS varchar[]))") for table in ("workers", "reach"))
# Upserts that lock and return the row (the update of a conflicting row takes its lock).
_WORKER = sa.select(Worker).from_statement(sa.text(
    "INSERT INTO workers (worker_id) VALUES (:worker_id) "
    "ON CONFLICT (worker_id) DO UPDATE SET worker_id = excluded.worker_id RETURNING *"))
_SHIFT_FACTS = ("shift_id", "site_id", "organisation_id", "bank_id", "staff_type", "grade", "starts_at",
                "ends_at", "hourly_rate", "status", "status_rank", "worker_id")
_SHIFT = sa.select(Shift).from_statement(sa.text(
    f"INSERT INTO shifts ({', '.join(_SHIFT_FACTS)}) VALUES ({', '.join(':' + f for f in _SHIFT_FACTS)}) "
    "ON CONFLICT (shift_id) DO UPDATE SET status = CASE WHEN excluded.status_rank > shifts.status_rank "
    "THEN excluded.status ELSE shifts.status END, "
    "status_rank = greatest(excluded.status_rank, shifts.status_rank), "
    "worker_id = coalesce(shifts.worker_id, excluded.worker_id) RETURNING *"))
_FRESH = {"populate_existing": True}


# --- identity and compliance: workers and sites ----------------------------------------

def _worker(session, worker_id):
    """The worker's row, created empty if no fact of it arrived before, locked and fresh (one
    statement: the upsert's update takes the row lock)."""
    return session.scalar(_WORKER, {"worker_id": worker_id}, execution_options=_FRESH)


def _profile(worker, data, occurred_at):
    if domain.newer(occurred_at, worker.profile_at):
        worker.extra_grades = sorted(set(data["extra_grades"]))
        worker.max_travel_km, worker.opted_out_of_48h = data["max_travel_km"], data["opted_out_of_48h"]
        worker.agency_id, worker.profile_at = data.get("agency_id"), occurred_at


def _status(worker, status, occurred_at):
    if domain.newer(occurred_at, worker.status_at):
        worker.status, worker.status_at = status, occurred_at


def _index(session, worker, at):
    """File the worker (its row locked) in the index again, from its facts and its bookings:
    a row per grade it may work while it may work (active, cleared), none otherwise."""
    session.flush()
    session.execute(sa.delete(Reach).where(Reach.worker_id == worker.worker_id))
    if not domain.indexed(worker):
        return
    grades = sorted({worker.grade, *worker.extra_grades})
    facts = {"worker_id": worker.worker_id, "bank_id": worker.bank_id, "staff_type": worker.staff_type,
             "reach_km": domain.reach_class(worker.max_travel_km), "latitude": worker.latitude,
             "longitude": worker.longitude, "user_id": worker.user_id, "grades": grades,
             "max_travel_km": worker.max_travel_km, "opted_out_of_48h": worker.opted_out_of_48h,
             "status": worker.status, "compliance_status": worker.compliance_status,
             "cleared_until": worker.cleared_until, "worked_sites": list(worker.worked_sites),
             "worked_organisations": list(worker.worked_organisations),
             "offered_days": list(worker.offered_days), **_schedule(worker.worker_id, at)}
    for grade in grades:  # a statement a row: SQLAlchemy caches a one-row INSERT, not a many-row one
        session.execute(sa.insert(Reach).values({**facts, "grade": grade}))


def _schedule(worker_id, at):
    """The worker's bookings from HORIZON ago onwards, by start, as the index keeps them (epoch
    seconds): SQL expressions, so that filing a worker reads and writes in one statement."""
    booked = sa.select(Shift.starts_at, Shift.ends_at).where(
        Shift.worker_id == worker_id, Shift.status.in_(domain.WORKING),
        Shift.ends_at > at - domain.HORIZON).subquery()

    def epochs(column):
        return sa.select(sa.func.coalesce(
            sa.func.array_agg(aggregate_order_by(sa.extract("epoch", column), booked.c.starts_at)),
            sa.cast(sa.literal([]), ARRAY(sa.Float)))).scalar_subquery()

    return {"booked_starts": epochs(booked.c.starts_at), "booked_ends": epochs(booked.c.ends_at)}


def _rescheduled(session, worker, at):
    """A booking of the worker (its row locked) was made, completed or cancelled: its index rows
    take its bookings (and where it has worked) again."""
    session.execute(sa.update(Reach).where(Reach.worker_id == worker.worker_id).values(
        worked_sites=list(worker.worked_sites), worked_organisations=list(worker.worked_organisations),
        **_schedule(worker.worker_id, at)).execution_options(synchronize_session=False))


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
    """The worker's row (locked) and what it was before this fact: (its index facts, Admission)."""
    worker = _worker(session, worker_id)
    return worker, (_filed(worker), domain.Admission.of(worker))


def _reindexed(session, worker, before, at):
    """File the worker again if its facts changed; if it may now take shifts it could not, the
    open shifts it may newly take are to be told."""
    filed, admission = before
    if _filed(worker) != filed:
        _index(session, worker, at)
    return [("worker", worker)] if domain.admits_more(admission, domain.Admission.of(worker)) else []


def on_site_created(session, event, at):
    data = event.data
    session.execute(insert(Site).values(
        site_id=data["site_id"], organisation_id=data["organisation_id"], bank_id=data["bank_id"],
        latitude=data["latitude"], longitude=data["longitude"]).on_conflict_do_nothing())
    return [("site", data["site_id"])]  # shifts released before their site was known


# --- shifts ----------------------------------------------------------------------------

def _shift(session, data):
    """The shift's row, created from the facts every shifts event carries, its status moved on
    if this fact's comes later (domain.STATUS_RANK) and its booked worker kept; locked."""
    return session.scalar(_SHIFT, {**{f: data.get(f) for f in _SHIFT_FACTS},
                                   "starts_at": datetime.fromisoformat(data["starts_at"]),
                                   "ends_at": datetime.fromisoformat(data["ends_at"]),
                                   "status_rank": domain.STATUS_RANK.get(data["status"], 0)},
                          execution_options=_FRESH)


def _released(shift, event, stage, tier=None):
    """Move the shift to a later stage of its release; [the shift] to tell about, if it moved.
    Its priority group is kept whichever stage arrives first (a fact of the shift, not of the
    stage: the model ends the same in any order)."""
    if event.data.get("priority_group_id"):
        shift.priority_group_id = event.data["priority_group_id"]
    rank = domain.stage_rank(stage, tier)
    if rank <= shift.stage_rank:
        return []  # an earlier stage arriving late
    shift.stage, shift.stage_rank, shift.release_event_id = stage, rank, event.event_id
    if tier is not None:
        shift.agency_tier = tier
    return [("shift", shift.shift_id)]


def on_shift_published(session, event, at):
    return _released(_shift(session, event.data), event, event.data["to"])


def on_shift_cascaded(session, event, at):
    return _released(_shift(session, event.data), event, "agency", event.data["tier"])


def _booking_changed(session, shift, at):
    """The booked worker's schedule changed (booked, completed, cancelled): its index rows follow."""
    if shift.worker_id is None:
        return None
    worker = _worker(session, shift.worker_id)
    if shift.status == "completed":
        worker.worked_sites = sorted({*worker.worked_sites, shift.site_id})
        worker.worked_organisations = sorted({*worker.worked_organisations, shift.organisation_id})
    session.flush()
    _rescheduled(session, worker, at)
    return worker


def on_shift_booked(session, event, at):
    _booking_changed(session, _shift(session, event.data), at)
    return []


def on_shift_completed(session, event, at):
    _booking_changed(session, _shift(session, event.data), at)
    return []


def on_shift_cancelled(session, event, at):
    worker = _booking_changed(session, _shift(session, event.data), at)
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
