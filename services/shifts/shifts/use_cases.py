"""Shift use cases. Remote facts (the site, the standard rate, the worker's status and
compliance) are fetched by service.py before the transaction and passed in; every
decision here is taken under the shift's row lock (and the worker's advisory lock
when booking), so concurrent requests are decided by the database."""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from chassis.db import for_update
from chassis.errors import Conflict, Invalid, NotFound
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

log = logging.getLogger(__name__)

SHIFT = schemas.Shift()
POLICY = schemas.Policy()
GROUP = schemas.PriorityGroup()
APPLICATION = schemas.ApplicationSchema()
VIOLATION = schemas.RateViolation()
WORKING = ("booked", "completed")


def now():
    return datetime.now(UTC)


# --- sites and policies ----------------------------------------------------------------

def save_site(session, site):
    session.execute(
        insert(Site).values(id=site["id"], organisation_id=site["organisation_id"], bank_id=site["bank_id"],
                            latitude=site["latitude"], longitude=site["longitude"])
        .on_conflict_do_nothing()
    )


def policy_of(session, site_id):
    row = session.get(SitePolicy, site_id)
    if row is None:
        return domain.Policy()
    return domain.Policy(row.approval_before_release, row.instant_book_allowed, row.priority_minutes,
                         row.cascade_hours_before, row.agency_cascade_needs_approval)


def put_policy(uow, site_id, changes):
    current = policy_of(uow.session, site_id).__dict__ | changes
    uow.session.execute(insert(SitePolicy).values(site_id=site_id, **current)
                        .on_conflict_do_update(index_elements=[SitePolicy.site_id], set_=current))
    return POLICY.dump({"site_id": site_id, **current})


# --- priority groups -------------------------------------------------------------------

def create_priority_group(uow, data, bank_id):
    group = PriorityGroup(organisation_id=data["organisation_id"], bank_id=bank_id, name=data["name"])
    uow.session.add(group)
    uow.session.flush()
    worker_ids = sorted(set(data["worker_ids"]))
    for worker_id in worker_ids:
        uow.session.add(PriorityGroupMember(group_id=group.id, worker_id=worker_id))
    uow.session.flush()
    return GROUP.dump({"id": group.id, "organisation_id": group.organisation_id, "bank_id": bank_id,
                       "name": group.name, "worker_ids": worker_ids})


def _members(session, group_id):
    if group_id is None:
        return frozenset()
    return frozenset(session.scalars(sa.select(PriorityGroupMember.worker_id)
                                     .where(PriorityGroupMember.group_id == group_id)))


# --- agencies --------------------------------------------------------------------------

def put_agency_tier(uow, organisation_id, bank_id, tier):
    uow.session.execute(insert(AgencyTier).values(organisation_id=organisation_id, bank_id=bank_id, tier=tier)
                        .on_conflict_do_update(index_elements=[AgencyTier.organisation_id],
                                               set_={"tier": tier, "bank_id": bank_id}))
    return schemas.AgencyTierSchema().dump({"organisation_id": organisation_id, "bank_id": bank_id,
                                            "tier": tier})


def agency_tier(session, organisation_ids, bank_id):
    """The highest tier any of these agencies holds in the bank, or None."""
    return session.scalar(sa.select(sa.func.max(AgencyTier.tier)).where(
        AgencyTier.organisation_id.in_(organisation_ids or [""]), AgencyTier.bank_id == bank_id))


def check_agency_may_book(session, shift, organisation_ids):
    tier = agency_tier(session, organisation_ids, shift.bank_id)
    if tier is None or not domain.open_to_agency(shift.status, _release_of(session, shift), tier):
        raise NotFound("no such shift")  # not cascaded to this agency: as if it did not exist


def list_agency_shifts(session, query, organisation_ids, bank_ids):
    """Shifts cascaded to the agencies' tiers in their banks."""
    tiers = session.execute(sa.select(AgencyTier.bank_id, sa.func.max(AgencyTier.tier)).where(
        AgencyTier.organisation_id.in_(organisation_ids or [""]), AgencyTier.bank_id.in_(bank_ids or [""]))
        .group_by(AgencyTier.bank_id)).all()
    if not tiers:
        return {"items": [], "next_cursor": None}
    statement = sa.select(Shift).where(Shift.status == "agency", sa.or_(*[
        sa.and_(Shift.bank_id == bank_id, Shift.agency_tier <= tier) for bank_id, tier in tiers]))
    rows, next_cursor = paginate(session, statement, Shift.created_at, Shift.id, query["limit"],
                                 query.get("cursor"))
    return {"items": [shift_view(s) for s in rows], "next_cursor": next_cursor}


