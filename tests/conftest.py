"""Cross-service fixtures: every real service and the gateway, run in this test process on
the test's own vhost and databases, and an HTTP client for the gateway (`api`); plus
builders of a bank (`make_bank`, `hospital`) and of active, compliant workers."""

from dataclasses import dataclass
from datetime import date, timedelta

import eventlet
import pytest
import requests

from compliance.domain import KINDS
from compliance.service import ComplianceService
from gateway.service import GatewayService
from identity.service import IdentityService
from matching.service import MatchingService
from notifications.service import NotificationsService
from payroll.service import PayrollService
from reporting.service import ReportingService
from shifts.service import ShiftsService

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin-password-1"


class Api:
    """A thin HTTP client for the gateway: api.post("/v1/banks", {...}, token=t)."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method, path, json=None, token=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.base_url + path, json=json, headers=headers,
                                    timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def token(self, email, password):
        response = self.post("/v1/auth/token", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def created(self, path, body, token=None, **kwargs):
        response = self.post(path, body, token=token, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()


@dataclass
class Platform:
    """The running platform: `containers` and `configs` by service name (identity,
    compliance, shifts, payroll, matching, notifications, reporting, gateway)."""

    api: Api
    containers: dict
    configs: dict


# Every service the platform runs besides the gateway (started after them).
SERVICE_CLASSES = (IdentityService, ComplianceService, ShiftsService, PayrollService, MatchingService,
                   NotificationsService, ReportingService)


@pytest.fixture
def gateway_overrides():
    """Extra gateway config; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def service_overrides():
    """Extra config per service name (e.g. notifications' SMTP server); a test module overrides
    this fixture to change it."""
    return {}


@pytest.fixture
def platform(container_factory, service_config, free_port, gateway_overrides, service_overrides):
    """Every service and the gateway, each on its own test database, on this test's vhost."""
    configs = {cls.name: service_config(cls, **service_overrides.get(cls.name, {}))
               for cls in SERVICE_CLASSES[1:]}
    configs["identity"] = service_config(IdentityService, BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
                                         BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
                                         **service_overrides.get("identity", {}))
    configs["gateway"] = service_config(GatewayService, WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port}",
                                        **gateway_overrides)
    containers = {}
    for service_cls in SERVICE_CLASSES + (GatewayService,):
        containers[service_cls.name] = container_factory(service_cls, configs[service_cls.name])
        containers[service_cls.name].start()
    api = Api(f"http://127.0.0.1:{free_port}")
    _wait_for_admin(api)
    return Platform(api, containers, configs)


def _wait_for_admin(api):
    import eventlet

    for _ in range(100):
        if api.post("/v1/auth/token", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).ok:
            return
        eventlet.sleep(0.05)
    raise AssertionError("the bootstrap admin never appeared")


@pytest.fixture
def api(platform):
    return platform.api


@pytest.fixture
def admin(api):
    return api.token(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def make_bank(api, admin):
    """make_bank(name) -> {bank, organisation, site, bank_admin (token), coordinator (token)}."""
    counter = iter(range(1000))

    def make(name="North"):
        n = next(counter)
        bank = api.created("/v1/banks", {"name": f"{name} Bank"}, token=admin)
        org = api.created("/v1/organisations", {"bank_id": bank["id"], "name": f"{name} Trust",
                                                "kind": "trust", "ods_code": "RX1"}, token=admin)
        site = api.created("/v1/sites", {"organisation_id": org["id"], "name": f"{name} General",
                                         "latitude": 53.48, "longitude": -2.24, "postcode": "M1 1AA"},
                           token=admin)
        tokens = {}
        for role, scope_type, scope_id in (("bank_admin", "bank", bank["id"]),
                                           ("rota_coordinator", "site", site["id"])):
            email = f"{role}.{name.lower()}{n}@example.org"
            api.created("/v1/users", {"email": email, "password": "staff-password-1", "name": role,
                                      "roles": [{"role": role, "scope_type": scope_type,
                                                 "scope_id": scope_id}]}, token=admin)
            tokens[role] = api.token(email, "staff-password-1")
        return {"bank": bank, "organisation": org, "site": site,
                "bank_admin": tokens["bank_admin"], "coordinator": tokens["rota_coordinator"]}

    return make


@pytest.fixture
def worker_payload():
    def make(bank_id, email="ada@example.org", **overrides):
        return {"bank_id": bank_id, "email": email, "password": "worker-password-1",
                "name": "Ada Lovelace", "staff_type": "doctor", "grade": "ST3", "specialty": "A&E",
                "registration_body": "GMC", "registration_number": "7654321",
                "latitude": 53.45, "longitude": -2.2, "max_travel_km": 30, "opted_out_of_48h": False,
                **overrides}

    return make


CARD = {"day_rate": "50.00", "night_rate": "60.00", "weekend_rate": "70.00", "bank_holiday_rate": "90.00"}


@pytest.fixture
def hospital(api, make_bank):
    north = make_bank("North")
    card = api.put("/v1/rate-cards", {"bank_id": north["bank"]["id"], "staff_type": "doctor",
                                      "grade": "ST3", **CARD}, token=north["bank_admin"])
    assert card.status_code == 200, card.text
    return north


@pytest.fixture
def active_worker(api, worker_payload, platform):
    """active_worker(bank ctx, email, **registration overrides) -> (worker, token), fully compliant
    and active."""

    def make(ctx, email, **overrides):
        worker = api.created("/v1/workers", worker_payload(ctx["bank"]["id"], email=email,
                                                           registration_number=email.split("@")[0],
                                                           **overrides))
        token = api.token(email, "worker-password-1")
        for kind in KINDS:
            expires_on = (date.today() + timedelta(days=365)).isoformat()
            body = {"kind": kind, "reference": f"{email}-{kind}", "expires_on": expires_on}
            document = api.created(f"/v1/workers/{worker['id']}/documents", body, token=token)
            verified = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                                token=ctx["bank_admin"])
            assert verified.status_code == 200, verified.text
        for _ in range(200):
            if api.get(f"/v1/workers/{worker['id']}", token=token).json()["status"] == "active":
                return worker, token
            eventlet.sleep(0.05)
        raise AssertionError("worker never became active")

    return make


