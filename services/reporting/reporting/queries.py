"""Reporting's reads: each report over the read models, within the caller's part of the bank
(access.Reach); never writes. Aggregates are counted in SQL where they are plain counts and sums,
and finished by the pure rules of domain.py (ratios, rounding, the sitrep, utilisation)."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from chassis.clock import LONDON, london_date
from compliance.domain import Document as ComplianceDocument
from reporting import domain, schemas
from reporting.models import Document, Organisation, Payment, Shift, ShiftStatus, Site, Timesheet, Worker

_FILLED = Shift.status.in_(domain.FILLED)
_CANCELLED = Shift.status == domain.CANCELLED
_SECONDS = sa.extract("epoch", Shift.ends_at - Shift.starts_at)  # scheduled length, breaks included


def _count(condition=None):
    return sa.func.count() if condition is None else sa.func.count().filter(condition)


def _in_reach(reach, bank_id, organisation_id, site_id):
    """Rows of the bank within the caller's part of it (the columns saying where a row lies)."""
    if reach.everything:
        return bank_id == reach.bank_id
    return sa.and_(bank_id == reach.bank_id, sa.or_(organisation_id.in_(reach.organisation_ids or [""]),
                                                    site_id.in_(reach.site_ids or [""])))


def _shifts(reach, query=None):
    """Conditions on Shift: in reach, starting on the query's days (Europe/London, inclusive)."""
    conditions = [_in_reach(reach, Shift.bank_id, Shift.organisation_id, Shift.site_id)]
    if query and query.get("from_"):
        conditions.append(Shift.starts_at >= datetime.combine(query["from_"], time(0), LONDON))
    if query and query.get("to"):
        after = datetime.combine(query["to"] + timedelta(days=1), time(0), LONDON)
        conditions.append(Shift.starts_at < after)
    return conditions


def _keyed(statement, group_by, columns):
    """`statement` (from Shift) with each row's group (site, organisation, staff type or booked
    worker) as `key` and `name`, then `columns`; and the key and name."""
    if group_by == "site":
        key, name, joined = Shift.site_id, Site.name, (Site, Site.site_id == Shift.site_id)
    elif group_by == "organisation":
        key, name = Shift.organisation_id, Organisation.name
        joined = (Organisation, Organisation.organisation_id == Shift.organisation_id)
    elif group_by == "worker":
        booked = aliased(Worker)
        key, name, joined = Shift.worker_id, booked.name, (booked, booked.worker_id == Shift.worker_id)
    else:
        key, name, joined = Shift.staff_type, Shift.staff_type, None
    statement = statement.add_columns(key.label("key"), name.label("name"), *columns)
    return (statement if joined is None else statement.outerjoin(*joined)), key, name


def _grouped(statement, group_by, columns):
    """(key, name, *aggregate columns) rows, one per group, by name then key."""
    statement, key, name = _keyed(statement, group_by, columns)
    return statement.group_by(key, name).order_by(sa.func.coalesce(name, ""), key)


# --- reports -----------------------------------------------------------------------------

def fill_rate(session, reach, query, now):
    filler = aliased(Worker)
    agency = sa.and_(_FILLED, filler.agency_id.is_not(None))
    shifts = sa.select().select_from(Shift).outerjoin(filler, filler.worker_id == Shift.worker_id)
    statement = _grouped(shifts, query["group_by"], [_count(), _count(_FILLED), _count(_CANCELLED),
                                                     _count(agency), sa.func.sum(_SECONDS).filter(_FILLED)])
    rows = session.execute(statement.where(*_shifts(reach, query))).all()
    return {"items": [domain.fill_rate_item(*row) for row in rows]}


def rate_violations(session, reach, query, now):
    violation = Shift.rate_violation.is_(True)
    premium = (Shift.hourly_rate - Shift.standard_rate) * _SECONDS / 3600
    statement = _grouped(sa.select().select_from(Shift), query["group_by"], [
        _count(), _count(violation), _count(sa.and_(violation, _FILLED)),
        _count(sa.and_(violation, _CANCELLED)),
        sa.func.sum(premium).filter(sa.and_(violation, _FILLED))])
    rows = session.execute(statement.where(*_shifts(reach, query))).all()
    return {"items": [domain.rate_violation_item(*row) for row in rows]}