# --- views and steps -------------------------------------------------------------------

def shift_view(shift, **extra):
    return SHIFT.dump({**{c.key: getattr(shift, c.key) for c in Shift.__table__.columns}, **extra})


def _step(uow, shift, step, actor_id=None, **detail):
    uow.session.add(ShiftStep(shift_id=shift.id, step=step, detail=detail or None, actor_id=actor_id))


def _event(uow, event_type, shift, **extra):
    uow.emit(event_type, {
        "shift_id": shift.id, "site_id": shift.site_id, "organisation_id": shift.organisation_id,
        "bank_id": shift.bank_id, "staff_type": shift.staff_type, "grade": shift.grade,
        "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(),
        "hourly_rate": str(shift.hourly_rate), "standard_rate": str(shift.standard_rate),
        "status": shift.status, "worker_id": shift.worker_id, **extra,
    })


def _locked(session, shift_id):
    shift = session.scalar(for_update(sa.select(Shift).where(Shift.id == shift_id)))
    if shift is None:
        raise NotFound("no such shift")
    return shift


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
    return {"items": [schemas.Step().dump(step) for step in rows]}


def resolve_shift(session, shift_id):
    shift = session.get(Shift, shift_id)
    if shift is None:
        return None
    return {"bank_id": shift.bank_id, "organisation_id": shift.organisation_id, "site_id": shift.site_id}


# --- release ---------------------------------------------------------------------------

def _check_publish(session, shift, publish):
    if publish and publish["to"] == "priority":
        group = session.get(PriorityGroup, publish.get("priority_group_id") or "")
        if group is None or group.organisation_id != shift.organisation_id:
            raise Invalid("unknown priority group", errors={
                "publish": {"priority_group_id": ["No such priority group in this organisation."]}})


def _release(uow, shift, publish, policy, at, actor_id=None):
    """Open the shift to its priority group for the window, or to the whole bank."""
    shift.status = "open"
    shift.requested_release = None
    if publish["to"] == "priority":
        minutes = publish.get("priority_minutes") or policy.priority_minutes
        shift.release_stage = "priority"
        shift.priority_group_id = publish["priority_group_id"]
        shift.priority_until = at + timedelta(minutes=minutes)
    else:
        shift.release_stage = "bank"
    _step(uow, shift, f"released to {shift.release_stage}", actor_id,
          priority_until=shift.priority_until.isoformat() if shift.release_stage == "priority" else None)
    _event(uow, "shift.published", shift, to=shift.release_stage,
           priority_group_id=shift.priority_group_id if shift.release_stage == "priority" else None)


def _cascade(uow, shift, tier, actor_id=None):
    shift.status = "agency"
    shift.release_stage = "agency"
    shift.agency_tier = tier
    shift.requested_release = None
    _step(uow, shift, "cascaded to agency", actor_id, tier=tier)
    _event(uow, "shift.cascaded", shift, tier=tier)


# --- posting ---------------------------------------------------------------------------

