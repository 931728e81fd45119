"""Shifts' reads: views, lists, the worker's available shifts, and what the timers must move.
Nothing here writes; use_cases.py does."""

from datetime import timedelta

import sqlalchemy as sa

from chassis.clock import london_date
from chassis.errors import NotFound
from chassis.pagination import paginate
from shifts import domain, schemas
from shifts.models import (
    AgencyTier,
    Application,
    PriorityGroup,
    PriorityGroupMember,
    Shift,
    ShiftStep,
    Site,
    SitePolicy,
)

shift_schema = schemas.Shift()
worker_shift_schema = schemas.WorkerShift()
priority_group_schema = schemas.PriorityGroup()
application_schema = schemas.ApplicationSchema()
violation_schema = schemas.RateViolation()
policy_schema = schemas.Policy()
step_schema = schemas.Step()


# --- one shift -------------------------------------------------------------------------

def shift_view(shift, **extra):
    return shift_schema.dump({**{c.key: getattr(shift, c.key) for c in Shift.__table__.columns},
                              "awaiting": _awaiting(shift), **extra})


def _awaiting(shift):
    rate, release = shift.violation_status == "pending", shift.awaited
    if not rate and release is None:
        return None
    return {"rate": rate, "release": release.to if release else None,
            "priority_group_id": release.priority_group_id if release else None,
            "tier": release.tier if release else None}


def _awaiting_filter(wanted):
    # (a violation status is null on most shifts: compared so that null is "not pending", not unknown)
    waits = sa.or_(Shift.violation_status.is_not_distinct_from("pending"), Shift.awaited_release.is_not(None))
    return waits if wanted else sa.not_(waits)


def get_shift(session, shift_id, for_worker=None):
    """A shift; seen by a worker only while open (bookable) or when it is the worker's own."""
    shift = session.get(Shift, shift_id)
    if shift is None or (for_worker is not None and shift.status not in domain.BOOKABLE
                         and shift.worker_id != for_worker):
        raise NotFound("no such shift")
    return shift_view(shift)


def shift_steps(session, shift_id):
    get_shift(session, shift_id)
    rows = session.scalars(sa.select(ShiftStep).where(ShiftStep.shift_id == shift_id).order_by(ShiftStep.id))
    return {"items": [step_schema.dump(step) for step in rows]}


def resolve_shift(session, shift_id):
    shift = session.get(Shift, shift_id)
    if shift is None:
        return None
    return {"bank_id": shift.bank_id, "organisation_id": shift.organisation_id, "site_id": shift.site_id}


def site_of(session, site_id):
    site = session.get(Site, site_id)
    if site is None:
        return None
    return {"id": site.id, "organisation_id": site.organisation_id, "bank_id": site.bank_id,
            "latitude": site.latitude, "longitude": site.longitude}


# --- policies, groups, agencies --------------------------------------------------------

def policy_of(session, site_id):
    row = session.get(SitePolicy, site_id)
    if row is None:
        return domain.Policy()
    return domain.Policy(row.approval_before_release, row.instant_book_allowed, row.priority_minutes,
                         row.cascade_hours_before, row.agency_cascade_needs_approval)


def policy_view(session, site_id):
    return policy_schema.dump({"site_id": site_id, **policy_of(session, site_id).__dict__})


def priority_members(session, group_id):
    if group_id is None:
        return frozenset()
    return frozenset(session.scalars(sa.select(PriorityGroupMember.worker_id)
                                     .where(PriorityGroupMember.group_id == group_id)))


def organisations_of_sites(session, site_ids):
    """{site id: its organisation id} for the sites shifts knows of (the others: ask identity)."""
    if not site_ids:
        return {}
    return dict(session.execute(sa.select(Site.id, Site.organisation_id).where(Site.id.in_(site_ids))).all())


