"""Shifts' writes. Remote facts (the site, the standard rate, the worker's status and
compliance) are fetched by service.py before the transaction and passed in; every
decision here is taken under the shift's row lock (and the worker's advisory lock
when booking), so concurrent requests are decided by the database. A shift's status
changes only through `_move`, that is through domain.MOVES."""

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from chassis.db import one_or_not_found
from chassis.errors import Conflict, Invalid, NotFound
from shifts import access, domain, schemas
from shifts.domain import AwaitedRelease
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
from shifts.queries import application_schema, policy_of, policy_view, release_of, schedule, shift_view

priority_group_schema = schemas.PriorityGroup()
agency_tier_schema = schemas.AgencyTierSchema()


# --- sites, policies, priority groups, agencies ----------------------------------------

def save_site(session, site):
    """Keep where a site is (from identity's site.created, or identity's answer when shifts had not
    heard of it yet); nothing to write when shifts already has it (in the session's identity map once
    queries.site_of read it, so the check costs no statement)."""
    if session.get(Site, site["id"]) is not None:
        return
    session.execute(
        insert(Site).values(id=site["id"], organisation_id=site["organisation_id"], bank_id=site["bank_id"],
                            latitude=site["latitude"], longitude=site["longitude"])
        .on_conflict_do_nothing()
    )


def on_site_created(uow, event):
    """identity's site.created (a chassis.handlers.Event): where the site is, for travel radii."""
    save_site(uow.session, {**event.data, "id": event.data["site_id"]})


def put_policy(uow, site, changes):
    save_site(uow.session, site)
    current = policy_of(uow.session, site["id"]).__dict__ | changes
    uow.session.execute(insert(SitePolicy).values(site_id=site["id"], **current)
                        .on_conflict_do_update(index_elements=[SitePolicy.site_id], set_=current))
    return policy_view(uow.session, site["id"])


def create_priority_group(uow, data, bank_id):
    group = PriorityGroup(organisation_id=data["organisation_id"], bank_id=bank_id, name=data["name"])
    uow.session.add(group)
    uow.session.flush()
    worker_ids = sorted(set(data["worker_ids"]))
    uow.session.add_all([PriorityGroupMember(group_id=group.id, worker_id=w) for w in worker_ids])
    uow.session.flush()
    facts = {"organisation_id": group.organisation_id, "bank_id": bank_id, "name": group.name,
             "worker_ids": worker_ids}
    uow.emit("priority_group.created", {"priority_group_id": group.id, **facts})
    return priority_group_schema.dump({"id": group.id, **facts})


def put_agency_tier(uow, organisation_id, bank_id, tier):
    uow.session.execute(insert(AgencyTier).values(organisation_id=organisation_id, bank_id=bank_id, tier=tier)
                        .on_conflict_do_update(index_elements=[AgencyTier.organisation_id],
                                               set_={"tier": tier, "bank_id": bank_id}))
    return agency_tier_schema.dump({"organisation_id": organisation_id, "bank_id": bank_id, "tier": tier})


# --- the shift's record: moves, steps, events ------------------------------------------

def _locked(session, shift_id):
    return one_or_not_found(session, sa.select(Shift).where(Shift.id == shift_id), "shift", lock=True)


def _move(shift, name, target):
    shift.status = domain.move(name, shift.status, target)


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


# --- release ---------------------------------------------------------------------------

def _check_priority_group(session, shift, release):
    if release is not None and release.to == "priority":
        group = session.get(PriorityGroup, release.priority_group_id or "")
        if group is None or group.organisation_id != shift.organisation_id:
            raise Invalid("unknown priority group", errors={
                "publish": {"priority_group_id": ["No such priority group in this organisation."]}})


def _release(uow, shift, release, policy, at, actor_id=None):
    """Open the shift (already `open`) to its priority group for the window, or to the bank."""
    shift.awaited = None
    if release.to == "priority":
        shift.release_stage = "priority"
        shift.priority_group_id = release.priority_group_id
        shift.priority_until = at + timedelta(minutes=release.priority_minutes or policy.priority_minutes)
    else:
        shift.release_stage = "bank"
    in_window = shift.release_stage == "priority"
    _step(uow, shift, f"released to {shift.release_stage}", actor_id,
          priority_until=shift.priority_until.isoformat() if in_window else None)
    _event(uow, "shift.published", shift, to=shift.release_stage,
           priority_group_id=shift.priority_group_id if in_window else None)


