"""Reporting's queries and reports, validated by the service and the gateway alike.

Every report takes the bank (`bank_id`) and answers JSON, or CSV with `format=csv` (the gateway
also answers CSV to `Accept: text/csv` when no format is given). `from`/`to` are optional
Europe/London dates (inclusive) filtering by shift start (API.md "Reports")."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.schemas import Id, StrictSchema, plausible_time
from reporting import domain

FORMATS = ("json", "csv")


class BankQuery(StrictSchema):
    bank_id = Id(required=True)
    format = fields.String(load_default=None, validate=validate.OneOf(FORMATS), metadata={
        "description": "csv: the report as a CSV download (one header row, UTF-8), also asked by "
                       "`Accept: text/csv`; json (the default) otherwise"})


class _Period(Schema):
    from_ = fields.Date(data_key="from", load_default=None, validate=plausible_time,
                        metadata={"description": "first day of shift starts (Europe/London), inclusive"})
    to = fields.Date(load_default=None, validate=plausible_time,
                     metadata={"description": "last day of shift starts (Europe/London), inclusive"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("Must not be before from.", "to")


class _Interval(Schema):
    interval = fields.String(load_default="week", validate=validate.OneOf(domain.INTERVALS),
                             metadata={"description": "London days, weeks (from Monday) or months"})


def _group_by(*extra):
    return fields.String(load_default="site", validate=validate.OneOf(domain.GROUPS + extra))


class PeriodQuery(_Period, BankQuery):
    pass


class GroupedQuery(_Period, BankQuery):
    group_by = _group_by()


class LateCancellationQuery(_Period, BankQuery):
    group_by = _group_by("worker")
    cancelled_by = fields.String(load_default=None, validate=validate.OneOf(("site", "worker")))


class SeriesQuery(_Interval, _Period, BankQuery):
    pass


class ChartQuery(_Interval, _Period, StrictSchema):
    bank_id = Id(required=True)


# --- reports (documentation of what the service answers) ------------------------------------

class _Group(StrictSchema):
    key = fields.String(metadata={"description": "the site or organisation id, or the staff type"})
    name = fields.String(allow_none=True)


class FillRateItem(_Group):
    posted = fields.Integer()
    filled = fields.Integer(metadata={"description": "booked or completed"})
    cancelled = fields.Integer()
    agency = fields.Integer(metadata={"description": "filled by a worker an agency supplies"})
    fill_rate = fields.Float(allow_none=True, metadata={"description": "filled / (posted - cancelled)"})
    hours_booked = fields.String(metadata={"description": "scheduled hours of the filled shifts"})


class FillRateReport(StrictSchema):
    items = fields.List(fields.Nested(FillRateItem))


class SeriesItem(StrictSchema):
    period_start = fields.Date()
    site_id = fields.String()
    name = fields.String(allow_none=True)
    posted = fields.Integer()
    filled = fields.Integer()
    cancelled = fields.Integer()
    fill_rate = fields.Float(allow_none=True)


class SeriesReport(StrictSchema):
    items = fields.List(fields.Nested(SeriesItem))


class SitrepItem(StrictSchema):
    organisation_id = fields.String()
    name = fields.String()
    rag = fields.String(validate=validate.OneOf(("red", "amber", "green")))
    coverage = fields.Float(allow_none=True)
    open_gaps = fields.Integer()
    reasons = fields.List(fields.String())


class SitrepReport(StrictSchema):
    items = fields.List(fields.Nested(SitrepItem))


class SpendItem(StrictSchema):
    organisation_id = fields.String()
    name = fields.String(allow_none=True)
    bank = fields.String(metadata={"description": "approved timesheets of bank workers"})
    agency = fields.String(metadata={"description": "approved timesheets of agency workers"})
    total = fields.String()
    hours = fields.String()
    paid = fields.String(metadata={"description": "of the total, paid by closed pay runs"})
    hours_paid = fields.String()


class SpendReport(StrictSchema):
    items = fields.List(fields.Nested(SpendItem))


class UtilisationItem(StrictSchema):
    site_id = fields.String()
    name = fields.String()
    staff_type = fields.String()
    registered = fields.Integer()
    eligible = fields.Integer()
    blocked_by = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "reason (missing:<kind>, expired:<kind>, not-active, out-of-range) -> workers"})


class UtilisationReport(StrictSchema):
    items = fields.List(fields.Nested(UtilisationItem))


class RateViolationItem(_Group):
    posted = fields.Integer()
    violations = fields.Integer(metadata={"description": "posted above their standard rate"})
    violation_rate = fields.Float(allow_none=True)
    filled = fields.Integer()
    cancelled = fields.Integer()
    premium = fields.String(metadata={"description": "(hourly_rate - standard_rate) x hours of those filled"})


class RateViolationReport(StrictSchema):
    items = fields.List(fields.Nested(RateViolationItem))


class TimeToFillItem(_Group):
    filled = fields.Integer(metadata={"description": "filled shifts measured (booked before their start)"})
    mean_hours = fields.String()
    median_hours = fields.String()
    max_hours = fields.String()


class TimeToFillReport(StrictSchema):
    items = fields.List(fields.Nested(TimeToFillItem))


class LateCancellationItem(_Group):
    cancelled = fields.Integer()
    late = fields.Integer(metadata={"description": "booked shifts cancelled inside 72 h of their start"})
    late_by_site = fields.Integer()
    late_by_worker = fields.Integer()
    median_notice_hours = fields.String(allow_none=True)


class LateCancellationReport(StrictSchema):
    items = fields.List(fields.Nested(LateCancellationItem))
