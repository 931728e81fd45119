"""Payroll payloads, validated by the service and the gateway alike."""

from datetime import timedelta

from marshmallow import ValidationError, fields, validate, validates_schema

from chassis.schemas import Id, Money, PageQuery, StrictInt, StrictSchema, Text, page_of, plausible_time
from payroll.domain import BANDS, FLAT, TIMESHEET_STATUSES

MAX_SHIFT_LENGTH = timedelta(hours=24)


Rate = Money  # an hourly rate: positive, at most 10000, at most 2 decimal places


def check_span(data, start, end):
    """`end` after `start` and at most 24 h later (a shift's bounds, API.md "Shifts"); the span,
    or None when either is missing (its own field reports that)."""
    starts_at, ends_at = data.get(start), data.get(end)
    if starts_at is None or ends_at is None:
        return None
    if ends_at <= starts_at:
        raise ValidationError(f"Must be after {start}.", end)
    if ends_at - starts_at > MAX_SHIFT_LENGTH:
        raise ValidationError(f"Must be at most 24 hours after {start}.", end)
    return ends_at - starts_at


def BankId(**kwargs):  # noqa: N802 - reads like a field class
    """A bank's id as identity mints it (and as payroll stores it)."""
    return Id(validate=validate.Length(min=1, max=36), **kwargs)


class RateCardPut(StrictSchema):
    bank_id = BankId(required=True)
    staff_type = Text(max_length=60, required=True)
    grade = Text(max_length=60, required=True)
    day_rate = Rate(required=True)
    night_rate = Rate(required=True)
    weekend_rate = Rate(required=True)
    bank_holiday_rate = Rate(required=True)


class RateCard(StrictSchema):
    bank_id = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    day_rate = Rate()
    night_rate = Rate()
    weekend_rate = Rate()
    bank_holiday_rate = Rate()
    updated_at = fields.DateTime()


class RateCardQuery(StrictSchema):
    bank_id = BankId(required=True)


class RateCardList(StrictSchema):
    items = fields.List(fields.Nested(RateCard))


class StandardRateQuery(StrictSchema):
    """A shift's times, for its standard rate; the same bounds as a shift (API.md "Shifts")."""

    bank_id = BankId(required=True)
    staff_type = Text(max_length=60, required=True)
    grade = Text(max_length=60, required=True)
    starts_at = fields.AwareDateTime(required=True, validate=plausible_time)
    ends_at = fields.AwareDateTime(required=True, validate=plausible_time)

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        check_span(data, "starts_at", "ends_at")


class MinutesByBand(StrictSchema):
    bank_holiday = fields.Integer()
    weekend = fields.Integer()
    night = fields.Integer()
    day = fields.Integer()


class StandardRate(StrictSchema):
    bank_id = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    band = fields.String(metadata={"enum": ["bank_holiday", "weekend", "night", "day"]})
    rate = Rate()
    minutes_by_band = fields.Nested(MinutesByBand)


# --- timesheets and pay runs -----------------------------------------------------------


def Amount(**kwargs):  # noqa: N802 - reads like a field class
    """Money or hours as shown (a decimal string with 2 places, "85.50"); output only."""
    return fields.Decimal(places=2, as_string=True, **kwargs)


def plausible_date(value):
    if not 2000 <= value.year <= 2100:
        raise ValidationError("Must be between the years 2000 and 2100.")


def whole_minute(value):
    if value.second or value.microsecond:
        raise ValidationError("Use whole minutes (seconds must be 0).")


class TimesheetSubmit(StrictSchema):
    """Hours worked on a completed shift. `hours` = ended_at - started_at - break_minutes."""

    shift_id = Id(required=True)
    started_at = fields.AwareDateTime(required=True, validate=[plausible_time, whole_minute])
    ended_at = fields.AwareDateTime(required=True, validate=[plausible_time, whole_minute])
    break_minutes = StrictInt(required=True, validate=validate.Range(min=0))

    @validates_schema
    def _times(self, data, **kwargs):
        worked = check_span(data, "started_at", "ended_at")
        if worked is not None and data.get("break_minutes") is not None and \
                data["break_minutes"] >= worked // timedelta(minutes=1):
            raise ValidationError("Must be less than the time worked.", "break_minutes")


