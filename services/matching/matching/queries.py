"""Matching's reads: a shift's candidates, which open shifts a worker may newly hear of, and
views of the model for operators and tests. Nothing here writes; use_cases.py does.

A shift's candidates take one statement, whatever the size of the bank: the index (`Reach`)
rows filed under the shift's bank, staff type and grade whose reach class's box holds the site
(one range scan on latitude per class, longitudes checked on the index entries) and, with a
metre to spare, whose travel radius holds it, each with the worker's facts, bookings and recent
offers. Then domain.candidates judges each with booking's own rules (distance_km among them: the
statement's distance only spares Python the rows that are surely out of reach) and ranks them.
The statement is compiled once per shape and its rows read straight from the driver: a big
shift has a thousand or more, and SQLAlchemy's row objects would cost as much as the query.
"""

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from matching import domain
from matching.models import GroupMember, Offer, Reach, Shift, Site, Worker

# --- a shift and its candidates --------------------------------------------------------

def open_shift(session, shift_id):
    """The shift as domain.OpenShift, or None while matching cannot judge it (unknown shift, or
    its site not known yet)."""
    row = session.execute(
        sa.select(Shift.shift_id, Shift.site_id, Shift.organisation_id, Shift.bank_id, Shift.staff_type,
                  Shift.grade, Shift.starts_at, Shift.ends_at, Shift.hourly_rate, Shift.status, Shift.stage,
                  Shift.release_event_id, Site.latitude, Site.longitude, Shift.priority_group_id)
        .join(Site, Site.site_id == Shift.site_id).where(Shift.shift_id == shift_id)).first()
    if row is None:
        return None
    members = frozenset()
    if row.stage == "priority":
        members = frozenset(session.scalars(sa.select(GroupMember.worker_id)
                                            .where(GroupMember.group_id == row.priority_group_id)))
    return domain.OpenShift(**row._mapping, priority_members=members)


# Rows whose travel radius misses the site by more than this are left to the statement; the
# rest are judged by domain.reaches (floating point in SQL and in Python may differ by a hair).
_SPARE_KM = 0.001


def _within_reach(latitude, longitude):
    """SQL: the haversine distance of domain.reaches from the index row's home to a place is
    within the row's travel radius (with _SPARE_KM to spare)."""
    f = sa.func
    lat, site_lat = f.radians(Reach.latitude), f.radians(latitude)
    a = (f.power(f.sin((site_lat - lat) / 2), 2)
         + f.cos(lat) * f.cos(site_lat) * f.power(f.sin(f.radians(longitude - Reach.longitude) / 2), 2))
    distance = 2 * domain.EARTH_RADIUS_KM * f.asin(f.least(1.0, f.sqrt(a)))
    return distance <= f.coalesce(Reach.max_travel_km, domain.DEFAULT_MAX_TRAVEL_KM) + _SPARE_KM


@functools.cache
def _candidates_statement(some, in_window):
    """The statement as the driver runs it and its constant values, built once per shape (bound
    values differ per shift): `some` for the named workers only, `in_window` for a priority
    group's members only."""
    value = sa.bindparam
    read = {
        "worked_at_site": value("site_id") == sa.any_(Reach.worked_sites),
        "worked_at_organisation": value("organisation_id") == sa.any_(Reach.worked_organisations),
        **{c.key: c for c in _as_lists(Reach.grades, Reach.booked_starts, Reach.booked_ends,
                                       Reach.offered_days)},
    }
    statement = (
        sa.select(*[read[field].label(field) if field in read else getattr(Reach, field)
                    for field in domain.Worker._fields])
        .where(Reach.bank_id == value("bank_id"), Reach.staff_type == value("staff_type"),
               Reach.grade == value("grade"),
               sa.or_(Reach.cleared_until.is_(None), Reach.cleared_until >= value("day")),
               _within_reach(value("latitude"), value("longitude"))))
    if some:  # a few workers: their own rows, wherever they live
        statement = statement.where(Reach.worker_id == sa.any_(value("some", type_=ARRAY(sa.String))))
    else:
        statement = statement.where(sa.or_(*[
            sa.and_(Reach.reach_km == km, Reach.latitude.between(value(f"south{i}"), value(f"north{i}")),
                    Reach.longitude.between(value(f"west{i}"), value(f"east{i}")))
            for i, km in enumerate(domain.REACH_CLASSES)]))
    if in_window:
        statement = statement.where(Reach.worker_id.in_(
            sa.select(GroupMember.worker_id).where(GroupMember.group_id == value("group_id"))))
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect())
    constants = {name: bind.value for name, bind in compiled.binds.items() if bind.value is not None}
    return str(compiled), constants


