"""Notifications' nameko entrypoints: tell people what concerns them, and serve their inbox,
their preferences and the delivery log.

Every event handler does the same (`_handle`): ask identity, by RPC, what the event needs and
no event has brought yet, and who holds the roles it concerns (use_cases.ask_identity); then in
one unit of work (claimed in the inbox first) save that, work out who is told what and write
notifications and deliveries (use_cases.handle); the sender (sender.py) then sends what waits.
RPCs that act for a caller take the gateway's `actor` (chassis.auth.Actor) as a required
argument; whose notification is whose is access.py's."""

from chassis.auth import Actor
from chassis.clock import now
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.schemas import load_or_invalid
from chassis.service import StaffbankService
from notifications import queries, schemas, use_cases
from notifications.sender import Sender


class NotificationsService(StaffbankService):
    name = "notifications"
    identity = ServiceRpc("identity")
    sender = Sender()

    def _handle(self, event):
        """Ask identity what the event needs and is not known here, then in one unit of work
        (claimed in the inbox first) save it and tell whom the event concerns."""
        learnt = use_cases.ask_identity(self.identity, self.db.session, event)
        with self.db.unit_of_work() as uow:
            told = use_cases.handle(uow, event, learnt, self.sender.settings, now())
        if told:
            self.sender.wake()

    # --- identity: the bank tree and people ----------------------------------------

    @event_handler("identity", "bank.created")
    def on_bank_created(self, event):
        self._handle(event)

    @event_handler("identity", "organisation.created")
    def on_organisation_created(self, event):
        self._handle(event)

    @event_handler("identity", "site.created")
    def on_site_created(self, event):
        self._handle(event)

    @event_handler("identity", "user.created")
    def on_user_created(self, event):
        self._handle(event)

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):
        self._handle(event)

    @event_handler("identity", "worker.activated")
    def on_worker_activated(self, event):
        self._handle(event)

    @event_handler("identity", "worker.left")
    def on_worker_left(self, event):
        self._handle(event)

    # --- what happened to shifts, timesheets, documents -----------------------------

    @event_handler("matching", "matching.candidates_ranked")
    def on_candidates_ranked(self, event):
        self._handle(event)

    @event_handler("shifts", "shift.booked")
    def on_shift_booked(self, event):
        self._handle(event)

    @event_handler("shifts", "shift.cancelled")
    def on_shift_cancelled(self, event):
        self._handle(event)

    @event_handler("shifts", "shift.rate_violation")
    def on_rate_violation(self, event):
        self._handle(event)

    @event_handler("payroll", "timesheet.submitted")
    def on_timesheet_submitted(self, event):
        self._handle(event)

    @event_handler("payroll", "timesheet.approved")
    def on_timesheet_approved(self, event):
        self._handle(event)

    @event_handler("payroll", "timesheet.rejected")
    def on_timesheet_rejected(self, event):
        self._handle(event)

    @event_handler("compliance", "compliance.document_expiring")
    def on_document_expiring(self, event):
        self._handle(event)

    @event_handler("compliance", "compliance.lapsed")
    def on_document_lapsed(self, event):
        self._handle(event)

    # --- the caller's inbox and preferences ----------------------------------------

    @domain_rpc
    def list_notifications(self, query, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.NotificationQuery(), query or {})
        return queries.inbox(self.db.session, actor.user_id, data)

    @domain_rpc
    def read_notification(self, notification_id, actor):
        actor = Actor.from_dict(actor)
        with self.db.unit_of_work() as uow:
            return use_cases.mark_read(uow, actor, notification_id, now())

    @domain_rpc
    def get_preferences(self, actor):
        return queries.preferences_view(self.db.session, Actor.from_dict(actor).user_id)

    @domain_rpc
    def put_preferences(self, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.PreferencesPut(), payload)
        with self.db.unit_of_work() as uow:
            view = use_cases.put_preferences(uow, actor.user_id, data, now())
        self.sender.wake()
        return view

    # --- the delivery log ----------------------------------------------------------

    @domain_rpc
    def list_deliveries(self, query):
        """A bank's delivery log (the gateway has checked the caller's grant on `bank_id`)."""
        return queries.deliveries(self.db.session, load_or_invalid(schemas.DeliveryQuery(), query))

    @domain_rpc
    def resend_delivery(self, delivery_id, actor):
        """Send a failed delivery again (its attempts start afresh)."""
        Actor.from_dict(actor)
        with self.db.unit_of_work() as uow:
            view = use_cases.resend(uow, delivery_id, now())
        self.sender.wake()
        return view

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        if kind != "delivery":
            raise ValueError(f"notifications resolves deliveries, not {kind}")
        return queries.resolve_delivery(self.db.session, resource_id)