def post_shift(uow, data, site, standard, actor_id, at):
    """`standard`: {"band", "rate"} from payroll. A retrospective shift (worker_id given)
    is booked at once by the caller with book()."""
    hourly_rate = data["hourly_rate"] if data.get("hourly_rate") is not None else Decimal(standard["rate"])
    errors = domain.check_shift(data["starts_at"], data["ends_at"], data["break_minutes"], hourly_rate)
    retrospective = data.get("worker_id") is not None
    if retrospective:
        if data["starts_at"] >= at:
            errors.setdefault("starts_at", []).append("A shift recorded with worker_id must have started.")
        if data.get("publish"):
            errors.setdefault("publish", []).append("A retrospective shift is not published.")
    if errors:
        raise Invalid("invalid shift", errors=errors)
    policy = policy_of(uow.session, site["id"])
    violation = domain.is_violation(hourly_rate, standard["rate"])
    shift = Shift(
        site_id=site["id"], organisation_id=site["organisation_id"], bank_id=site["bank_id"],
        staff_type=data["staff_type"], grade=data["grade"], specialty=data.get("specialty"),
        starts_at=data["starts_at"], ends_at=data["ends_at"], break_minutes=data["break_minutes"],
        hourly_rate=hourly_rate, standard_rate=Decimal(standard["rate"]), rate_band=standard["band"],
        rate_violation=violation, violation_status="pending" if violation else None,
        instant_book=data["instant_book"], retrospective=retrospective, created_by=actor_id,
        status=("open" if retrospective
                else domain.status_after_posting(violation, data.get("publish"), policy)),
        release_stage="bank" if retrospective else None,
    )
    _check_publish(uow.session, shift, data.get("publish"))
    uow.session.add(shift)
    uow.session.flush()
    _step(uow, shift, "posted", actor_id, status=shift.status)
    if violation:
        _event(uow, "shift.rate_violation", shift)
    if shift.status == "open" and not retrospective:
        _release(uow, shift, data["publish"], policy, at, actor_id)
    elif shift.status == "pending_approval" and data.get("publish"):
        shift.requested_release = dict(data["publish"])
    uow.session.flush()
    return shift


def publish_shift(uow, shift_id, publish, actor_id, at):
    shift = _locked(uow.session, shift_id)
    if shift.status != "draft":
        raise Conflict(f"a {shift.status} shift cannot be published")
    _check_publish(uow.session, shift, publish)
    policy = policy_of(uow.session, shift.site_id)
    if policy.approval_before_release:
        shift.status = "pending_approval"
        shift.requested_release = dict(publish)
        _step(uow, shift, "release awaits approval", actor_id)
    else:
        _release(uow, shift, publish, policy, at, actor_id)
    return shift_view(shift)


def approve_shift(uow, shift_id, reason, actor_id, at):
    """Approve what the shift awaits: its rate (also on a retrospective, booked or completed
    shift), a release the site requires approval for, or a requested agency cascade."""
    shift = _locked(uow.session, shift_id)
    approved = []
    if shift.violation_status == "pending" and shift.status != "cancelled":
        shift.violation_status = "approved"
        shift.approved_by, shift.approval_reason, shift.approved_at = actor_id, reason, at
        approved.append("rate")
    requested = shift.requested_release
    if shift.status == "pending_approval":
        if requested:
            _release(uow, shift, requested, policy_of(uow.session, shift.site_id), at, actor_id)
        else:
            shift.status = "draft"
        approved.append("release")
    elif requested and requested.get("to") == "agency" and shift.status in domain.BOOKABLE:
        _cascade(uow, shift, requested["tier"], actor_id)
        approved.append("cascade")
    if not approved:
        raise Conflict(f"a {shift.status} shift has nothing awaiting approval")
    _step(uow, shift, "approved", actor_id, reason=reason, approved=approved)
    return shift_view(shift)


def cascade_shift(uow, shift_id, tier, may_approve, actor_id, at):
    """Cascade to agency tier N, or record the request for an approver; the shift stays open
    to the bank (or to the agencies it reached) meanwhile."""
    shift = _locked(uow.session, shift_id)
    if shift.status not in domain.BOOKABLE:
        raise Conflict(f"a {shift.status} shift cannot be cascaded")
    if shift.status == "agency" and tier <= (shift.agency_tier or 0):
        raise Conflict(f"already cascaded to tier {shift.agency_tier}")
    if shift.release_stage == "priority" and shift.priority_until > at:
        raise Conflict("the priority window is still open: the bank comes before agencies")
    policy = policy_of(uow.session, shift.site_id)
    if policy.agency_cascade_needs_approval and not may_approve:
        shift.requested_release = {"to": "agency", "tier": tier}
        _step(uow, shift, "cascade awaits approval", actor_id, tier=tier)
    else:
        _cascade(uow, shift, tier, actor_id)
    return shift_view(shift)