def _cascade(uow, shift, tier, actor_id=None):
    _move(shift, "cascade", "agency")
    shift.release_stage, shift.agency_tier, shift.awaited = "agency", tier, None
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
    save_site(uow.session, site)
    policy = policy_of(uow.session, site["id"])
    violation = domain.is_violation(hourly_rate, standard["rate"])
    release = AwaitedRelease.from_publish(data["publish"]) if data.get("publish") else None
    shift = Shift(
        site_id=site["id"], organisation_id=site["organisation_id"], bank_id=site["bank_id"],
        staff_type=data["staff_type"], grade=data["grade"], specialty=data.get("specialty"),
        starts_at=data["starts_at"], ends_at=data["ends_at"], break_minutes=data["break_minutes"],
        hourly_rate=hourly_rate, standard_rate=Decimal(standard["rate"]), rate_band=standard["band"],
        rate_violation=violation, violation_status="pending" if violation else None,
        instant_book=data["instant_book"], retrospective=retrospective, created_by=actor_id,
        justification=data.get("justification"),
        status=None, release_stage="bank" if retrospective else None,
    )
    _move(shift, "post", domain.status_after_posting(violation, release, policy, retrospective))
    _check_priority_group(uow.session, shift, release)
    uow.session.add(shift)
    uow.session.flush()
    _step(uow, shift, "posted", actor_id, status=shift.status)
    if violation:
        _event(uow, "shift.rate_violation", shift)
    if shift.status == "open" and not retrospective:
        _release(uow, shift, release, policy, at, actor_id)
    elif shift.status == "pending_approval":
        shift.awaited = release
    uow.session.flush()
    return shift


def publish_shift(uow, shift_id, publish, actor_id, at):
    shift = _locked(uow.session, shift_id)
    release = AwaitedRelease.from_publish(publish)
    policy = policy_of(uow.session, shift.site_id)
    _move(shift, "publish", domain.status_after_publishing(policy))
    _check_priority_group(uow.session, shift, release)
    if shift.status == "pending_approval":
        shift.awaited = release
        _step(uow, shift, "release awaits approval", actor_id)
    else:
        _release(uow, shift, release, policy, at, actor_id)
    return shift_view(shift)


def approve_shift(uow, shift_id, reason, actor_id, at):
    """Approve what the shift awaits (domain.approval): its rate, its release, its cascade."""
    shift = _locked(uow.session, shift_id)
    awaited = shift.awaited
    plan = domain.approval(shift.status, shift.violation_status == "pending", awaited)
    access.check_not_approving_own(actor_id, shift, plan.approves)
    if "rate" in plan.approves:
        shift.violation_status = "approved"
        shift.approved_by, shift.approval_reason, shift.approved_at = actor_id, reason, at
    if plan.move == "approve":
        _move(shift, "approve", domain.status_after_approval(awaited))
        if shift.status == "open":
            _release(uow, shift, awaited, policy_of(uow.session, shift.site_id), at, actor_id)
    elif plan.move == "cascade":
        _cascade(uow, shift, awaited.tier, actor_id)
    _step(uow, shift, "approved", actor_id, reason=reason, approved=list(plan.approves))
    return shift_view(shift)


def reject_shift(uow, shift_id, reason, actor_id, at):
    """Refuse what the shift awaits (domain.rejection): a rate cancels the shift (the site's side
    cancels: `shift.cancelled` with cancelled_by "site"), a release sends it back to draft, a
    cascade request is dropped. Whoever posted the shift may refuse its own posting (refusing is
    no self-approval: the poster could cancel it anyway)."""
    shift = _locked(uow.session, shift_id)
    plan = domain.rejection(shift.status, shift.violation_status == "pending", shift.awaited)
    if "rate" in plan.rejects:
        _reject_rate(shift, reason, actor_id, at)
    _step(uow, shift, "rejected", actor_id, reason=reason, rejected=list(plan.rejects))
    if plan.move == "cancel":
        _cancel(uow, shift, reason, "site", actor_id, at)
    elif plan.move == "reject":
        _move(shift, "reject", "draft")
    shift.awaited = None
    return shift_view(shift)


def _reject_rate(shift, reason, actor_id, at):
    shift.violation_status = "rejected"
    shift.rejected_by, shift.rejection_reason, shift.rejected_at = actor_id, reason, at


