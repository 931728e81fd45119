"""Events published by notifications on `notifications.events`."""

from marshmallow import RAISE, Schema, fields


class _Contract(Schema):
    class Meta:
        unknown = RAISE


class NotificationDelivered(_Contract):
    """notification.delivered: one notification reached one person on one channel."""

    notification_id = fields.Str(required=True)
    user_id = fields.Str(required=True)
    type = fields.Str(required=True)  # e.g. shift.available
    channel = fields.Str(required=True)  # in_app | email | sms | push
    delivered_at = fields.Str(required=True)


NOTIFICATION_EVENTS = {
    ("notification.delivered", 1): NotificationDelivered,
}
