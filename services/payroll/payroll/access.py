"""Who may do what to a timesheet or a pay run: the rules that depend on the caller and on the
resource itself, in one place.

The gateway decides role and scope and hands each RPC the caller as a `chassis.auth.Actor` with the
capacities it holds (API.md "Roles and scope"):

- `worker`: the worker role in the resource's bank (its own timesheets only: see below);
- `staff`: a staff role over the timesheet's site (reads timesheets there);
- `approver`: timesheet_approver over the timesheet's site;
- `reader`: bank_admin or hr_system over the pay run's bank (reads it and its exports);
- `admin`: bank_admin (runs pay; the gateway checked the body's bank).

An RPC without an Actor is refused (`Actor.from_dict`), never read as "anyone" (DESIGN.md rule 8).
"""

from dataclasses import dataclass

from chassis.errors import Forbidden, NotFound


def check_may_submit(actor, shift):
    """Only the worker booked on the shift claims its hours: a timesheet is that worker's word
    about its own work, and pay follows it."""
    if not actor.acts_as("worker") or actor.worker_id is None or actor.worker_id != shift.get("worker_id"):
        raise Forbidden("only the worker booked on this shift may submit its timesheet")


def _own(actor, timesheet):
    return (actor.worker_id is not None and actor.worker_id == timesheet.worker_id) or \
        actor.user_id == timesheet.submitted_by


def check_may_decide(actor, timesheet, approver_ids=()):
    """Approve or reject: a timesheet approver at the timesheet's site, never for their own
    timesheet (separation of duties: nobody signs off their own pay, API.md), and when the
    overpayment guard asks for a second approval, someone other than the first approver (two people
    must each have looked at it)."""
    if not actor.acts_as("approver"):
        raise Forbidden("only a timesheet approver at this site may decide on this timesheet")
    if _own(actor, timesheet):
        raise Forbidden("nobody approves or rejects their own timesheet")
    if actor.user_id in approver_ids:
        raise Forbidden("the second approval must come from a different approver")


def check_may_read_timesheet(actor, timesheet):
    """Staff at the site read it; a worker reads only its own (another worker's is not found,
    so its existence is not confirmed)."""
    if actor.acts_as("staff"):
        return
    if actor.acts_as("worker") and actor.worker_id is not None and actor.worker_id == timesheet.worker_id:
        return
    raise NotFound("no such timesheet")


@dataclass(frozen=True)
class Visibility:
    """Which timesheets a list shows a caller: everything, or those at the sites its staff grants
    reach (by bank, organisation or site id), plus its own as a worker."""

    everything: bool = False
    bank_ids: tuple = ()
    organisation_ids: tuple = ()
    site_ids: tuple = ()
    worker_id: str | None = None


def timesheet_visibility(actor, scope_ids):
    """`scope_ids`: the caller's staff grants' ids per level ({"bank": [...], "organisation": [...],
    "site": [...]}), or None for a platform grant. Required: the gateway always says."""
    worker_id = actor.worker_id if actor.acts_as("worker") else None
    if not actor.acts_as("staff"):
        return Visibility(worker_id=worker_id)
    if scope_ids is None:
        return Visibility(everything=True)
    return Visibility(bank_ids=tuple(scope_ids.get("bank") or ()),
                      organisation_ids=tuple(scope_ids.get("organisation") or ()),
                      site_ids=tuple(scope_ids.get("site") or ()), worker_id=worker_id)


def check_may_run_pay(actor):
    """A bank admin closes its bank's pay runs (the gateway checked the bank in the body)."""
    if not actor.acts_as("admin"):
        raise Forbidden("only a bank admin runs pay")


def check_may_read_pay_run(actor):
    """Bank admins and HR systems read the pay runs of their own bank (the capacity is held over
    the pay run's bank, so another bank's run was refused before this)."""
    if not actor.acts_as("reader"):
        raise NotFound("no such pay run")


def check_may_list_pay_runs(actor, scope_ids, bank_id):
    """The list is of one bank's runs: the caller must read pay runs there (`scope_ids` as above,
    over the bank_admin and hr_system grants)."""
    if not actor.acts_as("reader"):
        raise Forbidden("only a bank admin or HR system reads pay runs")
    if scope_ids is not None and bank_id not in (scope_ids.get("bank") or ()):
        raise Forbidden("that bank lies outside your scope")