def _as_lists(*columns):
    """Arrays as the driver reads them (lists), without SQLAlchemy walking every item of every row."""
    return [sa.type_coerce(column, sa.types.NullType()).label(column.key) for column in columns]


def _boxes(latitude, longitude):
    bounds = {}
    for i, km in enumerate(domain.REACH_CLASSES):
        box = domain.bounding_box(latitude, longitude, km)
        bounds.update({f"south{i}": box.south, f"north{i}": box.north})
        bounds[f"west{i}"], bounds[f"east{i}"] = box.longitudes or (-180.0, 180.0)
    return bounds


def candidates(session, shift, at, only=None):
    """Who may take `shift` (a domain.OpenShift) at `at` and reaches its site, best first;
    `only`: the worker ids to consider (all when None)."""
    if shift.stage is None or shift.status not in domain.RELEASED or shift.starts_at <= at:
        return []
    sql, constants = _candidates_statement(only is not None, shift.stage == "priority")
    values = {**constants, "site_id": shift.site_id, "organisation_id": shift.organisation_id,
              "bank_id": shift.bank_id, "staff_type": shift.staff_type, "grade": shift.grade,
              "day": shift.day, "group_id": shift.priority_group_id, "latitude": shift.latitude,
              "longitude": shift.longitude}
    if only is None:
        values.update(_boxes(shift.latitude, shift.longitude))
    else:
        values["some"] = list(only)
    with session.connection().connection.cursor() as cursor:  # the unit of work's own transaction
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    return domain.candidates(shift, map(domain.Worker._make, rows), at)


# --- what a new fact may open ----------------------------------------------------------

def _open(statement, at):
    return statement.where(Shift.status.in_(domain.RELEASED), Shift.stage.is_not(None), Shift.starts_at > at)


def open_shifts_at_site(session, site_id, at):
    return session.scalars(_open(sa.select(Shift.shift_id).where(Shift.site_id == site_id), at)
                           .order_by(Shift.starts_at)).all()


def open_shifts_of_group(session, group_id, at):
    return session.scalars(_open(sa.select(Shift.shift_id).where(
        Shift.priority_group_id == group_id, Shift.stage == "priority"), at).order_by(Shift.starts_at)).all()


