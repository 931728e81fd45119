"""Compliance's nameko entrypoints: validate, delegate (writes to use_cases, reads to queries),
return dicts. The gateway's route declarations decide who may call; this service checks nothing
per caller (an `actor_id` is only recorded)."""

from datetime import date

from nameko.dependency_providers import Config
from nameko.timer import timer

from chassis.clock import london_date, now
from chassis.errors import Invalid
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from compliance import queries, schemas, use_cases

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

    def _unknown_worker(self, worker_id):
        """Identity's record of a worker compliance has not heard of yet, else None.
        (Documents may be posted right after registration, before any event arrives.)"""
        if queries.is_known(self.db.session, worker_id):
            return None
        return self.identity.get_worker(worker_id)  # NotFound crosses as itself

    def _known_worker(self, worker_id):
        worker = self._unknown_worker(worker_id)
        if worker is not None:
            with self.db.unit_of_work() as uow:
                use_cases.save_profile(uow, worker)

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.on_worker_registered(uow, event)

    @domain_rpc
    def submit_document(self, worker_id, payload, actor_id):
        data = load_or_invalid(schemas.DocumentSubmission(), payload)
        worker = self._unknown_worker(worker_id)
        with self.db.unit_of_work() as uow:
            if worker is not None:
                use_cases.save_profile(uow, worker)
            return use_cases.submit_document(uow, worker_id, data, actor_id, _day())

    @domain_rpc
    def verify_document(self, document_id, payload, actor_id):
        data = load_or_invalid(schemas.Verification(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.verify_document(uow, document_id, data["outcome"], data["note"], actor_id,
                                             _day())

    @domain_rpc
    def list_documents(self, worker_id, query=None):
        data = load_or_invalid(PageQuery(), query or {})
        self._known_worker(worker_id)
        return queries.list_documents(self.db.session, worker_id, data["limit"], data["cursor"])

    @domain_rpc
    def get_compliance(self, worker_id, today=None):
        self._known_worker(worker_id)
        return queries.compliance_view(self.db.session, worker_id, _day(today))

    @domain_rpc
    def check_eligibility(self, worker_id, staff_type, on):
        """May this worker work `staff_type` on date `on`? With the reasons when not."""
        data = load_or_invalid(schemas.EligibilityQuery(), {"staff_type": staff_type, "on": on})
        self._known_worker(worker_id)
        return queries.eligibility(self.db.session, worker_id, data["staff_type"], data["on"])

    @domain_rpc
    def set_requirement(self, payload):
        data = load_or_invalid(schemas.RequirementUpdate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.set_requirement(uow, data["bank_id"], data["staff_type"], data["kinds"],
                                             _day())

    @domain_rpc
    def list_requirements(self, bank_id):
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
