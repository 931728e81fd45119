import pytest

from identity.service import IdentityService


@pytest.fixture
def identity_config(service_config):
    return service_config(IdentityService)


@pytest.fixture
def identity(run_service, identity_config):
    """A running identity service and an RPC proxy to it."""
    return run_service(IdentityService, identity_config)


@pytest.fixture
def registration():
    """registration(bank_id, email=..., **fields) -> a valid worker registration payload."""

    def make(bank_id, email="nurse@example.org", **overrides):
        return {
            "bank_id": bank_id, "email": email, "password": "correct horse battery",
            "name": "Ada Nurse", "staff_type": "nurse", "grade": "Band 5",
            "latitude": 53.48, "longitude": -2.24, **overrides,
        }

    return make