def open_shifts_for_worker(session, worker, at):
    """Open shifts (domain.OpenShift) of the worker's (models.Worker) staff type and grades
    whose site its radius may reach, that it has not been named for (and, in a priority
    window, whose group holds it; then the worker is its one member that matters here), by
    start: those it may newly hear of after a change of its facts."""
    if not domain.indexed(worker):
        return []
    worker_id = worker.worker_id
    box = domain.bounding_box(worker.latitude, worker.longitude, domain.radius(worker.max_travel_km))
    named = sa.select(Offer.worker_id).where(Offer.shift_id == Shift.shift_id, Offer.worker_id == worker_id)
    member = sa.select(GroupMember.worker_id).where(GroupMember.group_id == Shift.priority_group_id,
                                                    GroupMember.worker_id == worker_id)
    statement = (
        sa.select(Shift.shift_id, Shift.site_id, Shift.organisation_id, Shift.bank_id, Shift.staff_type,
                  Shift.grade, Shift.starts_at, Shift.ends_at, Shift.hourly_rate, Shift.status, Shift.stage,
                  Shift.release_event_id, Site.latitude, Site.longitude, Shift.priority_group_id)
        .join(Site, Site.site_id == Shift.site_id)
        .where(Shift.bank_id == worker.bank_id, Shift.staff_type == worker.staff_type,
               Shift.grade.in_([worker.grade, *worker.extra_grades]),
               Site.latitude.between(box.south, box.north),
               ~named.exists(), sa.or_(Shift.stage != "priority", member.exists())))
    if box.longitudes is not None:
        statement = statement.where(Site.longitude.between(*box.longitudes))
    rows = session.execute(_open(statement, at).order_by(Shift.starts_at, Shift.shift_id)).all()
    alone, nobody = frozenset([worker_id]), frozenset()
    return [domain.OpenShift(**row._mapping, priority_members=alone if row.stage == "priority" else nobody)
            for row in rows]


def index_rows(session, worker_id):
    """The worker's index rows by grade: (domain.Worker without the shift's own facts, the
    sites and organisations it has worked at), to judge it against several shifts at once."""
    fields = [f for f in domain.Worker._fields if f not in ("worked_at_site", "worked_at_organisation")]
    rows = session.execute(sa.select(Reach.grade, Reach.worked_sites, Reach.worked_organisations,
                                     *[getattr(Reach, f) for f in fields])
                           .where(Reach.worker_id == worker_id)).all()
    return {row.grade: (domain.Worker(**{f: getattr(row, f) for f in fields}),
                        frozenset(row.worked_sites), frozenset(row.worked_organisations)) for row in rows}


# --- views -----------------------------------------------------------------------------

def worker_view(session, worker_id, at):
    """What the model holds of a worker (None if nothing): for operators and tests."""
    worker = session.get(Worker, worker_id)
    if worker is None:
        return None
    bookings = session.execute(sa.select(Shift.shift_id, Shift.starts_at, Shift.ends_at, Shift.status)
                               .where(Shift.worker_id == worker_id, Shift.status.in_(domain.WORKING))
                               .order_by(Shift.starts_at)).all()
    offers = domain.offers_since(worker.offered_days, domain.day_number(domain.fairness_since(at)))
    return {
        "worker_id": worker.worker_id, "user_id": worker.user_id, "bank_id": worker.bank_id,
        "agency_id": worker.agency_id, "staff_type": worker.staff_type, "grade": worker.grade,
        "extra_grades": list(worker.extra_grades), "latitude": worker.latitude, "longitude": worker.longitude,
        "max_travel_km": worker.max_travel_km, "opted_out_of_48h": worker.opted_out_of_48h,
        "status": worker.status, "compliance_status": worker.compliance_status,
        "compliance_version": worker.compliance_version,
        "cleared_until": worker.cleared_until.isoformat() if worker.cleared_until else None,
        "worked_sites": sorted(worker.worked_sites),
        "worked_organisations": sorted(worker.worked_organisations),
        "bookings": [{"shift_id": b.shift_id, "starts_at": b.starts_at.isoformat(),
                      "ends_at": b.ends_at.isoformat(), "status": b.status} for b in bookings],
        "recent_offers": int(offers),
    }


def shift_view(session, shift_id):
    """A shift as the model holds it, with how many workers were named for it (None if unknown)."""
    shift = session.get(Shift, shift_id)
    if shift is None:
        return None
    named = session.scalar(sa.select(sa.func.count()).select_from(Offer).where(Offer.shift_id == shift_id))
    return {"shift_id": shift.shift_id, "site_id": shift.site_id, "status": shift.status,
            "stage": shift.stage, "agency_tier": shift.agency_tier,
            "priority_group_id": shift.priority_group_id, "worker_id": shift.worker_id,
            "site_known": session.get(Site, shift.site_id) is not None, "named": named}
