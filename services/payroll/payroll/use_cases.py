"""Payroll use cases: rate cards, the standard rate of a shift, timesheets and pay runs.
Writes go through a unit of work (state and outbox rows commit together)."""

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from chassis.clock import london_date
from chassis.db import for_update
from chassis.errors import Conflict, Invalid
from payroll import access, domain, queries, schemas
from payroll.models import PayRun, PayRunLine, RateCard, Timesheet, TimesheetApproval

rate_card_schema = schemas.RateCard()
standard_rate_schema = schemas.StandardRate()

# The card's column holding each band's rate (domain.BANDS).
RATE_COLUMNS = {"day": "day_rate", "night": "night_rate", "weekend": "weekend_rate",
                "bank_holiday": "bank_holiday_rate"}


# --- rate cards ------------------------------------------------------------------------

def rate_card_view(card):
    return rate_card_schema.dump(card)


def put_rate_card(uow, data):
    """Create or replace the card of a bank, staff type and grade (one statement, so concurrent
    puts cannot collide), and publish the card as it now stands."""
    rates = {column: data[column] for column in RATE_COLUMNS.values()}
    card = uow.session.scalars(
        insert(RateCard)
        .values(bank_id=data["bank_id"], staff_type=data["staff_type"], grade=data["grade"], **rates)
        .on_conflict_do_update(index_elements=[RateCard.bank_id, RateCard.staff_type, RateCard.grade],
                               set_={**rates, "updated_at": func.now()})
        .returning(RateCard),
        execution_options={"populate_existing": True},
    ).one()
    view = rate_card_view(card)
    uow.emit("rate_card.updated", view)
    return view


def list_rate_cards(session, bank_id):
    rows = session.scalars(sa.select(RateCard).where(RateCard.bank_id == bank_id)
                           .order_by(RateCard.staff_type, RateCard.grade)).all()
    return {"items": [rate_card_view(card) for card in rows]}


def rates_of(card):
    """Band name -> hourly rate, as domain.py takes them."""
    return {band: getattr(card, column) for band, column in RATE_COLUMNS.items()}


# --- the standard rate -----------------------------------------------------------------

def standard_rate(session, bank_id, staff_type, grade, starts_at, ends_at):
    """The card rate of the band holding most of the shift's minutes (DESIGN.md "Rates")."""
    card = session.get(RateCard, (bank_id, staff_type, grade))
    if card is None:
        raise Invalid("no rate card for this staff type and grade",
                      errors={"grade": ["No rate card for this staff type and grade."]})
    band, rate = domain.standard_rate(starts_at, ends_at, rates_of(card))
    return standard_rate_schema.dump({
        "bank_id": bank_id, "staff_type": staff_type, "grade": grade, "band": band, "rate": rate,
        "minutes_by_band": domain.minutes_by_band(starts_at, ends_at),
    })


# --- timesheets --------------------------------------------------------------------------

def _money(value):
    return f"{value:.2f}"


def _timesheet_fact(timesheet):
    """What every timesheet event says about the timesheet (contracts/payroll.py)."""
    return {"timesheet_id": timesheet.id, "shift_id": timesheet.shift_id, "worker_id": timesheet.worker_id,
            "bank_number": timesheet.bank_number, "bank_id": timesheet.bank_id,
            "organisation_id": timesheet.organisation_id, "site_id": timesheet.site_id,
            "hours": _money(timesheet.hours), "amount": _money(timesheet.amount)}


