"""The HTTP gateway: the only HTTP entry, holding no business data.

Why nameko's own HTTP entrypoint: each request runs as a nameko worker, so RPC
proxies, context propagation (the request id travels as the correlation id into
every RPC and event) and graceful shutdown come from the same machinery as every
other service; the web server is eventlet's, like the rest of the process.
"""

import json

import eventlet
import sqlalchemy as sa
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from chassis.auth import STAFF_ROLES
from chassis.context import ContextData
from chassis.schemas import PageQuery
from chassis.service import StaffbankService
from compliance import schemas as compliance_schemas
from gateway.access import BodyRef, GrantRefs, PathRef, QueryRef
from gateway.http import ANY_ROLE, Route, route
from gateway.idempotency import IdempotencyStore
from gateway.openapi import build_spec
from identity import schemas as identity_schemas

READINESS_TIMEOUT_SECONDS = 3
SERVICES = ("identity", "compliance")  # every service /readyz asks; each new service adds itself
# Who answers "where does this resource sit in the bank tree?" for each kind of id.
SCOPE_OWNERS = {"bank": "identity", "organisation": "identity", "site": "identity", "worker": "identity",
                "document": "compliance"}


class GatewayService(StaffbankService):
    name = "gateway"
    config = Config()
    identity = RpcProxy("identity")
    compliance = RpcProxy("compliance")
    idempotency = IdempotencyStore()
    context_data = ContextData()

    def resolve_scope(self, kind, resource_id):
        return getattr(self, SCOPE_OWNERS[kind]).resolve_scope(kind, resource_id)

    # --- operations ----------------------------------------------------------------

    @Route.decorator("GET", "/healthz")
    def healthz(self, request):
        return Response('{"status": "ok"}', content_type="application/json")

    @Route.decorator("GET", "/readyz")
    def readyz(self, request):
        checks = {}
        for service in ("gateway",) + SERVICES:
            try:
                with eventlet.Timeout(READINESS_TIMEOUT_SECONDS):
                    if service == "gateway":
                        self.db.session.execute(sa.text("SELECT 1"))
                    else:
                        getattr(self, service).health()
                checks[service] = "ok"
            except (Exception, eventlet.Timeout) as exc:
                checks[service] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return Response(
            json.dumps({"status": "ready" if ready else "not ready", "checks": checks}),
            status=200 if ready else 503, content_type="application/json",
        )

    @Route.decorator("GET", "/v1/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(build_spec()), content_type="application/json")

    # --- identity ------------------------------------------------------------------

    @route("POST", "/v1/auth/token", body=identity_schemas.LoginRequest,
           response=identity_schemas.TokenResponse, tags=["identity"])
    def issue_token(self, call):
        """Exchange email and password for a bearer token."""
        return self.identity.issue_token(call.body)

    @route("GET", "/v1/me", roles=ANY_ROLE, response=identity_schemas.User, tags=["identity"])
    def me(self, call):
        """The caller's account, role grants and worker id."""
        return call.principal.to_dict()

    @route("POST", "/v1/banks", roles=("platform_admin",), body=identity_schemas.BankCreate,
           response=identity_schemas.Bank, status=201, idempotent=True, tags=["identity"])
    def create_bank(self, call):
        """Create a bank."""
        return self.identity.create_bank(call.body)

    @route("POST", "/v1/organisations", roles=("bank_admin",), body=identity_schemas.OrganisationCreate,
           response=identity_schemas.Organisation, status=201, scope=BodyRef("bank_id", "bank"),
           idempotent=True, tags=["identity"])
    def create_organisation(self, call):
        """Create an organisation (trust, practice, hub or agency) in a bank."""
        return self.identity.create_organisation(call.body)

    @route("POST", "/v1/sites", roles=("bank_admin",), body=identity_schemas.SiteCreate,
           response=identity_schemas.Site, status=201, scope=BodyRef("organisation_id", "organisation"),
           idempotent=True, tags=["identity"])
    def create_site(self, call):
        """Create a site of an organisation."""
        return self.identity.create_site(call.body)

    @route("POST", "/v1/users", roles=("bank_admin",), body=identity_schemas.UserCreate,
           response=identity_schemas.User, status=201, scope=GrantRefs("roles"), idempotent=True,
           tags=["identity"])
    def create_user(self, call):
        """Create a staff account with role grants inside the caller's scope."""
        return self.identity.create_user(call.body)

    @route("POST", "/v1/workers", body=identity_schemas.WorkerRegistration, response=identity_schemas.Worker,
           status=201, idempotent=True, tags=["identity"])
    def register_worker(self, call):
        """A worker registers itself with a bank (no token needed)."""
        return self.identity.register_worker(call.body)

    @route("GET", "/v1/workers", roles=STAFF_ROLES, query=identity_schemas.WorkerListQuery,
           response=identity_schemas.WorkerList, tags=["identity"])
    def list_workers(self, call):
        """Workers of the banks the caller works in (staff at any site of a bank see its workers)."""
        scope_ids = call.principal.scope_ids(STAFF_ROLES)
        if scope_ids is not None:
            scope_ids = {kind: sorted(ids) for kind, ids in scope_ids.items()}
        return self.identity.list_workers(call.query, scope_ids)

    @route("GET", "/v1/workers/{id}", roles=STAFF_ROLES + ("worker",), response=identity_schemas.Worker,
           scope=PathRef("id", "worker"), tags=["identity"])
    def get_worker(self, call):
        """A worker's profile: the worker itself, or staff of its bank."""
        return self.identity.get_worker(call.path["id"])

    @route("PATCH", "/v1/workers/{id}", roles=("bank_admin",), body=identity_schemas.WorkerPatch,
           response=identity_schemas.Worker, scope=PathRef("id", "worker"), tags=["identity"])
    def update_worker(self, call):
        """Change a worker's extra grades, 48-hour opt-out or travel distance."""
        return self.identity.update_worker(call.path["id"], call.body)

    # --- compliance ----------------------------------------------------------------

    @route("POST", "/v1/workers/{id}/documents", roles=("worker", "bank_admin"),
           body=compliance_schemas.DocumentSubmission, response=compliance_schemas.Document, status=201,
           scope=PathRef("id", "worker"), idempotent=True, tags=["compliance"])
    def submit_document(self, call):
        """Submit a pre-employment check or training record (the worker, or its bank's admin)."""
        return self.compliance.submit_document(call.path["id"], call.body, call.principal.user_id)

    @route("GET", "/v1/workers/{id}/documents", roles=("worker", "bank_admin"), query=PageQuery,
           response=compliance_schemas.DocumentList, scope=PathRef("id", "worker"), tags=["compliance"])
    def list_documents(self, call):
        """Every document of a worker, renewed ones included, oldest first."""
        return self.compliance.list_documents(call.path["id"], call.query)

    @route("POST", "/v1/documents/{id}/verify", roles=("bank_admin",), body=compliance_schemas.Verification,
           response=compliance_schemas.Document, scope=PathRef("id", "document"), tags=["compliance"])
    def verify_document(self, call):
        """Verify or reject a submitted document."""
        return self.compliance.verify_document(call.path["id"], call.body, call.principal.user_id)

    @route("GET", "/v1/workers/{id}/compliance", roles=("worker", "bank_admin"),
           response=compliance_schemas.Compliance, scope=PathRef("id", "worker"), tags=["compliance"])
    def get_compliance(self, call):
        """Where a worker's checks stand: cleared, pending or expired; missing and expiring kinds."""
        return self.compliance.get_compliance(call.path["id"])

    @route("GET", "/v1/workers/{id}/eligibility", roles=("bank_admin", "rota_coordinator"),
           query=compliance_schemas.EligibilityQuery, response=compliance_schemas.Eligibility,
           scope=PathRef("id", "worker"), tags=["compliance"])
    def check_eligibility(self, call):
        """May this worker work a staff type on a date? With the reasons when not."""
        return self.compliance.check_eligibility(call.path["id"], call.query["staff_type"],
                                                 call.query["on"].isoformat())

    @route("PUT", "/v1/compliance-requirements", roles=("bank_admin",),
           body=compliance_schemas.RequirementUpdate, response=compliance_schemas.Requirement,
           scope=BodyRef("bank_id", "bank"), tags=["compliance"])
    def set_requirement(self, call):
        """Which checks a bank requires of a staff type (default: all seven)."""
        return self.compliance.set_requirement(call.body)

    @route("GET", "/v1/compliance-requirements", roles=("bank_admin",),
           query=compliance_schemas.RequirementQuery, response=compliance_schemas.RequirementList,
           scope=QueryRef("bank_id", "bank"), tags=["compliance"])
    def list_requirements(self, call):
        """A bank's requirements per staff type."""
        return self.compliance.list_requirements(call.query["bank_id"])
