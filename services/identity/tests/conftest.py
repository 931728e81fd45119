import pytest

from chassis.runner import migrations_dir
from identity.service import IdentityService


@pytest.fixture
def identity_db(make_database):
    return make_database("identity", migrations_dir(IdentityService))


@pytest.fixture
def identity_config(make_config, identity_db):
    return make_config(identity_db)


@pytest.fixture
def identity(container_factory, identity_config):
    """A running identity service and an RPC proxy to it."""
    from nameko.standalone.rpc import ServiceRpcProxy

    container_factory(IdentityService, identity_config).start()
    with ServiceRpcProxy("identity", identity_config) as proxy:
        yield proxy


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