def submit_timesheet(uow, data, actor, shift, worker, site, at):
    """Price and record the hours the booked worker claims for a completed shift.

    `shift`, `worker`, `site`: as shifts and identity answer now (shift_facts, get_worker,
    get_site). Banded pay uses the bank's rate card as it stands (cards have no effective dates
    in v1). One live timesheet per shift: a second is a Conflict, decided by the partial unique
    index when two arrive at once; after a rejection a new one may be submitted. The caller was
    checked to be the shift's booked worker (access.check_may_submit) before its facts were fetched.
    """
    if shift["status"] != domain.SHIFT_PAYABLE:
        raise Conflict(f"a {shift['status']} shift gets no timesheet: only a completed one does")
    starts_at, ends_at = datetime.fromisoformat(shift["starts_at"]), datetime.fromisoformat(shift["ends_at"])
    errors = domain.timesheet_errors(data["started_at"], data["ended_at"], starts_at, ends_at, at)
    if errors:
        raise Invalid("invalid timesheet", errors=errors)
    session = uow.session
    if queries.live_timesheet_of_shift(session, shift["id"]) is not None:
        raise Conflict("this shift already has a timesheet")
    hourly_rate, standard_rate = Decimal(shift["hourly_rate"]), Decimal(shift["standard_rate"])
    card = session.get(RateCard, (shift["bank_id"], shift["staff_type"], shift["grade"]))
    if card is None and domain.is_banded(hourly_rate, standard_rate):
        raise Conflict("no rate card for this shift's staff type and grade")
    pay = domain.timesheet_pay(data["started_at"], data["ended_at"], data["break_minutes"], hourly_rate,
                               standard_rate, rates_of(card) if card is not None else None)
    scheduled = domain.scheduled_minutes(starts_at, ends_at, shift["break_minutes"])
    timesheet = Timesheet(
        shift_id=shift["id"], worker_id=shift["worker_id"], submitted_by=actor.user_id,
        bank_id=shift["bank_id"], organisation_id=shift["organisation_id"], site_id=shift["site_id"],
        bank_number=worker["bank_number"], worker_name=worker["name"], site_name=site["name"],
        staff_type=shift["staff_type"], grade=shift["grade"], shift_starts_at=starts_at,
        shift_ends_at=ends_at, shift_break_minutes=shift["break_minutes"], shift_date=london_date(starts_at),
        hourly_rate=hourly_rate, standard_rate=standard_rate, started_at=data["started_at"],
        ended_at=data["ended_at"], break_minutes=data["break_minutes"], pay_basis=pay.basis,
        paid_minutes=pay.minutes, rates={element: _money(rate) for element, rate in pay.rates.items()},
        hours=pay.hours, amount=pay.amount, scheduled_hours=domain.hours_of(scheduled),
        second_approval_required=domain.needs_second_approval(pay.paid_minutes, scheduled),
        status=domain.SUBMITTED, resubmission_of=queries.last_rejected_of_shift(session, shift["id"]),
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(timesheet)
            session.flush()
    except IntegrityError as exc:  # a twin submitted at the same moment won
        raise Conflict("this shift already has a timesheet") from exc
    uow.emit("timesheet.submitted", {
        **_timesheet_fact(timesheet), "started_at": timesheet.started_at.isoformat(),
        "ended_at": timesheet.ended_at.isoformat(), "break_minutes": timesheet.break_minutes,
        "second_approval_required": timesheet.second_approval_required,
        "resubmission_of": timesheet.resubmission_of,
    })
    return queries.timesheet_view(timesheet, [])


def _locked_timesheet(session, timesheet_id):
    queries.timesheet(session, timesheet_id)  # NotFound
    return session.scalar(for_update(sa.select(Timesheet).where(Timesheet.id == timesheet_id)))


def approve_timesheet(uow, timesheet_id, actor, at):
    """One approval; the last one needed (two if the overpayment guard says so) approves the
    timesheet and publishes timesheet.approved. Decided under the timesheet's row lock, so two
    approvers at once count as two approvals, in turn."""
    session = uow.session
    timesheet = _locked_timesheet(session, timesheet_id)
    approvals = queries.approvals_of(session, [timesheet.id])[timesheet.id]
    access.check_may_decide(actor, timesheet, {a.approver_id for a in approvals})
    try:
        status = domain.after_approval(timesheet.status, len(approvals), timesheet.second_approval_required)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    approval = TimesheetApproval(timesheet_id=timesheet.id, approver_id=actor.user_id, approved_at=at)
    session.add(approval)
    approvals.append(approval)
    if status == domain.APPROVED:
        timesheet.status, timesheet.approved_at = status, at
        uow.emit("timesheet.approved", {**_timesheet_fact(timesheet), "approved_at": at.isoformat()})
    session.flush()
    return queries.timesheet_view(timesheet, approvals)


def reject_timesheet(uow, timesheet_id, reason, actor, at):
    """Reject a submitted timesheet with a reason (also one awaiting its second approval); the
    worker may then submit a corrected one for the shift."""
    session = uow.session
    timesheet = _locked_timesheet(session, timesheet_id)
    approvals = queries.approvals_of(session, [timesheet.id])[timesheet.id]
    access.check_may_decide(actor, timesheet)
    try:
        domain.check_may_reject(timesheet.status)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    timesheet.status, timesheet.rejection_reason = domain.REJECTED, reason
    timesheet.rejected_by, timesheet.rejected_at = actor.user_id, at
    session.flush()
    uow.emit("timesheet.rejected", {**_timesheet_fact(timesheet), "reason": reason,
                                    "rejected_at": at.isoformat()})
    return queries.timesheet_view(timesheet, approvals)


# --- pay runs ----------------------------------------------------------------------------

def create_pay_run(uow, data, actor, at):
    """Close a pay run at once: it claims every approved, unpaid timesheet of the bank's shifts
    starting in the period (Europe/London dates, inclusive) and publishes pay_run.closed.

    Exactly once, decided by the database: the timesheets are claimed under their row locks
    (taken in id order, so overlapping runs wait for each other rather than deadlock); a run that
    waited re-reads them, finds them paid and leaves them out. pay_run_lines.timesheet_id is
    unique as well, so even a bug here could not pay a timesheet twice.
    """
    access.check_may_run_pay(actor)
    session = uow.session
    run = PayRun(bank_id=data["bank_id"], period_start=data["period_start"], period_end=data["period_end"],
                 status="closed", total=0, created_by=actor.user_id, created_at=at, closed_at=at)
    session.add(run)
    session.flush()
    claimed = session.scalars(for_update(
        sa.select(Timesheet).where(
            Timesheet.bank_id == run.bank_id, Timesheet.status == domain.APPROVED,
            Timesheet.pay_run_id.is_(None),
            Timesheet.shift_date.between(run.period_start, run.period_end),
        ).order_by(Timesheet.id)
    )).all()
    claimed.sort(key=lambda t: (t.bank_number, t.shift_starts_at, t.id))
    try:
        with session.begin_nested():
            for position, timesheet in enumerate(claimed):
                timesheet.pay_run_id = run.id
                session.add(PayRunLine(pay_run_id=run.id, timesheet_id=timesheet.id, position=position))
            session.flush()
    except IntegrityError as exc:
        raise Conflict("another pay run is paying these timesheets; try again") from exc
    run.total = sum((t.amount for t in claimed), Decimal(0))
    session.flush()
    view = queries.pay_run_view(run, claimed)
    uow.emit("pay_run.closed", {
        "pay_run_id": run.id, "bank_id": run.bank_id, "period_start": view["period_start"],
        "period_end": view["period_end"], "total": view["total"], "closed_at": view["closed_at"],
        "lines": [{key: line[key] for key in PAY_RUN_CLOSED_LINE} for line in view["lines"]],
    })
    return view


PAY_RUN_CLOSED_LINE = ("timesheet_id", "shift_id", "worker_id", "bank_number", "worker_name", "site_id",
                       "shift_starts_at", "hours", "rate", "amount", "pay_basis")
