"""Documents, verification, requirements and eligibility (compliance).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, capacities, schemas); the handler only translates and delegates by RPC,
handing compliance the caller (`call.actor_dict`) and the ids its bank_admin grants cover
(`scope_ids`), which compliance checks again against the worker's own bank (compliance/access.py)."""

from chassis.schemas import PageQuery
from compliance import schemas as compliance_schemas
from gateway.access import BodyRef, PathRef, QueryRef
from gateway.http import route

ADMIN_ROLES = ("bank_admin",)
# In which capacities a caller acts over a worker or bank (chassis.auth.Actor; compliance/access.py).
ADMIN = {"admin": ADMIN_ROLES}
ADMIN_OR_WORKER = {**ADMIN, "worker": ("worker",)}


class ComplianceRoutes:
    @route("POST", "/v1/workers/{id}/documents", roles=("worker", "bank_admin"),
           body=compliance_schemas.DocumentSubmission, response=compliance_schemas.Document, status=201,
           scope=PathRef("id", "worker"), capacities=ADMIN_OR_WORKER, idempotent=True, tags=["compliance"])
    def submit_document(self, call):
        """Submit a pre-employment check or training record (the worker, or its bank's admin)."""
        return self.compliance.submit_document(call.path["id"], call.body, *self._caller(call))

    @route("GET", "/v1/workers/{id}/documents", roles=("worker", "bank_admin"), query=PageQuery,
           response=compliance_schemas.DocumentList, scope=PathRef("id", "worker"),
           capacities=ADMIN_OR_WORKER, tags=["compliance"])
    def list_documents(self, call):
        """Every document of a worker, renewed ones included, oldest first."""
        return self.compliance.list_documents(call.path["id"], call.query, *self._caller(call))

    @route("POST", "/v1/documents/{id}/verify", roles=("bank_admin",), body=compliance_schemas.Verification,
           response=compliance_schemas.Document, scope=PathRef("id", "document"), capacities=ADMIN,
           tags=["compliance"])
    def verify_document(self, call):
        """Verify or reject a submitted document."""
        return self.compliance.verify_document(call.path["id"], call.body, *self._caller(call))

    @route("GET", "/v1/workers/{id}/compliance", roles=("worker", "bank_admin"),
           response=compliance_schemas.Compliance, scope=PathRef("id", "worker"), capacities=ADMIN_OR_WORKER,
           tags=["compliance"])
    def get_compliance(self, call):
        """Where a worker's checks stand: cleared, pending or expired; missing and expiring kinds."""
        return self.compliance.get_compliance(call.path["id"], *self._caller(call))

    @route("GET", "/v1/workers/{id}/eligibility", roles=("bank_admin",),
           query=compliance_schemas.EligibilityQuery, response=compliance_schemas.Eligibility,
           scope=PathRef("id", "worker"), capacities=ADMIN, tags=["compliance"])
    def check_eligibility(self, call):
        """May this worker work a staff type on a date? With the reasons when not."""
        return self.compliance.worker_eligibility(call.path["id"], call.query["staff_type"],
                                                  call.query["on"].isoformat(), *self._caller(call))

    @route("PUT", "/v1/compliance-requirements", roles=("bank_admin",),
           body=compliance_schemas.RequirementUpdate, response=compliance_schemas.Requirement,
           scope=BodyRef("bank_id", "bank"), capacities=ADMIN, tags=["compliance"])
    def set_requirement(self, call):
        """Which checks a bank requires of a staff type (default: all seven)."""
        return self.compliance.set_requirement(call.body, *self._caller(call))

    @route("GET", "/v1/compliance-requirements", roles=("bank_admin",),
           query=compliance_schemas.RequirementQuery, response=compliance_schemas.RequirementList,
           scope=QueryRef("bank_id", "bank"), capacities=ADMIN, tags=["compliance"])
    def list_requirements(self, call):
        """A bank's requirements per staff type."""
        return self.compliance.list_requirements(call.query["bank_id"], *self._caller(call))

    @staticmethod
    def _caller(call):
        """(actor, scope_ids): the two arguments every compliance RPC acting for a caller requires."""
        return call.actor_dict, call.scope_ids(ADMIN_ROLES)
