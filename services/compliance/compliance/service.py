"""Compliance's nameko entrypoints: check the caller, validate, delegate (writes to use_cases, reads
to queries), return dicts.

RPCs that act for a caller take the gateway's `actor` (chassis.auth.Actor) and `scope_ids` (its
bank_admin grants' ids) as required arguments, and check them against the worker's or bank's own
record here (access.py), before the payload is even read. Those without a caller are asked by
services: `check_eligibility` (shifts, deciding a booking), `resolve_scope` (the gateway, deciding
where a request acts), the expiry sweep."""

from datetime import date

from nameko.dependency_providers import Config
from nameko.timer import timer

from chassis.clock import london_date, now
from chassis.errors import Invalid, NotFound
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from compliance import access, queries, schemas, use_cases

# Notices are per calendar day and sent once each, so sweeping hourly is safe and
# catches up within the hour after a restart; every replica may sweep at once.
SWEEP_INTERVAL_SECONDS = 3600


def _day(today=None):
    """The calendar day compliance judges by: London's today, or the day an operator names."""
    if not today:
        return london_date(now())
    return today if isinstance(today, date) else date.fromisoformat(today)


class ComplianceService(StaffbankService):
    name = "compliance"
    config = Config()
    identity = ServiceRpc("identity")

    def _worker(self, worker_id):
        """(bank_id, identity's record of the worker or None): compliance's profile of the worker, or
        identity's record when compliance has not heard of it yet (documents may be posted right
        after registration, before any event arrives; the caller saves it). NotFound if neither
        knows it."""
        if not isinstance(worker_id, str):
            raise NotFound("no such worker")
        bank_id = queries.known_bank(self.db.session, worker_id)
        if bank_id is not None:
            return bank_id, None
        worker = self.identity.get_worker(worker_id)  # NotFound crosses as itself
        return worker["bank_id"], worker

    def _reached_worker(self, worker_id, actor, scope_ids, as_worker=True):
        """Identity's record of a worker compliance had not heard of (None if it had), once the
        caller is known to reach the worker (access.py)."""
        actor, scope_ids = access.caller(actor, scope_ids)
        bank_id, unknown = self._worker(worker_id)
        access.check_reaches_worker(actor, scope_ids, worker_id, bank_id, as_worker=as_worker)
        return actor, unknown

    def _save_first_heard(self, worker):
        """Save identity's record of a worker compliance hears of for the first time (None: none)."""
        if worker is not None:
            with self.db.unit_of_work() as uow:
                use_cases.save_profile(uow, worker)

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.on_worker_registered(uow, event)

    @domain_rpc
    def submit_document(self, worker_id, payload, actor, scope_ids):
        """The worker itself or an admin of its bank submits one of its documents."""
        actor, unknown = self._reached_worker(worker_id, actor, scope_ids)
        data = load_or_invalid(schemas.DocumentSubmission(), payload)
        with self.db.unit_of_work() as uow:
            if unknown is not None:
                use_cases.save_profile(uow, unknown)
            return use_cases.submit_document(uow, worker_id, data, actor.user_id, _day())

    @domain_rpc
    def verify_document(self, document_id, payload, actor, scope_ids):
        """An admin of the document's bank verifies or rejects it (the worker does not: its own word
        is what is being checked)."""
        actor, scope_ids = access.caller(actor, scope_ids)
        place = queries.resolve_document(self.db.session, document_id) if isinstance(document_id, str) \
            else None
        if place is None:
            raise NotFound("no such document")
        access.check_reaches_worker(actor, scope_ids, place["worker_id"], place["bank_id"], as_worker=False)
        data = load_or_invalid(schemas.Verification(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.verify_document(uow, document_id, data["outcome"], data["note"], actor.user_id,
                                             _day())

    @domain_rpc
    def list_documents(self, worker_id, query, actor, scope_ids):
        self._save_first_heard(self._reached_worker(worker_id, actor, scope_ids)[1])
        data = load_or_invalid(PageQuery(), query)
        return queries.list_documents(self.db.session, worker_id, data["limit"], data["cursor"])

    @domain_rpc
    def get_compliance(self, worker_id, actor, scope_ids, today=None):
        self._save_first_heard(self._reached_worker(worker_id, actor, scope_ids)[1])
        return queries.compliance_view(self.db.session, worker_id, _day(today))

    @domain_rpc
    def check_eligibility(self, worker_id, staff_type, on):
        """May this worker work `staff_type` on date `on`? With the reasons when not. No caller: a
        service asks (shifts, deciding a booking on the worker's current compliance)."""
        data = load_or_invalid(schemas.EligibilityQuery(), {"staff_type": staff_type, "on": on})
        self._save_first_heard(self._worker(worker_id)[1])
        return queries.eligibility(self.db.session, worker_id, data["staff_type"], data["on"])

    @domain_rpc
    def check_eligibility_on_days(self, worker_id, staff_type, days):
        """check_eligibility for many days at once (ISO dates): {day: reasons, [] when eligible}.
        Shifts asks it for every day of the open shifts a worker may see (GET /v1/shifts/available),
        which cost a round trip per day."""
        data = load_or_invalid(schemas.EligibilityDaysQuery(), {"staff_type": staff_type, "days": days})
        self._save_first_heard(self._worker(worker_id)[1])
        return queries.eligibility_on_days(self.db.session, worker_id, data["staff_type"], data["days"])

    @domain_rpc
    def worker_eligibility(self, worker_id, staff_type, on, actor, scope_ids):
        """check_eligibility for a caller (GET /v1/workers/{id}/eligibility): an admin of its bank."""
        self._save_first_heard(self._reached_worker(worker_id, actor, scope_ids, as_worker=False)[1])
        data = load_or_invalid(schemas.EligibilityQuery(), {"staff_type": staff_type, "on": on})
        return queries.eligibility(self.db.session, worker_id, data["staff_type"], data["on"])

    @domain_rpc
    def set_requirement(self, payload, actor, scope_ids):
        """An admin of the bank names the kinds it requires of a staff type. The bank is the body's:
        the caller's grants are checked against it once it is read."""
        actor, scope_ids = access.caller(actor, scope_ids)
        data = load_or_invalid(schemas.RequirementUpdate(), payload)
        access.check_admin_of_bank(actor, scope_ids, data["bank_id"])
        with self.db.unit_of_work() as uow:
            return use_cases.set_requirement(uow, data["bank_id"], data["staff_type"], data["kinds"],
                                             _day())

    @domain_rpc
    def list_requirements(self, bank_id, actor, scope_ids):
        actor, scope_ids = access.caller(actor, scope_ids)
        access.check_admin_of_bank(actor, scope_ids, bank_id)
        return queries.list_requirements(self.db.session, bank_id)

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        if kind != "document":
            raise ValueError(f"compliance resolves documents, not {kind}")
        return queries.resolve_document(self.db.session, resource_id)

    @timer(interval=SWEEP_INTERVAL_SECONDS, eager=True)  # also at start: restarts never skip it
    def expiry_sweep(self):
        self._sweep(_day())

    @domain_rpc
    def run_expiry_sweep(self, today=None, future=False):
        """Warn at 30/14/1 days, expire lapsed documents, suspend by event. `today` lets
        operators (and tests) sweep as of another day; a day after today expires documents
        early and for good, so it needs `future=True`. The timer sweeps as of today."""
        day = _day(today)
        if day > _day() and not future:
            raise Invalid("sweeping as of a future day expires documents early; pass future=True",
                          errors={"today": ["Is in the future."]})
        return self._sweep(day)

    def _sweep(self, day):
        """{document_id: notice sent} for the documents due one on `day`."""
        done = {}
        for document_id in queries.documents_to_sweep(self.db.session, day):
            with self.db.unit_of_work() as uow:  # one per document: each is decided on its own
                notice = use_cases.sweep_document(uow, document_id, day)
            if notice is not None:
                done[document_id] = notice
        return done