def list_priority_groups(session, query, scope_ids, site_organisations):
    """Priority groups of the organisations the caller's grants reach, oldest first: a grant on a
    bank reaches its organisations' groups, one on an organisation its own, and one on a site the
    groups of the site's organisation (`site_organisations`: their ids), which its shifts are offered
    to first. `scope_ids` None: unrestricted (a platform grant)."""
    statement = sa.select(PriorityGroup)
    if scope_ids is not None:
        statement = statement.where(sa.or_(
            PriorityGroup.bank_id.in_(scope_ids.get("bank") or [""]),
            PriorityGroup.organisation_id.in_([*(scope_ids.get("organisation") or []),
                                               *site_organisations] or [""]),
        ))
    if query.get("organisation_id"):
        statement = statement.where(PriorityGroup.organisation_id == query["organisation_id"])
    rows, next_cursor = paginate(session, statement, PriorityGroup.created_at, PriorityGroup.id,
                                 query["limit"], query.get("cursor"))
    members = {}
    if rows:
        for group_id, worker_id in session.execute(
                sa.select(PriorityGroupMember.group_id, PriorityGroupMember.worker_id)
                .where(PriorityGroupMember.group_id.in_([g.id for g in rows]))
                .order_by(PriorityGroupMember.worker_id)).all():
            members.setdefault(group_id, []).append(worker_id)
    return {"items": [priority_group_schema.dump({
        "id": g.id, "organisation_id": g.organisation_id, "bank_id": g.bank_id, "name": g.name,
        "worker_ids": members.get(g.id, [])}) for g in rows], "next_cursor": next_cursor}


def release_of(session, shift):
    return domain.Release(shift.release_stage, priority_members(session, shift.priority_group_id),
                          shift.priority_until, shift.agency_tier)


def agency_tier(session, organisation_ids, bank_id):
    """The highest tier any of these agencies holds in the bank, or None."""
    return session.scalar(sa.select(sa.func.max(AgencyTier.tier)).where(
        AgencyTier.organisation_id.in_(organisation_ids or [""]), AgencyTier.bank_id == bank_id))


def list_agency_shifts(session, query, organisation_ids):
    """Shifts cascaded to the agencies' tiers, in the banks where they hold one."""
    tiers = session.execute(sa.select(AgencyTier.bank_id, sa.func.max(AgencyTier.tier)).where(
        AgencyTier.organisation_id.in_(organisation_ids or [""])).group_by(AgencyTier.bank_id)).all()
    if not tiers:
        return {"items": [], "next_cursor": None}
    statement = sa.select(Shift).where(Shift.status == "agency", sa.or_(*[
        sa.and_(Shift.bank_id == bank_id, Shift.agency_tier <= tier) for bank_id, tier in tiers]))
    return _page(session, statement, query)


# --- lists -----------------------------------------------------------------------------

def _page(session, statement, query, view=shift_view):
    rows, next_cursor = paginate(session, statement, Shift.created_at, Shift.id, query["limit"],
                                 query.get("cursor"))
    return {"items": [view(s) for s in rows], "next_cursor": next_cursor}


def _in_scope(statement, scope_ids):
    if scope_ids is None:
        return statement
    return statement.where(sa.or_(
        Shift.bank_id.in_(scope_ids.get("bank") or [""]),
        Shift.organisation_id.in_(scope_ids.get("organisation") or [""]),
        Shift.site_id.in_(scope_ids.get("site") or [""]),
    ))


def list_shifts(session, query, scope_ids):
    statement = _in_scope(sa.select(Shift), scope_ids)
    for name in ("site_id", "organisation_id", "status"):
        if query.get(name):
            statement = statement.where(getattr(Shift, name) == query[name])
    if query.get("from_"):
        statement = statement.where(Shift.starts_at >= query["from_"])
    if query.get("to"):
        statement = statement.where(Shift.starts_at < query["to"])
    if query.get("awaiting") is not None:
        statement = statement.where(_awaiting_filter(query["awaiting"]))
    return _page(session, statement, query)