def time_to_fill(session, reach, query, now):
    statement, _, _ = _keyed(sa.select().select_from(Shift), query["group_by"],
                             [Shift.posted_at, Shift.booked_at, Shift.starts_at])
    rows = session.execute(statement.where(*_shifts(reach, query), _FILLED)).all()
    waits = [(row.key, row.name, domain.time_to_fill_seconds(row.posted_at, row.booked_at, row.starts_at))
             for row in rows]
    return {"items": domain.time_to_fill_items([wait for wait in waits if wait[2] is not None])}


def late_cancellations(session, reach, query, now):
    conditions = _shifts(reach, query) + [_CANCELLED]
    if query.get("cancelled_by"):
        conditions.append(Shift.cancelled_by == query["cancelled_by"])
    statement, _, _ = _keyed(sa.select().select_from(Shift), query["group_by"], [
        Shift.late_cancellation, Shift.cancelled_by, Shift.starts_at, Shift.cancelled_at])
    rows = session.execute(statement.where(*conditions)).all()
    return {"items": domain.late_cancellation_items(
        (row.key, row.name, bool(row.late_cancellation), row.cancelled_by, row.starts_at, row.cancelled_at)
        for row in rows)}


def spend(session, reach, query, now):
    """Approved timesheets of shifts in reach starting in the period, by organisation and by who
    supplied the worker (an agency, or the bank), with what pay runs have paid of them."""
    worker = aliased(Worker)
    agency = worker.agency_id.is_not(None)
    statement = (
        sa.select(Timesheet.organisation_id, Organisation.name, agency, sa.func.sum(Timesheet.amount),
                  sa.func.sum(Timesheet.hours), sa.func.sum(Payment.amount), sa.func.sum(Payment.hours))
        .select_from(Timesheet).join(Shift, Shift.shift_id == Timesheet.shift_id)
        .outerjoin(Organisation, Organisation.organisation_id == Timesheet.organisation_id)
        .outerjoin(worker, worker.worker_id == Timesheet.worker_id)
        .outerjoin(Payment, Payment.timesheet_id == Timesheet.timesheet_id)
        .where(*_shifts(reach, query))
        .group_by(Timesheet.organisation_id, Organisation.name, agency))
    return {"items": domain.spend_items(session.execute(statement).all())}


def fill_rate_series(session, reach, query, now):
    """Fill rate by site and London day, week (from Monday) or month of shift start."""
    period = sa.cast(sa.func.date_trunc(query["interval"], sa.func.timezone(LONDON.key, Shift.starts_at)),
                     sa.Date)
    statement = (
        sa.select(period, Shift.site_id, Site.name, _count(), _count(_FILLED), _count(_CANCELLED))
        .select_from(Shift).outerjoin(Site, Site.site_id == Shift.site_id)
        .where(*_shifts(reach, query)).group_by(period, Shift.site_id, Site.name))
    return {"items": domain.series_items(session.execute(statement).all())}


def _organisations_in_reach(reach):
    if reach.everything:
        return Organisation.bank_id == reach.bank_id
    with_sites = sa.select(Site.organisation_id).where(Site.site_id.in_(reach.site_ids or [""]))
    return sa.and_(Organisation.bank_id == reach.bank_id,
                   sa.or_(Organisation.organisation_id.in_(reach.organisation_ids or [""]),
                          Organisation.organisation_id.in_(with_sites)))


def sitrep(session, reach, query, now):
    """Every organisation of the bank in reach (those with no shifts too), its next 14 days."""
    organisations = session.execute(
        sa.select(Organisation.organisation_id, Organisation.name).where(_organisations_in_reach(reach))
        .order_by(Organisation.name, Organisation.organisation_id)).all()
    rows = session.execute(
        sa.select(Shift.organisation_id, Shift.site_id, Site.name, Shift.staff_type, Shift.grade,
                  Shift.starts_at, Shift.ends_at, Shift.status, Shift.worker_id)
        .outerjoin(Site, Site.site_id == Shift.site_id)
        .where(*_shifts(reach), Shift.starts_at >= now, Shift.starts_at < now + domain.SITREP_WINDOW)).all()
    return {"items": domain.sitrep([tuple(o) for o in organisations],
                                   [domain.CoverShift(*row) for row in rows], now)}


