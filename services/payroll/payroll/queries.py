"""Payroll's reads: views of timesheets and pay runs, lists scoped by the caller, exports."""

from decimal import Decimal

import sqlalchemy as sa

from chassis import csvfiles
from chassis.clock import LONDON, london_date
from chassis.errors import NotFound
from chassis.pagination import paginate
from payroll import access, domain, schemas
from payroll.models import PayRun, PayRunLine, Timesheet, TimesheetApproval

timesheet_schema = schemas.Timesheet()
pay_run_schema = schemas.PayRun()
pay_run_summary_schema = schemas.PayRunSummary()


def _get(session, model, resource_id):
    """The row with this id, or None, also for an id no row can have (not a string, or holding a
    NUL character, which PostgreSQL refuses to compare: a 404, never a 500)."""
    if not isinstance(resource_id, str) or "\x00" in resource_id:
        return None
    return session.get(model, resource_id)


# --- timesheets --------------------------------------------------------------------------

def pay_of(timesheet):
    """The stored pay of a timesheet as domain.Pay (its elements, rates, hours and amount)."""
    return domain.Pay(
        basis=timesheet.pay_basis, minutes=dict(timesheet.paid_minutes),
        rates={element: Decimal(rate) for element, rate in timesheet.rates.items()},
        hours=timesheet.hours, amount=timesheet.amount,
    )


def approvals_of(session, timesheet_ids):
    """timesheet id -> [approval], oldest first."""
    found = {timesheet_id: [] for timesheet_id in timesheet_ids}
    if timesheet_ids:
        rows = session.scalars(sa.select(TimesheetApproval)
                               .where(TimesheetApproval.timesheet_id.in_(list(timesheet_ids)))
                               .order_by(TimesheetApproval.approved_at))
        for row in rows:
            found[row.timesheet_id].append(row)
    return found


def timesheet_view(timesheet, approvals):
    columns = {c.key: getattr(timesheet, c.key) for c in Timesheet.__table__.columns}
    return timesheet_schema.dump({
        **columns,
        "rate": timesheet.hourly_rate,
        "awaiting": domain.awaiting(timesheet.status, len(approvals)),
        "elements": [{"element": element, "minutes": minutes, "hours": domain.hours_of(minutes),
                      "rate": rate, "amount": amount}
                     for element, minutes, rate, amount in domain.pay_elements(pay_of(timesheet))],
        "approvals": [{"approver_id": a.approver_id, "approved_at": a.approved_at} for a in approvals],
    })


def view_of(session, timesheet):
    return timesheet_view(timesheet, approvals_of(session, [timesheet.id])[timesheet.id])


def timesheet(session, timesheet_id):
    found = _get(session, Timesheet, timesheet_id)
    if found is None:
        raise NotFound("no such timesheet")
    return found


def get_timesheet(session, timesheet_id, actor):
    found = timesheet(session, timesheet_id)
    access.check_may_read_timesheet(actor, found)
    return view_of(session, found)


def live_timesheet_of_shift(session, shift_id):
    """The shift's timesheet that is not rejected, if any (at most one: uq_timesheets_live_shift)."""
    return session.scalar(sa.select(Timesheet).where(Timesheet.shift_id == shift_id,
                                                     Timesheet.status != domain.REJECTED))


def last_rejected_of_shift(session, shift_id):
    return session.scalar(sa.select(Timesheet.id).where(Timesheet.shift_id == shift_id,
                                                        Timesheet.status == domain.REJECTED)
                          .order_by(Timesheet.created_at.desc()).limit(1))


def _visible(statement, visibility):
    if visibility.everything:
        return statement
    return statement.where(sa.or_(
        Timesheet.bank_id.in_(visibility.bank_ids or [""]),
        Timesheet.organisation_id.in_(visibility.organisation_ids or [""]),
        Timesheet.site_id.in_(visibility.site_ids or [""]),
        Timesheet.worker_id == (visibility.worker_id or ""),
    ))


def list_timesheets(session, query, actor, scope_ids):
    statement = _visible(sa.select(Timesheet), access.timesheet_visibility(actor, scope_ids))
    for field in ("status", "site_id", "worker_id", "shift_id"):
        if query.get(field):
            statement = statement.where(getattr(Timesheet, field) == query[field])
    if query.get("awaiting"):
        approvals = (sa.select(sa.func.count()).select_from(TimesheetApproval)
                     .where(TimesheetApproval.timesheet_id == Timesheet.id).scalar_subquery())
        statement = statement.where(Timesheet.status == domain.SUBMITTED,
                                    approvals == (0 if query["awaiting"] == "approval" else 1))
    rows, next_cursor = paginate(session, statement, Timesheet.created_at, Timesheet.id, query["limit"],
                                 query.get("cursor"))
    approvals = approvals_of(session, [t.id for t in rows])
    return {"items": [timesheet_view(t, approvals[t.id]) for t in rows], "next_cursor": next_cursor}


# --- pay runs ----------------------------------------------------------------------------

def pay_run(session, pay_run_id):
    found = _get(session, PayRun, pay_run_id)
    if found is None:
        raise NotFound("no such pay run")
    return found


