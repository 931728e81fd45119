"""Notifications payloads, validated by the service and the gateway alike."""

from marshmallow import ValidationError, fields, validate, validates_schema

from chassis.schemas import Id, PageQuery, StrictBool, StrictSchema, page_of
from notifications import domain

CLOCK = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use HH:MM (00:00 to 23:59).")


class QuietHours(StrictSchema):
    """Europe/London wall-clock times; a start after the end runs overnight (22:00 to 07:00)."""

    start = fields.String(required=True, validate=CLOCK)
    end = fields.String(required=True, validate=CLOCK)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data.get("start") is not None and data.get("start") == data.get("end"):
            raise ValidationError("start and end must differ.", "end")


class PreferencesPut(StrictSchema):
    email = StrictBool(required=True)
    in_app = StrictBool(required=True)
    quiet_hours = fields.Nested(QuietHours, load_default=None, allow_none=True)
    sms = StrictBool(load_default=False)
    push = StrictBool(load_default=False)


class Preferences(StrictSchema):
    email = fields.Boolean()
    in_app = fields.Boolean()
    quiet_hours = fields.Nested(QuietHours, allow_none=True)
    sms = fields.Boolean()
    push = fields.Boolean()


class NotificationQuery(PageQuery):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread notifications"})
    type = fields.String(load_default=None, validate=validate.Length(min=1, max=60))


class Notification(StrictSchema):
    id = fields.String()
    type = fields.String()
    title = fields.String()
    body = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationList(StrictSchema):
    items = fields.List(fields.Nested(Notification))
    next_cursor = fields.String(allow_none=True)
    unread_count = fields.Integer()


class DeliveryQuery(PageQuery):
    bank_id = Id(required=True)
    status = fields.String(load_default=None, validate=validate.OneOf(domain.DELIVERY_STATUSES))
    channel = fields.String(load_default=None, validate=validate.OneOf(domain.CHANNELS))
    user_id = Id(load_default=None)


class Delivery(StrictSchema):
    id = fields.String()
    notification_id = fields.String()
    user_id = fields.String()
    bank_id = fields.String(allow_none=True)
    type = fields.String()
    channel = fields.String()
    address = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    held_for_digest = fields.Boolean()
    digest_id = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


DeliveryList = page_of(Delivery, "DeliveryList")
