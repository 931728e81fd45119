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


PAYROLL_EVENTS = {
    ("rate_card.updated", 1): RateCardUpdated,
}