class Rejection(StrictSchema):
    reason = Text(max_length=1000, required=True)


class PayElement(StrictSchema):
    """Part of a timesheet's pay: a band (bank_holiday, weekend, night, day) or flat."""

    element = fields.String(metadata={"enum": [*BANDS, FLAT]})
    minutes = fields.Integer()
    hours = Amount()
    rate = Amount()
    amount = Amount()


class TimesheetApproval(StrictSchema):
    approver_id = fields.String()
    approved_at = fields.DateTime()


class Timesheet(StrictSchema):
    id = fields.String()
    shift_id = fields.String()
    worker_id = fields.String()
    bank_number = fields.String()
    worker_name = fields.String()
    bank_id = fields.String()
    organisation_id = fields.String()
    site_id = fields.String()
    site_name = fields.String()
    status = fields.String(metadata={"enum": list(TIMESHEET_STATUSES)})
    awaiting = fields.String(allow_none=True, metadata={
        "enum": ["approval", "second_approval", None],
        "description": "what a submitted timesheet waits for: second_approval when the overpayment "
                       "guard asks for a second, different approver"})
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    break_minutes = fields.Integer()
    hours = Amount()
    amount = Amount()
    pay_basis = fields.String(metadata={"enum": ["banded", FLAT]})
    rate = Amount(metadata={"description": "the shift's hourly rate (its standard rate when banded)"})
    elements = fields.List(fields.Nested(PayElement))
    shift_starts_at = fields.DateTime()
    shift_ends_at = fields.DateTime()
    scheduled_hours = Amount()
    second_approval_required = fields.Boolean()
    approvals = fields.List(fields.Nested(TimesheetApproval))
    approved_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    rejected_by = fields.String(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    resubmission_of = fields.String(allow_none=True)
    pay_run_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TimesheetQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(TIMESHEET_STATUSES))
    awaiting = fields.String(load_default=None, validate=validate.OneOf(["approval", "second_approval"]))
    site_id = Id(load_default=None)
    worker_id = Id(load_default=None)
    shift_id = Id(load_default=None)


TimesheetList = page_of(Timesheet, "TimesheetList")


class PayRunCreate(StrictSchema):
    """Pay every approved, unpaid timesheet of shifts starting from period_start to period_end
    (inclusive, Europe/London dates)."""

    bank_id = BankId(required=True)
    period_start = fields.Date(required=True, validate=plausible_date)
    period_end = fields.Date(required=True, validate=plausible_date)

    @validates_schema
    def _period(self, data, **kwargs):
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            raise ValidationError("Must be on or after period_start.", "period_end")


class PayRunLine(StrictSchema):
    timesheet_id = fields.String()
    shift_id = fields.String()
    worker_id = fields.String()
    bank_number = fields.String()
    worker_name = fields.String()
    site_id = fields.String()
    site_name = fields.String()
    shift_starts_at = fields.DateTime()
    hours = Amount()
    rate = Amount(metadata={"description": "the shift's hourly rate (its standard rate when banded)"})
    amount = Amount()
    pay_basis = fields.String(metadata={"enum": ["banded", FLAT]})


class PayRun(StrictSchema):
    id = fields.String()
    bank_id = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    status = fields.String(metadata={"enum": ["closed"]})
    total = Amount()
    line_count = fields.Integer()
    lines = fields.List(fields.Nested(PayRunLine))
    created_by = fields.String()
    created_at = fields.DateTime()
    closed_at = fields.DateTime()


class PayRunSummary(PayRun):
    class Meta:
        exclude = ("lines",)


class PayRunQuery(PageQuery):
    bank_id = BankId(required=True)


PayRunList = page_of(PayRunSummary, "PayRunList")