def _violation_view(shift):
    """`reason`: the approver's when approved, the rejecter's when rejected (API.md's one `reason`);
    `justification`: the poster's; `rejected_by`/`rejected_at` beside `approved_by`/`approved_at`."""
    approved, rejected = shift.violation_status == "approved", shift.violation_status == "rejected"
    return violation_schema.dump({
        "shift_id": shift.id, "site_id": shift.site_id, "organisation_id": shift.organisation_id,
        "staff_type": shift.staff_type, "grade": shift.grade, "hourly_rate": shift.hourly_rate,
        "standard_rate": shift.standard_rate, "status": shift.violation_status,
        "approved_by": shift.approved_by if approved else None,
        "reason": shift.approval_reason if approved else shift.rejection_reason if rejected else None,
        "approved_at": shift.approved_at if approved else None,
        "justification": shift.justification,
        "rejected_by": shift.rejected_by if rejected else None,
        "rejected_at": shift.rejected_at if rejected else None,
    })


def list_rate_violations(session, query, scope_ids):
    statement = _in_scope(sa.select(Shift).where(Shift.rate_violation.is_(True)), scope_ids)
    if query.get("bank_id"):
        statement = statement.where(Shift.bank_id == query["bank_id"])
    return _page(session, statement, query, view=_violation_view)


def list_worker_shifts(session, worker_id, query):
    """The shifts booked to the worker (any status, also cancelled or completed) and those it
    applied to, by start (soonest first, then id; the cursor follows that order), each with
    `applied_at` (null if it never applied). Another worker booked on a shift it applied to is not
    named (`worker_id` null)."""
    applied = sa.select(Application.shift_id).where(Application.worker_id == worker_id)
    statement = sa.select(Shift).where(sa.or_(Shift.worker_id == worker_id, Shift.id.in_(applied)))
    if query.get("status"):
        statement = statement.where(Shift.status == query["status"])
    if query.get("from_"):
        statement = statement.where(Shift.starts_at >= query["from_"])
    if query.get("to"):
        statement = statement.where(Shift.starts_at < query["to"])
    rows, next_cursor = paginate(session, statement, Shift.starts_at, Shift.id, query["limit"],
                                 query.get("cursor"))
    applied_at = dict(session.execute(sa.select(Application.shift_id, Application.created_at).where(
        Application.worker_id == worker_id, Application.shift_id.in_([s.id for s in rows] or [""]))).all())

    def view(shift):
        columns = {c.key: getattr(shift, c.key) for c in Shift.__table__.columns}
        booked_to = shift.worker_id if shift.worker_id == worker_id else None
        return worker_shift_schema.dump({**columns, "applied_at": applied_at.get(shift.id),
                                         "worker_id": booked_to})

    return {"items": [view(s) for s in rows], "next_cursor": next_cursor}


def list_applications(session, shift_id, limit, cursor=None):
    rows, next_cursor = paginate(session, sa.select(Application).where(Application.shift_id == shift_id),
                                 Application.created_at, Application.id, limit, cursor)
    return {"items": [application_schema.dump(a) for a in rows], "next_cursor": next_cursor}


def worker_has_shift_at(session, worker_id, organisation_ids, site_ids):
    """Whether the worker applied to, or was booked on, a shift at one of these sites or at a site of
    one of these organisations, whatever the shift's state now: its staff have seen that worker's id
    on the shift, its applications or its timesheet, and may put a name to it (API.md "Roles and
    scope"). No places, no shift."""
    if not organisation_ids and not site_ids:
        return False
    at_places = sa.or_(Shift.organisation_id.in_(organisation_ids or [""]),
                       Shift.site_id.in_(site_ids or [""]))
    booked = sa.select(Shift.id).where(Shift.worker_id == worker_id, at_places)
    applied = (sa.select(Application.id).join(Shift, Shift.id == Application.shift_id)
               .where(Application.worker_id == worker_id, at_places))
    return bool(session.scalar(sa.select(sa.or_(booked.exists(), applied.exists()))))


# --- a worker's schedule and available shifts ------------------------------------------