def utilisation(session, reach, query, now):
    """Each site in reach and staff type of the bank's workers (all of them: workers belong to the
    bank), as of today in London."""
    sites = session.execute(
        sa.select(Site.site_id, Site.name, Site.latitude, Site.longitude)
        .where(_in_reach(reach, Site.bank_id, Site.organisation_id, Site.site_id))
        .order_by(Site.name, Site.site_id)).all()
    pool = (sa.select(Worker).where(Worker.bank_id == reach.bank_id, Worker.staff_type.is_not(None),
                                    Worker.status.is_distinct_from("left"))
            .order_by(Worker.worker_id))
    workers = [domain.PoolWorker(w.worker_id, w.staff_type, w.status, w.latitude, w.longitude,
                                 w.max_travel_km, w.compliance_status, tuple(w.missing or ()),
                                 w.cleared_until)
               for w in session.scalars(pool)]
    documents = {}
    for d in session.scalars(sa.select(Document).where(
            Document.worker_id.in_(pool.with_only_columns(Worker.worker_id).order_by(None)))):
        documents.setdefault(d.worker_id, []).append(
            ComplianceDocument(d.kind, d.status, d.expires_on, d.document_id))
    return {"items": domain.utilisation([tuple(s) for s in sites], workers, documents, london_date(now))}


REPORTS = {  # name -> (its query, the report)
    "fill_rate": (schemas.GroupedQuery, fill_rate),
    "fill_rate_series": (schemas.SeriesQuery, fill_rate_series),
    "rate_violations": (schemas.GroupedQuery, rate_violations),
    "time_to_fill": (schemas.GroupedQuery, time_to_fill),
    "late_cancellations": (schemas.LateCancellationQuery, late_cancellations),
    "spend": (schemas.PeriodQuery, spend),
    "sitrep": (schemas.BankQuery, sitrep),
    "utilisation": (schemas.BankQuery, utilisation),
}


# --- operators --------------------------------------------------------------------------

def shift_view(session, shift_id):
    """What the model holds of a shift, with its status history and hours approved and paid
    (None if no event has told of it)."""
    shift = session.get(Shift, shift_id)
    if shift is None:
        return None
    history = session.execute(sa.select(ShiftStatus.type, ShiftStatus.status, ShiftStatus.occurred_at)
                              .where(ShiftStatus.shift_id == shift_id)
                              .order_by(ShiftStatus.occurred_at, ShiftStatus.event_id)).all()
    approved = session.execute(sa.select(sa.func.sum(Timesheet.hours), sa.func.sum(Timesheet.amount))
                               .where(Timesheet.shift_id == shift_id)).one()
    paid = session.execute(sa.select(sa.func.sum(Payment.hours), sa.func.sum(Payment.amount))
                           .where(Payment.shift_id == shift_id)).one()
    agency = session.scalar(sa.select(Worker.agency_id).where(Worker.worker_id == shift.worker_id)) \
        if shift.worker_id else None

    def moment(value):
        return value.isoformat() if value else None

    return {
        "shift_id": shift.shift_id, "bank_id": shift.bank_id, "organisation_id": shift.organisation_id,
        "site_id": shift.site_id, "staff_type": shift.staff_type, "grade": shift.grade,
        "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(),
        "hourly_rate": domain.decimal_text(shift.hourly_rate),
        "standard_rate": domain.decimal_text(shift.standard_rate),
        "rate_violation": shift.rate_violation, "status": shift.status, "worker_id": shift.worker_id,
        "agency_id": agency, "agency_tier": shift.agency_tier, "posted_at": moment(shift.posted_at),
        "booked_at": moment(shift.booked_at), "completed_at": moment(shift.completed_at),
        "cancelled_at": moment(shift.cancelled_at), "cancelled_by": shift.cancelled_by,
        "late_cancellation": shift.late_cancellation, "cancellation_reason": shift.cancellation_reason,
        "hours_booked": domain.hours_text((shift.ends_at - shift.starts_at).total_seconds())
        if shift.status in domain.FILLED else "0.00",
        "hours_approved": domain.decimal_text(approved[0]),
        "amount_approved": domain.decimal_text(approved[1]),
        "hours_paid": domain.decimal_text(paid[0]), "amount_paid": domain.decimal_text(paid[1]),
        "history": [{"type": h.type, "status": h.status, "occurred_at": h.occurred_at.isoformat()}
                    for h in history],
    }
