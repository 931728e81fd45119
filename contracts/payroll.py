"""Events published by payroll on `payroll.events`."""

from marshmallow import RAISE, Schema, fields


class _Contract(Schema):
    class Meta:
        unknown = RAISE


class RateCardUpdated(_Contract):
    """rate_card.updated: a card was created or replaced; the card as it now stands.
    Rates are decimal strings with 2 places ("85.50"); `updated_at` is ISO 8601 with offset."""

    bank_id = fields.Str(required=True)
    staff_type = fields.Str(required=True)
    grade = fields.Str(required=True)
    day_rate = fields.Str(required=True)
    night_rate = fields.Str(required=True)
    weekend_rate = fields.Str(required=True)
    bank_holiday_rate = fields.Str(required=True)
    updated_at = fields.Str(required=True)


class TimesheetFact(_Contract):
    """What every timesheet event carries. Money and hours are decimal strings with 2 places
    ("85.50", "7.50"); `bank_number` is the worker's one number across the bank (its payroll number)."""

    timesheet_id = fields.Str(required=True)
    shift_id = fields.Str(required=True)
    worker_id = fields.Str(required=True)
    bank_number = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    organisation_id = fields.Str(required=True)
    site_id = fields.Str(required=True)
    hours = fields.Str(required=True)
    amount = fields.Str(required=True)


class TimesheetSubmitted(TimesheetFact):
    """timesheet.submitted: the booked worker claimed hours worked; priced, awaiting approval.
    `second_approval_required`: the overpayment guard asks for two different approvers;
    `resubmission_of`: the rejected timesheet of the same shift this one corrects, if any."""

    started_at = fields.Str(required=True)
    ended_at = fields.Str(required=True)
    break_minutes = fields.Int(required=True, strict=True)
    second_approval_required = fields.Bool(required=True)
    resubmission_of = fields.Str(required=True, allow_none=True)


class TimesheetApproved(TimesheetFact):
    """timesheet.approved: approved (by two different approvers when the overpayment guard asked);
    it will be paid by the next pay run of its bank whose period holds the shift's start."""

    approved_at = fields.Str(required=True)


class TimesheetRejected(TimesheetFact):
    """timesheet.rejected: not paid; the worker may submit a corrected timesheet for the shift."""

    reason = fields.Str(required=True)
    rejected_at = fields.Str(required=True)


class PayRunClosedLine(_Contract):
    """One timesheet paid. `rate` is the shift's hourly rate: with `pay_basis` "flat" the amount is
    hours x rate; with "banded" (a shift at its standard rate) each minute was paid at its band's
    card rate, so the amount follows the bands."""

    timesheet_id = fields.Str(required=True)
    shift_id = fields.Str(required=True)
    worker_id = fields.Str(required=True)
    bank_number = fields.Str(required=True)
    worker_name = fields.Str(required=True)
    site_id = fields.Str(required=True)
    shift_starts_at = fields.Str(required=True)
    hours = fields.Str(required=True)
    rate = fields.Str(required=True)
    amount = fields.Str(required=True)
    pay_basis = fields.Str(required=True)


class PayRunClosed(_Contract):
    """pay_run.closed: a bank's pay run over shifts starting from period_start to period_end
    (Europe/London dates, inclusive) closed, paying `lines`; `total` is the sum of their amounts.
    Every timesheet is paid in exactly one pay run."""

    pay_run_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    period_start = fields.Str(required=True)
    period_end = fields.Str(required=True)
    total = fields.Str(required=True)
    closed_at = fields.Str(required=True)
    lines = fields.List(fields.Nested(PayRunClosedLine), required=True)


PAYROLL_EVENTS = {
    ("rate_card.updated", 1): RateCardUpdated,
    ("timesheet.submitted", 1): TimesheetSubmitted,
    ("timesheet.approved", 1): TimesheetApproved,
    ("timesheet.rejected", 1): TimesheetRejected,
    ("pay_run.closed", 1): PayRunClosed,
}
