"""Payroll payloads, validated by the service and the gateway alike."""

from datetime import timedelta

from marshmallow import ValidationError, fields, validate, validates_schema

from chassis.schemas import Id, Money, StrictSchema, Text, plausible_time

MAX_SHIFT_LENGTH = timedelta(hours=24)


Rate = Money  # an hourly rate: positive, at most 10000, at most 2 decimal places


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
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at is None or ends_at is None:
            return
        if ends_at <= starts_at:
            raise ValidationError("Must be after starts_at.", "ends_at")
        if ends_at - starts_at > MAX_SHIFT_LENGTH:
            raise ValidationError("Must be at most 24 hours after starts_at.", "ends_at")


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