def schedule(session, worker_id, exclude_id):
    """The worker's booked and worked shifts anywhere in the bank, as (starts_at, ends_at)."""
    rows = session.execute(sa.select(Shift.starts_at, Shift.ends_at).where(
        Shift.worker_id == worker_id, Shift.status.in_(domain.WORKING), Shift.id != exclude_id)).all()
    return [(row.starts_at, row.ends_at) for row in rows]


def sites_worked_at(worker_id):
    """The sites where the worker has completed a shift (a subquery)."""
    return sa.select(Shift.site_id).where(Shift.worker_id == worker_id, Shift.status == "completed")


def available_shifts(session, worker, candidates_on, query, at):
    """Open shifts this worker may take now, nearest first, in one query (the worker's
    membership of each shift's priority group comes with it). `candidates_on(days)` gives the
    worker's domain.Candidate for each London day, its compliance judged that day (one question
    for all the days of the shifts in reach)."""
    start = query.get("from_") or at
    end = query.get("to") or at + timedelta(days=domain.DEFAULT_WINDOW_DAYS)
    reach = query.get("max_distance_km")
    if reach is None:
        reach = worker["max_travel_km"]
    is_member = PriorityGroupMember.worker_id.is_not(None).label("is_member")
    statement = (
        sa.select(Shift, Site, is_member)
        .join(Site, Site.id == Shift.site_id)
        .outerjoin(PriorityGroupMember, sa.and_(PriorityGroupMember.group_id == Shift.priority_group_id,
                                                PriorityGroupMember.worker_id == worker["id"]))
        .where(Shift.bank_id == worker["bank_id"], Shift.status.in_(domain.BOOKABLE),
               Shift.staff_type == worker["staff_type"], Shift.starts_at >= start, Shift.starts_at < end))
    if query.get("site_id"):
        statement = statement.where(Shift.site_id == query["site_id"])
    if query.get("worked_before"):
        statement = statement.where(Shift.site_id.in_(sites_worked_at(worker["id"])))
    booked = schedule(session, worker["id"], "")
    in_reach = []
    for shift, site, member in session.execute(statement).all():
        distance = domain.distance_km(worker["latitude"], worker["longitude"], site.latitude, site.longitude)
        if distance <= reach:
            in_reach.append((distance, shift, member))
    candidates = candidates_on({london_date(shift.starts_at) for _, shift, _ in in_reach})
    found = []
    for distance, shift, member in in_reach:
        release = domain.Release(shift.release_stage, frozenset([worker["id"]] if member else []),
                                 shift.priority_until, shift.agency_tier)
        open_now = domain.open_to_worker(shift.status, release, worker["id"], at)
        if domain.booking_refusals(shift.status, shift.staff_type, shift.grade, shift.starts_at,
                                   shift.ends_at, candidates[london_date(shift.starts_at)], open_now, booked):
            continue
        found.append((distance, shift))
    found.sort(key=lambda pair: (pair[0], pair[1].starts_at))
    return {"items": [shift_view(s, distance_km=round(d, 2)) for d, s in found], "next_cursor": None}


# --- timers ----------------------------------------------------------------------------

def due(session, at):
    """Ids of shifts a timer must move now: priority windows ended, shifts ended, cascades due."""
    windows = session.scalars(sa.select(Shift.id).where(
        Shift.status == "open", Shift.release_stage == "priority", Shift.priority_until <= at)).all()
    ended = session.scalars(sa.select(Shift.id).where(Shift.status == "booked", Shift.ends_at <= at)).all()
    cascades = session.execute(
        sa.select(Shift.id).join(SitePolicy, SitePolicy.site_id == Shift.site_id).where(
            Shift.status == "open", SitePolicy.cascade_hours_before.is_not(None),
            Shift.awaited_release.is_(None),
            sa.or_(Shift.priority_until.is_(None), Shift.priority_until <= at),
            Shift.starts_at - sa.func.make_interval(0, 0, 0, 0, SitePolicy.cascade_hours_before) <= at,
            Shift.starts_at > at)).scalars().all()
    return windows, ended, cascades
