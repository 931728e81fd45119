"""Matching's reads: a shift's candidates, which open shifts a worker may newly hear of, and
views of the model for operators and tests. Nothing here writes; use_cases.py does.

A shift's candidates take one statement, whatever the size of the bank: the index (`Reach`)
rows filed under the shift's bank, staff type and grade whose reach class's box holds the site
(one range scan on latitude per class, longitudes checked on the index entries) and, with a
metre to spare, whose travel radius holds it (domain.Eligible). The statement also decides what
SQL can decide exactly and cheaply: the facts booking asks identity and compliance for (status,
staff type and grade, cleared on the shift's day), each worker's recent offers, and whether its
bookings can matter to the shift at all (most workers' cannot: they are not sent). Then
domain.eligible_candidates judges each with booking's own rules (distance_km among them: the
statement's distance only spares Python the rows that are surely out of reach) and ranks them.
Statements are compiled once per shape and their rows read straight from the driver: a big
shift has a thousand or more, and SQLAlchemy's execution and row objects would cost as much as
the query.
"""

import dataclasses
import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from matching import domain
from matching.models import GroupMember, Offer, Reach, Shift, Site, Worker

# --- a shift and its candidates --------------------------------------------------------

def _value(name, **kw):
    """A value given per call (`_compiled` statements)."""
    return sa.bindparam(name, None, **kw)


@functools.cache
def _compiled(statement):
    """A statement as the driver runs it and its constant values, compiled once (the hot reads
    are run on the driver's cursor: SQLAlchemy's execution and rows cost more than the query)."""
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect(),
                                 compile_kwargs={"render_postcompile": True})
    return str(compiled), {name: value for name, value in compiled.params.items() if value is not None}


def _fetch(session, compiled, values):
    """Rows (plain tuples) of a `_compiled` statement run with `values` on the unit of work's own
    connection and transaction."""
    sql, constants = compiled
    with session.connection().connection.cursor() as cursor:
        cursor.execute(sql, {**constants, **values})
        return cursor.fetchall()


_OPEN_SHIFT = (
    sa.select(Shift.shift_id, Shift.site_id, Shift.organisation_id, Shift.bank_id, Shift.staff_type,
              Shift.grade, Shift.starts_at, Shift.ends_at, Shift.hourly_rate, Shift.status, Shift.stage,
              Shift.release_event_id, Site.latitude, Site.longitude, Shift.priority_group_id)
    .join(Site, Site.site_id == Shift.site_id).where(Shift.shift_id == _value("shift_id")))
_MEMBERS = sa.select(GroupMember.worker_id).where(GroupMember.group_id == _value("group_id"))