def cascade_shift(uow, shift_id, tier, may_approve, actor_id, at):
    """Cascade to agency tier N, or record the request for an approver; the shift stays open
    to the bank (or to the agencies it reached) meanwhile."""
    shift = _locked(uow.session, shift_id)
    domain.move("cascade", shift.status, "agency")  # may it? (it moves only once approved)
    if shift.status == "agency" and tier <= (shift.agency_tier or 0):
        raise Conflict(f"already cascaded to tier {shift.agency_tier}")
    if shift.release_stage == "priority" and shift.priority_until > at:
        raise Conflict("the priority window is still open: the bank comes before agencies")
    if (policy_of(uow.session, shift.site_id).agency_cascade_needs_approval
            and not access.may_cascade_own_unapproved(may_approve, actor_id, shift)):
        shift.awaited = AwaitedRelease("agency", tier=tier)
        _step(uow, shift, "cascade awaits approval", actor_id, tier=tier)
    else:
        _cascade(uow, shift, tier, actor_id)
    return shift_view(shift)


def cancel_shift(uow, shift_id, reason, side, actor_id, at):
    shift = _locked(uow.session, shift_id)
    _cancel(uow, shift, reason, side, actor_id, at)
    return shift_view(shift)


def _cancel(uow, shift, reason, side, actor_id, at):
    late = shift.status == "booked" and domain.is_late_cancellation(shift.starts_at, at)
    _move(shift, "cancel", "cancelled")
    shift.late_cancellation, shift.cancellation_reason, shift.cancelled_by = late, reason, side
    shift.awaited = None
    if shift.violation_status == "pending":
        _reject_rate(shift, reason, actor_id, at)  # withdrawn unapproved: the breach never happened
    _step(uow, shift, "cancelled", actor_id, side=side, late=late)
    _event(uow, "shift.cancelled", shift, reason=reason, cancelled_by=side, late=late)


# --- booking ---------------------------------------------------------------------------

def book(uow, shift_id, worker_id, candidate, actor_id, at, complete_if_ended=False):
    """Book the shift to the worker, or raise Conflict naming every rule broken. A shift that
    has started is no longer open (only a retrospective one is booked after its start)."""
    shift = _locked(uow.session, shift_id)
    # One booking decision at a time per worker, so two shifts cannot both pass the checks.
    uow.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(worker_id))))
    open_now = domain.open_to_worker(shift.status, release_of(uow.session, shift), worker_id, at)
    status = shift.status if shift.retrospective or shift.starts_at > at else "started"
    broken = domain.booking_refusals(status, shift.staff_type, shift.grade, shift.starts_at,
                                     shift.ends_at, candidate, open_now,
                                     schedule(uow.session, worker_id, shift.id))
    if broken:
        raise Conflict(f"cannot book: {', '.join(broken)}", problem=broken[0], rules=broken)
    _move(shift, "book", "booked")
    shift.worker_id, shift.booked_at, shift.booked_by = worker_id, at, actor_id
    _step(uow, shift, "booked", actor_id, worker_id=worker_id)
    _event(uow, "shift.booked", shift)
    if complete_if_ended and shift.ends_at <= at:
        _complete(uow, shift)
    return shift_view(shift)


def _complete(uow, shift):
    _move(shift, "complete", "completed")
    _step(uow, shift, "completed")
    _event(uow, "shift.completed", shift)


def apply(uow, shift_id, worker_id, candidate, at):
    shift = uow.session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    broken = domain.booking_refusals(shift.status, shift.staff_type, shift.grade, shift.starts_at,
                                     shift.ends_at, candidate,
                                     domain.open_to_worker(shift.status, release_of(uow.session, shift),
                                                           worker_id, at), [])
    if broken:
        raise Conflict(f"cannot apply: {', '.join(broken)}", problem=broken[0], rules=broken)
    application = Application(shift_id=shift_id, worker_id=worker_id)
    try:
        with uow.session.begin_nested():
            uow.session.add(application)
    except IntegrityError as exc:
        raise Conflict("this worker already applied") from exc
    return application_schema.dump(application)


# --- timers: each move re-checked under the shift's row lock ---------------------------

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
    if (shift.status == "open" and shift.awaited is None and hours is not None
            and shift.starts_at - timedelta(hours=hours) <= at < shift.starts_at):
        cascade_shift(uow, shift_id, 1, may_approve=False, actor_id=None, at=at)


TIMER_MOVES = (end_priority_window, complete_if_ended, auto_cascade)  # in the order of queries.due
