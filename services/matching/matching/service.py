"""Matching's nameko entrypoints: who may hear of an open shift, ranked.

A read model fed only by events (identity's workers and sites, compliance's clearance,
shifts' releases, bookings and groups), never by RPC to another service. When a shift opens to
a group (its priority group, the bank, an agency tier), and whenever a later fact lets another
worker take an open shift, matching publishes `matching.candidates_ranked` naming the workers
`GET /v1/shifts/available` would show it to and whose travel radius reaches the site, each
worker once per shift, best first.

Booking decisions never use this model (API.md "Consistency": booking asks identity and
compliance at that moment); it decides only who hears of what. Eligibility is shifts' own pure
rule (`shifts.domain.booking_refusals`), imported, so the two cannot disagree on the same facts.

Each handler applies its event in one unit of work (claimed in the inbox first): the model
change, the event's entry in matching's event log and anything it publishes commit together.
"""

import logging
from datetime import datetime

from chassis.clock import now
from chassis.errors import Invalid, NotFound
from chassis.handlers import event_handler
from chassis.rpc import domain_rpc
from chassis.service import StaffbankService
from matching import queries, use_cases

log = logging.getLogger(__name__)


def _moment(at):
    return datetime.fromisoformat(at) if at else now()


class MatchingService(StaffbankService):
    name = "matching"

    def _consume(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.consume(uow, event, now())

    # --- identity ---------------------------------------------------------------------

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):
        self._consume(event)

    @event_handler("identity", "worker.updated")
    def on_worker_updated(self, event):
        self._consume(event)

    @event_handler("identity", "worker.onboarding")
    def on_worker_onboarding(self, event):
        self._consume(event)

    @event_handler("identity", "worker.activated")
    def on_worker_activated(self, event):
        self._consume(event)

    @event_handler("identity", "worker.suspended")
    def on_worker_suspended(self, event):
        self._consume(event)

    @event_handler("identity", "worker.left")
    def on_worker_left(self, event):
        self._consume(event)

    @event_handler("identity", "site.created")
    def on_site_created(self, event):
        self._consume(event)

    # --- compliance -------------------------------------------------------------------

    @event_handler("compliance", "compliance.cleared")
    def on_compliance_cleared(self, event):
        self._consume(event)

    @event_handler("compliance", "compliance.uncleared")
    def on_compliance_uncleared(self, event):
        self._consume(event)

    @event_handler("compliance", "compliance.lapsed")
    def on_compliance_lapsed(self, event):
        self._consume(event)

    # --- shifts -----------------------------------------------------------------------

    @event_handler("shifts", "shift.published")
    def on_shift_published(self, event):
        self._consume(event)

    @event_handler("shifts", "shift.cascaded")
    def on_shift_cascaded(self, event):
        self._consume(event)

    @event_handler("shifts", "shift.booked")
    def on_shift_booked(self, event):
        self._consume(event)

    @event_handler("shifts", "shift.completed")
    def on_shift_completed(self, event):
        self._consume(event)

    @event_handler("shifts", "shift.cancelled")
    def on_shift_cancelled(self, event):
        self._consume(event)

    @event_handler("shifts", "priority_group.created")
    def on_priority_group_created(self, event):
        self._consume(event)

    # --- reads and operations ---------------------------------------------------------

    @domain_rpc
    def candidates(self, shift_id, at=None, only=None):
        """The shift's candidates now (or at `at`, ISO 8601), ranked, whether named yet or not:
        [] once it is booked, cancelled or started. NotFound while the model has no such shift.
        `only`: rank just these workers among themselves (a shift's applicants, for its coordinator)."""
        shift = queries.open_shift(self.db.session, shift_id)
        if shift is None:
            raise NotFound("no such shift (or its site is not known yet)")
        if only is not None and not (isinstance(only, list) and all(isinstance(i, str) for i in only)):
            raise Invalid("only must list worker ids", errors={"only": ["Not a list of ids."]})
        return queries.candidates(self.db.session, shift, _moment(at), only=only)

    @domain_rpc
    def worker_view(self, worker_id, at=None):
        found = queries.worker_view(self.db.session, worker_id, _moment(at))
        if found is None:
            raise NotFound("no such worker")
        return found

    @domain_rpc
    def shift_view(self, shift_id):
        found = queries.shift_view(self.db.session, shift_id)
        if found is None:
            raise NotFound("no such shift")
        return found

    @domain_rpc
    def rebuild(self):
        """Empty the read model and replay the event log (`python -m matching.rebuild`)."""
        with self.db.unit_of_work() as uow:
            return use_cases.rebuild(uow, now(), progress=lambda done, total: log.info(
                "matching rebuild: %d/%d events replayed", done, total))