def open_shift(session, shift_id):
    """The shift as domain.OpenShift, or None while matching cannot judge it (unknown shift, or
    its site not known yet)."""
    rows = _fetch(session, _compiled(_OPEN_SHIFT), {"shift_id": shift_id})
    if not rows:
        return None
    shift = domain.OpenShift(*rows[0])
    if shift.stage == "priority":
        members = _fetch(session, _compiled(_MEMBERS), {"group_id": shift.priority_group_id})
        shift = dataclasses.replace(shift, priority_members=frozenset(member for member, in members))
    return shift


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
    group's members only. It reads domain.Eligible: rows of workers active, cleared on the
    shift's day, of its staff type and grade (the index holds no others; said again here, so that
    the statement alone vouches for what domain.eligible_candidates takes as given), their recent
    offers counted and their bookings only where they may matter (Schedules.sure_isolation:
    width_bucket on a sorted array counts its items up to a value, by bisection)."""
    value = sa.bindparam

    def starts_within(name):  # how many bookings start in the range (lower, upper]
        return (sa.func.width_bucket(sa.cast(value(f"{name}_upper"), sa.Float), Reach.booked_starts)
                - sa.func.width_bucket(sa.cast(value(f"{name}_lower"), sa.Float), Reach.booked_starts))

    # Counting within FAR is skipped for the many workers with no more bookings than it allows.
    near = [starts_within(name) > value(f"{name}_most") for name in ("rest", "days", "rolling")]
    may_matter = sa.or_(*near,
                        sa.and_(sa.func.cardinality(Reach.booked_starts) > value("far_most"),
                                starts_within("far") > value("far_most")))
    read = {
        "worked_at_site": value("site_id") == sa.any_(Reach.worked_sites),
        "worked_at_organisation": value("organisation_id") == sa.any_(Reach.worked_organisations),
        "recent_offers": sa.func.cardinality(Reach.offered_days)
        - sa.func.width_bucket(sa.cast(value("offers_before"), sa.Integer), Reach.offered_days),
        "bookings": sa.case((may_matter, postgresql.array([Reach.booked_starts, Reach.booked_ends]))),
    }
    statement = (
        sa.select(*[read[field].label(field) if field in read else getattr(Reach, field)
                    for field in domain.Eligible._fields])
        .where(Reach.bank_id == value("bank_id"), Reach.staff_type == value("staff_type"),
               Reach.grade == value("grade"), Reach.status == domain.MAY_WORK,
               Reach.compliance_status == domain.CLEARED,
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
    values = {"site_id": shift.site_id, "organisation_id": shift.organisation_id,
              "bank_id": shift.bank_id, "staff_type": shift.staff_type, "grade": shift.grade,
              "day": shift.day, "group_id": shift.priority_group_id, "latitude": shift.latitude,
              "longitude": shift.longitude, "offers_before": domain.day_number(domain.fairness_since(at)) - 1}
    isolation = domain.Schedules(shift.starts_at, shift.ends_at).sure_isolation()
    for name, (lower, upper, most) in isolation.items():
        values.update({f"{name}_lower": lower, f"{name}_upper": upper, f"{name}_most": most})
    if only is None:
        values.update(_boxes(shift.latitude, shift.longitude))
    else:
        values["some"] = list(only)
    return domain.eligible_candidates(shift, _fetch(session, (sql, constants), values), at)


# --- what a new fact may open ----------------------------------------------------------

def _open(statement, at):
    return statement.where(Shift.status.in_(domain.RELEASED), Shift.stage.is_not(None), Shift.starts_at > at)


def open_shifts_at_site(session, site_id, at):
    return session.scalars(_open(sa.select(Shift.shift_id).where(Shift.site_id == site_id), at)
                           .order_by(Shift.starts_at)).all()


def open_shifts_of_group(session, group_id, at):
    return session.scalars(_open(sa.select(Shift.shift_id).where(
        Shift.priority_group_id == group_id, Shift.stage == "priority"), at).order_by(Shift.starts_at)).all()


@functools.cache
def _open_shifts_for_worker_statement():
    value = _value
    named = sa.select(Offer.worker_id).where(Offer.shift_id == Shift.shift_id,
                                             Offer.worker_id == value("worker_id"))
    member = sa.select(GroupMember.worker_id).where(GroupMember.group_id == Shift.priority_group_id,
                                                    GroupMember.worker_id == value("worker_id"))
    read = {"worked_at_site": Shift.site_id == sa.any_(Reach.worked_sites),
            "worked_at_organisation": Shift.organisation_id == sa.any_(Reach.worked_organisations)}
    statement = (
        sa.select(*_OPEN_SHIFT.selected_columns,
                  *[read[f].label(f) if f in read else getattr(Reach, f) for f in domain.Worker._fields])
        .join(Site, Site.site_id == Shift.site_id)
        .join(Reach, sa.and_(Reach.worker_id == value("worker_id"), Reach.grade == Shift.grade))
        .where(Shift.bank_id == value("bank_id"), Shift.staff_type == value("staff_type"),
               Shift.grade == sa.any_(value("grades", type_=ARRAY(sa.String))),
               Site.latitude.between(value("south"), value("north")),
               Site.longitude.between(value("west"), value("east")),
               ~named.exists(), sa.or_(Shift.stage != "priority", member.exists())))
    return _compiled(_open(statement, value("at")).order_by(Shift.starts_at, Shift.shift_id))


_SHIFT_FIELDS = len(_OPEN_SHIFT.selected_columns)


def open_shifts_for_worker(session, worker, at):
    """Open shifts of the worker's (its workers row) staff type and grades whose site its radius
    may reach, that it has not been named for (and, in a priority window, whose group holds it;
    then the worker is its one member that matters here), by start: those it may newly hear of
    after a change of its facts. Each as (domain.OpenShift, the worker's index row for its grade
    as domain.Worker), in one statement."""
    if not domain.indexed(worker):
        return []
    box = domain.bounding_box(worker.latitude, worker.longitude, domain.radius(worker.max_travel_km))
    west, east = box.longitudes or (-180.0, 180.0)
    rows = _fetch(session, _open_shifts_for_worker_statement(), {
        "worker_id": worker.worker_id, "bank_id": worker.bank_id, "staff_type": worker.staff_type,
        "grades": [worker.grade, *worker.extra_grades], "south": box.south, "north": box.north,
        "west": west, "east": east, "at": at})
    alone, found = frozenset([worker.worker_id]), []
    for row in rows:
        shift = domain.OpenShift(*row[:_SHIFT_FIELDS])
        if shift.stage == "priority":
            shift = dataclasses.replace(shift, priority_members=alone)
        found.append((shift, domain.Worker(*row[_SHIFT_FIELDS:])))
    return found


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
