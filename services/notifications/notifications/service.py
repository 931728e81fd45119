"""Notifications' nameko entrypoints: tell people what concerns them (being built: issue 16)."""

from chassis.service import StaffbankService


class NotificationsService(StaffbankService):
    name = "notifications"
