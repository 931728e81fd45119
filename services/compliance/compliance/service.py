"""Compliance's nameko entrypoints: validate, delegate to use_cases, return dicts."""

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.timer import timer

from chassis.errors import Invalid
from chassis.handlers import event_handler
from chassis.rpc import domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from compliance import schemas, use_cases
from compliance.models import WorkerProfile

# Notices are per calendar day and sent once each, so sweeping hourly is safe and
# catches up within the hour after a restart; every replica may sweep at once.
SWEEP_INTERVAL_SECONDS = 3600


class ComplianceService(StaffbankService):
    name = "compliance"
    config = Config()
    identity = RpcProxy("identity")

    def _unknown_worker(self, worker_id):
        """Identity's record of a worker compliance has not heard of yet, else None.
        (Documents may be posted right after registration, before any event arrives.)"""
        if self.db.session.get(WorkerProfile, worker_id) is not None:
            return None
        return self.identity.get_worker(worker_id)  # NotFound crosses as itself

    def _known_worker(self, worker_id):
        worker = self._unknown_worker(worker_id)
        if worker is not None:
            with self.db.unit_of_work() as uow:
                use_cases.save_profile(uow.session, worker)

    @event_handler("identity", "worker.registered")
    def on_worker_registered(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.save_profile(uow.session, {**event.data, "id": event.data["worker_id"]})

    @domain_rpc
    def submit_document(self, worker_id, payload, actor_id=None):
        data = load_or_invalid(schemas.DocumentSubmission(), payload)
        worker = self._unknown_worker(worker_id)
        with self.db.unit_of_work() as uow:
            if worker is not None:
                use_cases.save_profile(uow.session, worker)
            return use_cases.submit_document(uow, worker_id, data, actor_id, use_cases.today())

    @domain_rpc
    def verify_document(self, document_id, payload, actor_id=None):
        data = load_or_invalid(schemas.Verification(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.verify_document(uow, document_id, data["outcome"], data["note"], actor_id,
                                             use_cases.today())

    @domain_rpc
    def list_documents(self, worker_id, query=None):
        data = load_or_invalid(PageQuery(), query or {})
        self._known_worker(worker_id)
        return use_cases.list_documents(self.db.session, worker_id, data["limit"], data["cursor"])

    @domain_rpc
    def get_compliance(self, worker_id, today=None):
        self._known_worker(worker_id)
        day = use_cases.as_date(today) if today else use_cases.today()
        return use_cases.compliance_view(self.db.session, worker_id, day)

    @domain_rpc
    def check_eligibility(self, worker_id, staff_type, on):
        """May this worker work `staff_type` on date `on`? With the reasons when not."""
        data = load_or_invalid(schemas.EligibilityQuery(), {"staff_type": staff_type, "on": on})
        self._known_worker(worker_id)
        return use_cases.eligibility(self.db.session, worker_id, data["staff_type"], data["on"])

    @domain_rpc
    def set_requirement(self, payload):
        data = load_or_invalid(schemas.RequirementUpdate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.set_requirement(uow, data["bank_id"], data["staff_type"], data["kinds"],
                                             use_cases.today())

    @domain_rpc
    def list_requirements(self, bank_id):
        return use_cases.list_requirements(self.db.session, bank_id)

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        if kind != "document":
            raise ValueError(f"compliance resolves documents, not {kind}")
        return use_cases.resolve_document(self.db.session, resource_id)

    @timer(interval=SWEEP_INTERVAL_SECONDS, eager=True)  # also at start: restarts never skip it
    def expiry_sweep(self):
        self.run_expiry_sweep()

    @domain_rpc
    def run_expiry_sweep(self, today=None, future=False):
        """Warn at 30/14/1 days, expire lapsed documents, suspend by event. `today` lets
        operators (and tests) sweep as of another day; a day after today expires documents
        early and for good, so it needs `future=True`. The timer sweeps as of today."""
        day = use_cases.as_date(today) if today else use_cases.today()
        if day > use_cases.today() and not future:
            raise Invalid("sweeping as of a future day expires documents early; pass future=True",
                          errors={"today": ["Is in the future."]})
        done = {}
        for document_id in use_cases.documents_to_sweep(self.db.session, day):
            self.db.session.rollback()
            with self.db.unit_of_work() as uow:
                notice = use_cases.sweep_document(uow, document_id, day)
            if notice is not None:
                done[document_id] = notice
        return done
