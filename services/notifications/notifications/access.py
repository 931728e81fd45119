"""What notifications checks per caller, beyond the gateway's route declarations, and why.

The gateway lets any signed-in caller reach the inbox and preference routes (everyone has an
inbox), lets bank admins read their bank's delivery log (`bank_id` checked against their grants)
and re-send a failed delivery of their bank (the delivery's bank resolved by this service).
What only this service can see is whose a notification is: a person reads and marks only
their own, and another person's id answers 404, as if it did not exist (never confirming it does).
"""

from chassis.errors import NotFound


def check_own(actor, notification):
    """`notification` (None if unknown) must be the caller's own."""
    if notification is None or notification.user_id != actor.user_id:
        raise NotFound("no such notification")