def cancel_shift(uow, shift_id, reason, side, actor_id, at):
    shift = _locked(uow.session, shift_id)
    if shift.status in ("completed", "cancelled"):
        raise Conflict(f"a {shift.status} shift cannot be cancelled")
    shift.late_cancellation = shift.status == "booked" and domain.is_late_cancellation(shift.starts_at, at)
    shift.status, shift.cancellation_reason, shift.cancelled_by = "cancelled", reason, side
    shift.requested_release = None
    if shift.violation_status == "pending":
        shift.violation_status = "rejected"  # withdrawn unapproved: the breach never happened
    _step(uow, shift, "cancelled", actor_id, side=side, late=shift.late_cancellation)
    _event(uow, "shift.cancelled", shift, reason=reason, cancelled_by=side, late=shift.late_cancellation)
    return shift_view(shift)


# --- booking ---------------------------------------------------------------------------

def _schedule(session, worker_id, exclude_id):
    rows = session.execute(sa.select(Shift.starts_at, Shift.ends_at).where(
        Shift.worker_id == worker_id, Shift.status.in_(WORKING), Shift.id != exclude_id)).all()
    return [(row.starts_at, row.ends_at) for row in rows]


def _release_of(session, shift):
    return domain.Release(shift.release_stage, _members(session, shift.priority_group_id),
                          shift.priority_until, shift.agency_tier)


def book(uow, shift_id, worker_id, candidate, actor_id, at, complete_if_ended=False):
    """Book the shift to the worker, or raise Conflict naming every rule broken. A shift that
    has started is no longer open (only a retrospective one is booked after its start)."""
    shift = _locked(uow.session, shift_id)
    # One booking decision at a time per worker, so two shifts cannot both pass the checks.
    uow.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(worker_id))))
    open_now = domain.open_to_worker(shift.status, _release_of(uow.session, shift), worker_id, at)
    status = shift.status if shift.retrospective or shift.starts_at > at else "started"
    broken = domain.booking_refusals(status, shift.staff_type, shift.grade, shift.starts_at,
                                     shift.ends_at, candidate, open_now,
                                     _schedule(uow.session, worker_id, shift.id))
    if broken:
        raise Conflict(f"cannot book: {', '.join(broken)}", problem=broken[0], rules=broken)
    shift.status, shift.worker_id, shift.booked_at, shift.booked_by = "booked", worker_id, at, actor_id
    _step(uow, shift, "booked", actor_id, worker_id=worker_id)
    _event(uow, "shift.booked", shift)
    if complete_if_ended and shift.ends_at <= at:
        _complete(uow, shift)
    return shift_view(shift)


def _complete(uow, shift):
    shift.status = "completed"
    _step(uow, shift, "completed")
    _event(uow, "shift.completed", shift)


def apply(uow, shift_id, worker_id, candidate, at):
    shift = uow.session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    broken = domain.booking_refusals(shift.status, shift.staff_type, shift.grade, shift.starts_at,
                                     shift.ends_at, candidate,
                                     domain.open_to_worker(shift.status, _release_of(uow.session, shift),
                                                           worker_id, at), [])
    if broken:
        raise Conflict(f"cannot apply: {', '.join(broken)}", problem=broken[0], rules=broken)
    application = Application(shift_id=shift_id, worker_id=worker_id)
    uow.session.add(application)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        uow.session.rollback()
        raise Conflict("this worker already applied") from exc
    return APPLICATION.dump(application)


def list_applications(session, shift_id, limit, cursor=None):
    rows, next_cursor = paginate(session, sa.select(Application).where(Application.shift_id == shift_id),
                                 Application.created_at, Application.id, limit, cursor)
    return {"items": [APPLICATION.dump(a) for a in rows], "next_cursor": next_cursor}


# --- timers ----------------------------------------------------------------------------

def due(session, at):
    """Ids of shifts a timer must move now: priority windows ended, shifts ended, cascades due."""
    windows = session.scalars(sa.select(Shift.id).where(
        Shift.status == "open", Shift.release_stage == "priority", Shift.priority_until <= at)).all()
    ended = session.scalars(sa.select(Shift.id).where(Shift.status == "booked", Shift.ends_at <= at)).all()
    cascades = session.execute(
        sa.select(Shift.id).join(SitePolicy, SitePolicy.site_id == Shift.site_id).where(
            Shift.status == "open", SitePolicy.cascade_hours_before.is_not(None),
            Shift.requested_release.is_(None),
            sa.or_(Shift.priority_until.is_(None), Shift.priority_until <= at),
            Shift.starts_at - sa.func.make_interval(0, 0, 0, 0, SitePolicy.cascade_hours_before) <= at,
            Shift.starts_at > at)).scalars().all()
    return windows, ended, cascades


