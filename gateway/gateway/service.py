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
from werkzeug.wrappers import Response

from chassis.config import ConfigError
from chassis.context import ContextData
from chassis.handlers import broadcast_handler
from chassis.rpc import ServiceRpc
from chassis.service import StaffbankService
from gateway.caches import GatewayCaches, principal_max_age
from gateway.http import Route
from gateway.idempotency import IdempotencyStore
from gateway.openapi import build_spec
from gateway.routes.compliance import ComplianceRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.notifications import NotificationRoutes
from gateway.routes.payroll import PayrollRoutes
from gateway.routes.portal import PortalRoutes
from gateway.routes.reporting import ReportingRoutes
from gateway.routes.shifts import ShiftRoutes

READINESS_TIMEOUT_SECONDS = 3
# Every service /readyz asks; each new service adds itself.
SERVICES = ("identity", "compliance", "shifts", "payroll", "matching", "notifications", "reporting")
# Who answers "where does this resource sit in the bank tree?" for each kind of id.
SCOPE_OWNERS = {"bank": "identity", "organisation": "identity", "site": "identity", "worker": "identity",
                "user": "identity",
                "document": "compliance", "shift": "shifts", "timesheet": "payroll", "pay_run": "payroll",
                "delivery": "notifications"}


class GatewayService(IdentityRoutes, ComplianceRoutes, ShiftRoutes, PayrollRoutes, NotificationRoutes,
                     ReportingRoutes, PortalRoutes, StaffbankService):
    name = "gateway"
    required_config = ("TOKEN_SIGNING_KEY",)  # checked at start (chassis.config.check_config)
    config = Config()
    identity = ServiceRpc("identity")
    compliance = ServiceRpc("compliance")
    shifts = ServiceRpc("shifts")
    payroll = ServiceRpc("payroll")
    matching = ServiceRpc("matching")
    notifications = ServiceRpc("notifications")
    reporting = ServiceRpc("reporting")
    itself = ServiceRpc("gateway")  # `/readyz?deep=0`: a round trip through the broker and back
    idempotency = IdempotencyStore()
    context_data = ContextData()
    caches = GatewayCaches()  # places and callers, remembered between requests (gateway/caches.py)

    @staticmethod
    def config_problems(config):
        try:
            principal_max_age(config)
        except ConfigError as exc:
            return [str(exc)]
        return []

    def resolve_scope(self, kind, resource_id):
        return self.caches.scopes.resolve(
            kind, resource_id, lambda k, i: getattr(self, SCOPE_OWNERS[k]).resolve_scope(k, i))

    def principal_of(self, user_id):
        """Who the token's subject is now (a dict), or None: identity's answer, at most
        PRINCIPAL_CACHE_SECONDS old (gateway/caches.py)."""
        return self.caches.principals.get(user_id, self.identity.get_principal)

    @broadcast_handler("identity", ("user.roles_changed", "user.deactivated"))
    def forget_changed_principal(self, event):
        """Another gateway (or this one) changed an account: its next request asks identity again."""
        self.caches.principals.forget(event.data["user_id"])

    # --- operations ----------------------------------------------------------------

    @Route.decorator("GET", "/healthz")
    def healthz(self, request):
        return Response('{"status": "ok"}', content_type="application/json")

    @Route.decorator("GET", "/readyz")
    def readyz(self, request):
        """Whether the platform can serve: the gateway's database and every service answering its
        health RPC (monitoring, `make run`, the demo and the soak wait for this one).

        `?deep=0` asks about this gateway process alone: its own database, and a health RPC to the
        gateway through the broker on this process's own connections (its publisher and its reply
        queue). Kubernetes' and compose's probes ask this (deploy/k8s, docker-compose.yml): a
        gateway whose readiness followed every service would leave the load balancer with all its
        replicas as soon as one service was down, and then answer nothing instead of 503 on that
        service's routes alone."""
        deep = request.args.get("deep", "1").strip().lower() not in ("0", "false", "no")
        probes = {"gateway": lambda: self.db.session.execute(sa.text("SELECT 1"))}
        if deep:
            probes.update({service: getattr(self, service).health for service in SERVICES})
        else:
            probes["broker"] = self.itself.health
        checks = {}
        for name, probe in probes.items():
            try:
                with eventlet.Timeout(READINESS_TIMEOUT_SECONDS):
                    probe()
                checks[name] = "ok"
            except (Exception, eventlet.Timeout) as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return Response(
            json.dumps({"status": "ready" if ready else "not ready", "checks": checks}),
            status=200 if ready else 503, content_type="application/json",
        )

    @Route.decorator("GET", "/v1/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(build_spec()), content_type="application/json")
