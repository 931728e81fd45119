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
from chassis.errors import Forbidden
from chassis.schemas import PageQuery
from chassis.service import StaffbankService
from compliance import schemas as compliance_schemas
from gateway.access import BodyRef, GrantRefs, PathRef, QueryRef
from gateway.http import ANY_ROLE, Route, route
from gateway.idempotency import IdempotencyStore
from gateway.openapi import build_spec
from identity import schemas as identity_schemas
from payroll import schemas as payroll_schemas
from shifts import schemas as shift_schemas

READINESS_TIMEOUT_SECONDS = 3
# Every service /readyz asks; each new service adds itself.
SERVICES = ("identity", "compliance", "shifts", "payroll")
# Who answers "where does this resource sit in the bank tree?" for each kind of id.
SCOPE_OWNERS = {"bank": "identity", "organisation": "identity", "site": "identity", "worker": "identity",
                "document": "compliance", "shift": "shifts"}
COORDINATORS = ("rota_coordinator", "bank_admin")
APPROVERS = ("timesheet_approver", "bank_admin")


class GatewayService(StaffbankService):
    name = "gateway"
    config = Config()
    identity = RpcProxy("identity")
    compliance = RpcProxy("compliance")
    shifts = RpcProxy("shifts")
    payroll = RpcProxy("payroll")
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

    @route("GET", "/v1/workers/{id}/eligibility", roles=("bank_admin",),
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

    # --- shifts --------------------------------------------------------------------

    def _scope_ids(self, principal, roles):
        ids = principal.scope_ids(roles)
        return None if ids is None else {kind: sorted(values) for kind, values in ids.items()}

    @route("POST", "/v1/shifts", roles=COORDINATORS, body=shift_schemas.ShiftCreate,
           response=shift_schemas.Shift, status=201, scope=BodyRef("site_id", "site"), idempotent=True,
           tags=["shifts"])
    def post_shift(self, call):
        """Post a shift (priced from the rate card unless hourly_rate is given); with worker_id and a
        past start, record cover already worked."""
        return self.shifts.post_shift(call.raw_body, call.principal.user_id)

    @route("GET", "/v1/shifts", roles=STAFF_ROLES, query=shift_schemas.ShiftQuery,
           response=shift_schemas.ShiftList, tags=["shifts"])
    def list_shifts(self, call):
        """Shifts at the sites in the caller's scope."""
        return self.shifts.list_shifts(call.raw_query, self._scope_ids(call.principal, STAFF_ROLES))

    @route("GET", "/v1/shifts/available", roles=("worker",), query=shift_schemas.AvailableQuery,
           response=shift_schemas.ShiftList, tags=["shifts"])
    def available_shifts(self, call):
        """Open shifts this worker may take now, nearest first, with distance_km."""
        if call.principal.worker_id is None:
            raise Forbidden("only a worker has available shifts")
        return self.shifts.available_shifts(call.principal.worker_id, call.raw_query)

    @route("GET", "/v1/shifts/{id}", roles=STAFF_ROLES + ("worker",), response=shift_schemas.Shift,
           scope=PathRef("id", "shift"), tags=["shifts"])
    def get_shift(self, call):
        """One shift (to a worker: an open one, or its own)."""
        staff = call.principal.may(STAFF_ROLES, call.scopes[0])
        return self.shifts.get_shift(call.path["id"], None if staff else call.principal.worker_id)

    @route("GET", "/v1/shifts/{id}/steps", roles=STAFF_ROLES, response=shift_schemas.StepList,
           scope=PathRef("id", "shift"), tags=["shifts"])
    def shift_steps(self, call):
        """Every step of a shift's life: posted, approved, released, cascaded, booked, cancelled..."""
        return self.shifts.shift_steps(call.path["id"])

    @route("POST", "/v1/shifts/{id}/publish", roles=COORDINATORS, body=shift_schemas.Publish,
           response=shift_schemas.Shift, scope=PathRef("id", "shift"), tags=["shifts"])
    def publish_shift(self, call):
        """Release a draft to a priority group for its window, or to the whole bank."""
        return self.shifts.publish_shift(call.path["id"], call.raw_body, call.principal.user_id)

    @route("POST", "/v1/shifts/{id}/approve", roles=APPROVERS, body=shift_schemas.Approval,
           response=shift_schemas.Shift, scope=PathRef("id", "shift"), tags=["shifts"])
    def approve_shift(self, call):
        """Approve what the shift awaits (its rate, its release or its agency cascade), with a reason."""
        return self.shifts.approve_shift(call.path["id"], call.body, call.principal.user_id)

    @route("POST", "/v1/shifts/{id}/cascade", roles=COORDINATORS + ("timesheet_approver",),
           body=shift_schemas.Cascade, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           tags=["shifts"])
    def cascade_shift(self, call):
        """Cascade an unfilled shift to agency tier N (approval needed unless the site waives it)."""
        may_approve = call.principal.may(APPROVERS, call.scopes[0])
        return self.shifts.cascade_shift(call.path["id"], call.body, may_approve, call.principal.user_id)

    @route("POST", "/v1/shifts/{id}/cancel", roles=COORDINATORS + ("worker",),
           body=shift_schemas.Cancellation, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           tags=["shifts"])
    def cancel_shift(self, call):
        """Cancel with a reason, by the site or by the booked worker."""
        side = "site" if call.principal.may(COORDINATORS, call.scopes[0]) else "worker"
        return self.shifts.cancel_shift(call.path["id"], call.body, side, call.principal.user_id,
                                        call.principal.worker_id)

    @route("POST", "/v1/shifts/{id}/book", roles=COORDINATORS + ("worker", "agency"),
           body=shift_schemas.Booking, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           tags=["shifts"])
    def book_shift(self, call):
        """Book a worker: a coordinator any worker of the bank; a worker itself on an instant-book
        shift; an agency a worker on a shift cascaded to its tier."""
        principal, scope = call.principal, call.scopes[0]
        if principal.may(COORDINATORS, scope):
            return self.shifts.book_shift(call.path["id"], call.body, principal.user_id)
        if principal.worker_id is not None:
            return self.shifts.book_shift(call.path["id"], call.body, principal.user_id, principal.worker_id)
        agencies = [g.scope_id for g in principal.grants if g.role == "agency" and g.bank_id == scope.bank_id]
        return self.shifts.book_shift(call.path["id"], call.body, principal.user_id, None, agencies)

    @route("GET", "/v1/agency/shifts", roles=("agency",), query=PageQuery, response=shift_schemas.ShiftList,
           tags=["shifts"])
    def list_agency_shifts(self, call):
        """Shifts cascaded to the caller's agency tier, in its banks."""
        grants = [g for g in call.principal.grants if g.role == "agency"]
        return self.shifts.list_agency_shifts(call.raw_query, sorted({g.scope_id for g in grants}),
                                              sorted({g.bank_id for g in grants if g.bank_id}))

    @route("PUT", "/v1/agencies/{id}/tier", roles=("bank_admin",), body=shift_schemas.AgencyTierUpdate,
           response=shift_schemas.AgencyTierSchema, scope=PathRef("id", "organisation"), tags=["shifts"])
    def put_agency_tier(self, call):
        """Place an agency organisation in its bank's cascade (tier N sees tiers 1..N)."""
        return self.shifts.put_agency_tier(call.path["id"], call.body)

    @route("POST", "/v1/shifts/{id}/applications", roles=("worker",),
           response=shift_schemas.ApplicationSchema, status=201, scope=PathRef("id", "shift"),
           tags=["shifts"])
    def apply(self, call):
        """A worker applies for an open shift."""
        if call.principal.worker_id is None:
            raise Forbidden("only a worker applies")
        return self.shifts.apply(call.path["id"], call.principal.worker_id)

    @route("GET", "/v1/shifts/{id}/applications", roles=STAFF_ROLES, query=PageQuery,
           response=shift_schemas.ApplicationList, scope=PathRef("id", "shift"), tags=["shifts"])
    def list_applications(self, call):
        """Who applied for a shift."""
        return self.shifts.list_applications(call.path["id"], call.raw_query)

    @route("PUT", "/v1/sites/{id}/policy", roles=("bank_admin",), body=shift_schemas.PolicyUpdate,
           response=shift_schemas.Policy, scope=PathRef("id", "site"), tags=["shifts"])
    def put_policy(self, call):
        """Change a site's approval, instant-book, priority window and cascade rules."""
        return self.shifts.put_policy(call.path["id"], call.raw_body)

    @route("GET", "/v1/sites/{id}/policy", roles=STAFF_ROLES, response=shift_schemas.Policy,
           scope=PathRef("id", "site"), tags=["shifts"])
    def get_policy(self, call):
        """A site's policy."""
        return self.shifts.get_policy(call.path["id"])

    @route("POST", "/v1/priority-groups", roles=("bank_admin",), body=shift_schemas.PriorityGroupCreate,
           response=shift_schemas.PriorityGroup, status=201,
           scope=BodyRef("organisation_id", "organisation"), idempotent=True, tags=["shifts"])
    def create_priority_group(self, call):
        """A group of workers an organisation offers its shifts to first."""
        return self.shifts.create_priority_group(call.body)

    @route("GET", "/v1/rate-violations", roles=("leadership", "bank_admin"),
           query=shift_schemas.RateViolationQuery, response=shift_schemas.RateViolationList,
           scope=QueryRef("bank_id", "bank"), tags=["shifts"])
    def list_rate_violations(self, call):
        """Every shift posted above its standard rate, with who approved it."""
        return self.shifts.list_rate_violations(call.raw_query,
                                                self._scope_ids(call.principal, ("leadership", "bank_admin")))

    # --- payroll -------------------------------------------------------------------

    @route("PUT", "/v1/rate-cards", roles=("bank_admin",), body=payroll_schemas.RateCardPut,
           response=payroll_schemas.RateCard, scope=BodyRef("bank_id", "bank"), tags=["payroll"])
    def put_rate_card(self, call):
        """Set a bank's harmonised rates for a staff type and grade (day, night, weekend, bank holiday)."""
        return self.payroll.put_rate_card(call.raw_body)

    @route("GET", "/v1/rate-cards", roles=STAFF_ROLES + ("hr_system",), query=payroll_schemas.RateCardQuery,
           response=payroll_schemas.RateCardList, scope=QueryRef("bank_id", "bank"), tags=["payroll"])
    def list_rate_cards(self, call):
        """A bank's rate cards."""
        return self.payroll.list_rate_cards(call.query["bank_id"])