def end_priority_window(uow, shift_id, at):
    shift = _locked(uow.session, shift_id)
    if shift.status == "open" and shift.release_stage == "priority" and shift.priority_until <= at:
        shift.release_stage = "bank"
        _step(uow, shift, "released to bank", None, reason="priority window ended")
        _event(uow, "shift.published", shift, to="bank", priority_group_id=None)


def complete_if_ended(uow, shift_id, at):
    shift = _locked(uow.session, shift_id)
    if shift.status == "booked" and shift.ends_at <= at:
        _complete(uow, shift)


def auto_cascade(uow, shift_id, at):
    """Cascade to tier 1 (or ask for it) if the site's policy still says it is due."""
    shift = _locked(uow.session, shift_id)
    hours = policy_of(uow.session, shift.site_id).cascade_hours_before
    if (shift.status == "open" and shift.requested_release is None and hours is not None
            and shift.starts_at - timedelta(hours=hours) <= at < shift.starts_at):
        cascade_shift(uow, shift_id, 1, may_approve=False, actor_id=None, at=at)


# --- lists -----------------------------------------------------------------------------

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
    for field in ("site_id", "organisation_id", "status"):
        if query.get(field):
            statement = statement.where(getattr(Shift, field) == query[field])
    if query.get("from_"):
        statement = statement.where(Shift.starts_at >= query["from_"])
    if query.get("to"):
        statement = statement.where(Shift.starts_at < query["to"])
    rows, next_cursor = paginate(session, statement, Shift.created_at, Shift.id, query["limit"],
                                 query.get("cursor"))
    return {"items": [shift_view(s) for s in rows], "next_cursor": next_cursor}


def list_rate_violations(session, query, scope_ids):
    statement = _in_scope(sa.select(Shift).where(Shift.rate_violation.is_(True)), scope_ids)
    if query.get("bank_id"):
        statement = statement.where(Shift.bank_id == query["bank_id"])
    rows, next_cursor = paginate(session, statement, Shift.created_at, Shift.id, query["limit"],
                                 query.get("cursor"))
    return {"items": [VIOLATION.dump({
        "shift_id": s.id, "site_id": s.site_id, "organisation_id": s.organisation_id,
        "staff_type": s.staff_type, "grade": s.grade, "hourly_rate": s.hourly_rate,
        "standard_rate": s.standard_rate, "status": s.violation_status,
        "approved_by": s.approved_by if s.violation_status == "approved" else None,
        "reason": s.approval_reason if s.violation_status == "approved" else None,
        "approved_at": s.approved_at if s.violation_status == "approved" else None,
    }) for s in rows], "next_cursor": next_cursor}


def available_shifts(session, worker, candidate_for, query, at):
    """Open shifts this worker may take now, nearest first. `candidate_for(day)` gives the
    worker's domain.Candidate with its compliance judged for that day."""
    start = query.get("from_") or at
    end = query.get("to") or at + timedelta(days=domain.DEFAULT_WINDOW_DAYS)
    reach = query.get("max_distance_km")
    if reach is None:
        reach = worker["max_travel_km"]
    statement = (sa.select(Shift, Site).join(Site, Site.id == Shift.site_id).where(
        Shift.bank_id == worker["bank_id"], Shift.status.in_(domain.BOOKABLE),
        Shift.staff_type == worker["staff_type"], Shift.starts_at >= start, Shift.starts_at < end))
    if query.get("site_id"):
        statement = statement.where(Shift.site_id == query["site_id"])
    schedule = _schedule(session, worker["id"], "")
    found = []
    for shift, site in session.execute(statement).all():
        distance = domain.distance_km(worker["latitude"], worker["longitude"], site.latitude, site.longitude)
        if distance > reach:
            continue
        open_now = domain.open_to_worker(shift.status, _release_of(session, shift), worker["id"], at)
        candidate = candidate_for(shift.starts_at)
        if domain.booking_refusals(shift.status, shift.staff_type, shift.grade, shift.starts_at,
                                   shift.ends_at, candidate, open_now, schedule):
            continue
        found.append((distance, shift))
    found.sort(key=lambda pair: (pair[0], pair[1].starts_at))
    return {"items": [shift_view(s, distance_km=round(d, 2)) for d, s in found], "next_cursor": None}