def lines_of(session, pay_run_id):
    """The timesheets a run paid, in the run's order."""
    return session.scalars(sa.select(Timesheet).join(PayRunLine, PayRunLine.timesheet_id == Timesheet.id)
                           .where(PayRunLine.pay_run_id == pay_run_id).order_by(PayRunLine.position)).all()


def line_view(timesheet):
    return {"timesheet_id": timesheet.id, "shift_id": timesheet.shift_id, "worker_id": timesheet.worker_id,
            "bank_number": timesheet.bank_number, "worker_name": timesheet.worker_name,
            "site_id": timesheet.site_id, "site_name": timesheet.site_name,
            "shift_starts_at": timesheet.shift_starts_at, "hours": timesheet.hours,
            "rate": timesheet.hourly_rate, "amount": timesheet.amount, "pay_basis": timesheet.pay_basis}


def pay_run_view(run, timesheets):
    return pay_run_schema.dump({**{c.key: getattr(run, c.key) for c in PayRun.__table__.columns},
                         "line_count": len(timesheets), "lines": [line_view(t) for t in timesheets]})


def get_pay_run(session, pay_run_id, actor):
    access.check_may_read_pay_run(actor)
    run = pay_run(session, pay_run_id)
    return pay_run_view(run, lines_of(session, run.id))


def list_pay_runs(session, query, actor, scope_ids):
    access.check_may_list_pay_runs(actor, scope_ids, query["bank_id"])
    statement = sa.select(PayRun).where(PayRun.bank_id == query["bank_id"])
    rows, next_cursor = paginate(session, statement, PayRun.created_at, PayRun.id, query["limit"],
                                 query.get("cursor"))
    counts = dict(session.execute(
        sa.select(PayRunLine.pay_run_id, sa.func.count())
        .where(PayRunLine.pay_run_id.in_([r.id for r in rows])).group_by(PayRunLine.pay_run_id)
    ).all()) if rows else {}
    items = [pay_run_summary_schema.dump({**{c.key: getattr(r, c.key) for c in PayRun.__table__.columns},
                                   "line_count": counts.get(r.id, 0)}) for r in rows]
    return {"items": items, "next_cursor": next_cursor}


def resolve_scope(session, kind, resource_id):
    """Where a timesheet or pay run sits in the bank tree, or None if there is no such thing."""
    if kind == "timesheet":
        found = _get(session, Timesheet, resource_id)
        return None if found is None else {"bank_id": found.bank_id, "organisation_id": found.organisation_id,
                                           "site_id": found.site_id}
    if kind == "pay_run":
        found = _get(session, PayRun, resource_id)
        return None if found is None else {"bank_id": found.bank_id}
    raise ValueError(f"payroll resolves timesheets and pay runs, not {kind}")


# --- exports -----------------------------------------------------------------------------

# API.md's export: one row per timesheet paid.
EXPORT_COLUMNS = ("bank_number", "worker_name", "site", "shift", "shift_start", "shift_end", "hours",
                  "rate", "amount", "pay_basis", "site_id", "timesheet_id")
# The ESR-style bank-hours file: one row per timesheet and pay element (README "Pay runs").
ESR_COLUMNS = ("bank_number", "worker_name", "work_date", "pay_element", "hours", "rate", "amount",
               "minutes", "site", "shift_id", "timesheet_id")
ESR_ELEMENTS = {"day": "DAY", "night": "NIGHT", "weekend": "WEEKEND", "bank_holiday": "BANK_HOLIDAY",
                domain.FLAT: "FLAT"}


def _local(moment):
    return moment.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M%z")


def _rows(timesheets):
    for t in timesheets:
        yield (t.bank_number, t.worker_name, t.site_name, t.shift_id, _local(t.shift_starts_at),
               _local(t.shift_ends_at), f"{t.hours:.2f}", f"{t.hourly_rate:.2f}", f"{t.amount:.2f}",
               t.pay_basis, t.site_id, t.id)


def _esr_rows(timesheets):
    for t in timesheets:
        for element, minutes, rate, amount in domain.pay_elements(pay_of(t)):
            yield (t.bank_number, t.worker_name, london_date(t.shift_starts_at).isoformat(),
                   ESR_ELEMENTS[element], f"{domain.hours_of(minutes):.2f}", f"{rate:.2f}", f"{amount:.2f}",
                   minutes, t.site_name, t.shift_id, t.id)


def export(session, pay_run_id, kind, actor):
    """A pay run's export as CSV text: kind "lines" (API.md) or "esr" (bank hours by pay element)."""
    access.check_may_read_pay_run(actor)
    run = pay_run(session, pay_run_id)
    timesheets = lines_of(session, run.id)
    columns, rows = (EXPORT_COLUMNS, _rows(timesheets)) if kind == "lines" else (ESR_COLUMNS,
                                                                                 _esr_rows(timesheets))
    suffix = "" if kind == "lines" else "-esr"
    return {"filename": f"pay-run-{run.period_start}-{run.period_end}-{run.id[:8]}{suffix}.csv",
            "content": csvfiles.render(columns, rows)}  # names a spreadsheet would run are defused
