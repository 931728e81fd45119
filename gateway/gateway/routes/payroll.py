"""Rate cards, timesheets, pay runs and exports (payroll).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, schemas); the handler only translates and delegates by RPC. What depends
on the timesheet or pay run itself (the booked worker only, nobody approves their own, a second
approver differs from the first) is payroll's to decide, in `payroll/access.py`."""

from werkzeug.wrappers import Response

from chassis.auth import STAFF_ROLES
from gateway.access import BankPart, BodyRef, PathRef, QueryRef
from gateway.http import route
from payroll import schemas as payroll_schemas

# Capacities (chassis.auth.Actor) the payroll service judges by.
WORKER = {"worker": ("worker",)}
STAFF_OR_WORKER = {"staff": STAFF_ROLES, "worker": ("worker",)}
APPROVER = {"approver": ("timesheet_approver",)}
PAY_RUN_READERS = ("bank_admin", "hr_system")
READER = {"reader": PAY_RUN_READERS}
ADMIN = {"admin": ("bank_admin",)}


def csv_response(export):
    """A CSV export as a download (UTF-8, one header row, CRLF line ends)."""
    return Response(export["content"], content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{export["filename"]}"'})


class PayrollRoutes:
    @route("PUT", "/v1/rate-cards", roles=("bank_admin",), body=payroll_schemas.RateCardPut,
           response=payroll_schemas.RateCard, scope=BodyRef("bank_id", "bank"), tags=["payroll"])
    def put_rate_card(self, call):
        """Set a bank's harmonised rates for a staff type and grade (day, night, weekend, bank holiday)."""
        return self.payroll.put_rate_card(call.body)

    @route("GET", "/v1/rate-cards", roles=STAFF_ROLES + ("hr_system",), query=payroll_schemas.RateCardQuery,
           response=payroll_schemas.RateCardList,
           scope=BankPart("bank_id", "bank", roles=STAFF_ROLES + ("hr_system",)), tags=["payroll"])
    def list_rate_cards(self, call):
        """A bank's rate cards: the same for every site of the bank, so staff anywhere in it read
        them (a coordinator posting a shift sees the standard rate)."""
        return self.payroll.list_rate_cards(call.query["bank_id"])

    # --- timesheets -----------------------------------------------------------------

    @route("POST", "/v1/timesheets", roles=("worker",), body=payroll_schemas.TimesheetSubmit,
           response=payroll_schemas.Timesheet, status=201, scope=BodyRef("shift_id", "shift"),
           capacities=WORKER, idempotent=True, tags=["payroll"],
           responses={409: "The shift is not completed, or already has a timesheet"})
    def submit_timesheet(self, call):
        """The booked worker claims the hours worked on a completed shift; priced at once. After a
        rejection, a corrected timesheet for the same shift is submitted the same way."""
        return self.payroll.submit_timesheet(call.body, call.actor_dict)

    @route("GET", "/v1/timesheets", roles=STAFF_ROLES + ("worker",), query=payroll_schemas.TimesheetQuery,
           response=payroll_schemas.TimesheetList, capacities=STAFF_OR_WORKER, tags=["payroll"])
    def list_timesheets(self, call):
        """Timesheets at the sites in the caller's scope (a worker: its own); `awaiting` says what a
        submitted one waits for (approval, or second_approval under the overpayment guard)."""
        return self.payroll.list_timesheets(call.query, call.actor_dict, call.scope_ids(STAFF_ROLES))

    @route("GET", "/v1/timesheets/{id}", roles=STAFF_ROLES + ("worker",), response=payroll_schemas.Timesheet,
           scope=PathRef("id", "timesheet"), capacities=STAFF_OR_WORKER, tags=["payroll"])
    def get_timesheet(self, call):
        """One timesheet (a worker: its own)."""
        return self.payroll.get_timesheet(call.path["id"], call.actor_dict)

    @route("POST", "/v1/timesheets/{id}/approve", roles=("timesheet_approver",),
           response=payroll_schemas.Timesheet, scope=PathRef("id", "timesheet"), capacities=APPROVER,
           tags=["payroll"], responses={409: "The timesheet is not awaiting approval"})
    def approve_timesheet(self, call):
        """Approve (no body); a timesheet over the overpayment guard needs a second, different approver."""
        return self.payroll.approve_timesheet(call.path["id"], call.actor_dict)

    @route("POST", "/v1/timesheets/{id}/reject", roles=("timesheet_approver",),
           body=payroll_schemas.Rejection, response=payroll_schemas.Timesheet,
           scope=PathRef("id", "timesheet"), capacities=APPROVER, tags=["payroll"],
           responses={409: "The timesheet is not awaiting approval"})
    def reject_timesheet(self, call):
        """Reject with a reason; the worker may then submit a corrected timesheet for the shift."""
        return self.payroll.reject_timesheet(call.path["id"], call.body, call.actor_dict)

    # --- pay runs -------------------------------------------------------------------

    @route("POST", "/v1/pay-runs", roles=("bank_admin",), body=payroll_schemas.PayRunCreate,
           response=payroll_schemas.PayRun, status=201, scope=BodyRef("bank_id", "bank"), capacities=ADMIN,
           idempotent=True, tags=["payroll"],
           responses={409: "A concurrent pay run was paying the same timesheets; retry"})
    def create_pay_run(self, call):
        """Pay every approved, unpaid timesheet of the bank's shifts starting in the period (inclusive
        Europe/London dates); the run closes at once and publishes pay_run.closed."""
        return self.payroll.create_pay_run(call.body, call.actor_dict)

    @route("GET", "/v1/pay-runs", roles=PAY_RUN_READERS, query=payroll_schemas.PayRunQuery,
           response=payroll_schemas.PayRunList, scope=QueryRef("bank_id", "bank"), capacities=READER,
           tags=["payroll"])
    def list_pay_runs(self, call):
        """A bank's pay runs, oldest first, without their lines (GET one for those)."""
        return self.payroll.list_pay_runs(call.query, call.actor_dict, call.scope_ids(PAY_RUN_READERS))

    @route("GET", "/v1/pay-runs/{id}", roles=PAY_RUN_READERS, response=payroll_schemas.PayRun,
           scope=PathRef("id", "pay_run"), capacities=READER, tags=["payroll"])
    def get_pay_run(self, call):
        """One pay run with its lines."""
        return self.payroll.get_pay_run(call.path["id"], call.actor_dict)

    @route("GET", "/v1/pay-runs/{id}/export.csv", roles=PAY_RUN_READERS, scope=PathRef("id", "pay_run"),
           capacities=READER, media_type="text/csv", tags=["payroll"])
    def export_pay_run(self, call):
        """The pay run as CSV, one row per timesheet: bank_number, worker_name, site, shift, shift_start,
        shift_end, hours, rate, amount, pay_basis, site_id, timesheet_id."""
        return csv_response(self.payroll.export_pay_run(call.path["id"], "lines", call.actor_dict))

    @route("GET", "/v1/pay-runs/{id}/esr.csv", roles=PAY_RUN_READERS, scope=PathRef("id", "pay_run"),
           capacities=READER, media_type="text/csv", tags=["payroll"])
    def export_pay_run_esr(self, call):
        """ESR-style bank hours, one row per timesheet and pay element: bank_number, worker_name,
        work_date, pay_element (DAY, NIGHT, WEEKEND, BANK_HOLIDAY, FLAT), hours, rate, amount,
        minutes, site, shift_id, timesheet_id."""
        return csv_response(self.payroll.export_pay_run(call.path["id"], "esr", call.actor_dict))
