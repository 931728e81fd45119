"""The caller's notifications and preferences, and a bank's delivery log (notifications).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, schemas); the handler only translates and delegates by RPC. Everyone
signed in has an inbox and preferences (the service answers for the caller alone: whose
notification is whose is notifications/access.py's); bank admins read their bank's delivery log
and send a failed delivery again."""

from gateway.access import PathRef, QueryRef
from gateway.http import ANY_ROLE, route
from notifications import schemas as notification_schemas

ADMINS = ("bank_admin",)


class NotificationRoutes:
    @route("GET", "/v1/notifications", roles=ANY_ROLE, query=notification_schemas.NotificationQuery,
           response=notification_schemas.NotificationList, tags=["notifications"])
    def list_notifications(self, call):
        """The caller's inbox, newest first (`unread=true`: only unread; `unread_count` counts them)."""
        return self.notifications.list_notifications(call.query, call.actor_dict)

    @route("POST", "/v1/notifications/{id}/read", roles=ANY_ROLE, response=notification_schemas.Notification,
           tags=["notifications"])
    def read_notification(self, call):
        """Mark one of the caller's notifications read (another person's answers 404)."""
        return self.notifications.read_notification(call.path["id"], call.actor_dict)

    @route("GET", "/v1/notification-preferences", roles=ANY_ROLE,
           response=notification_schemas.Preferences, tags=["notifications"])
    def get_notification_preferences(self, call):
        """How the caller is told: email, in-app, quiet hours (defaults: email and in-app on)."""
        return self.notifications.get_preferences(call.actor_dict)

    @route("PUT", "/v1/notification-preferences", roles=ANY_ROLE, body=notification_schemas.PreferencesPut,
           response=notification_schemas.Preferences, tags=["notifications"])
    def put_notification_preferences(self, call):
        """Set the caller's channels and quiet hours (Europe/London; email waits until they end)."""
        return self.notifications.put_preferences(call.body, call.actor_dict)

    @route("GET", "/v1/notification-deliveries", roles=ADMINS, query=notification_schemas.DeliveryQuery,
           response=notification_schemas.DeliveryList, scope=QueryRef("bank_id", "bank"),
           tags=["notifications"])
    def list_notification_deliveries(self, call):
        """A bank's delivery log, newest first: each notification on each channel, with its status
        (pending, sent, failed; withdrawn when the worker left before it went), attempts and last error."""
        return self.notifications.list_deliveries(call.query)

    @route("POST", "/v1/notification-deliveries/{id}/resend", roles=ADMINS,
           response=notification_schemas.Delivery, scope=PathRef("id", "delivery"), tags=["notifications"],
           responses={409: "Only a failed delivery is sent again"})
    def resend_notification_delivery(self, call):
        """Send a failed delivery again, with a fresh count of attempts."""
        return self.notifications.resend_delivery(call.path["id"], call.actor_dict)
