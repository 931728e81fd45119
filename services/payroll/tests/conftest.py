import pytest

from chassis.runner import migrations_dir
from payroll.service import PayrollService


@pytest.fixture
def payroll_db(make_database):
    return make_database("payroll", migrations_dir(PayrollService))


@pytest.fixture
def payroll_config(make_config, payroll_db):
    return make_config(payroll_db)


@pytest.fixture
def payroll(container_factory, payroll_config):
    """A running payroll service and an RPC proxy to it."""
    from nameko.standalone.rpc import ServiceRpcProxy

    container_factory(PayrollService, payroll_config).start()
    with ServiceRpcProxy("payroll", payroll_config) as proxy:
        yield proxy


@pytest.fixture
def rate_card():
    """rate_card(bank_id, **fields) -> a valid rate card payload (day < night < weekend < bank holiday)."""

    def make(bank_id="bank-1", **overrides):
        return {
            "bank_id": bank_id, "staff_type": "nurse", "grade": "Band 5", "day_rate": "20.00",
            "night_rate": "25.00", "weekend_rate": "30.00", "bank_holiday_rate": "40.00", **overrides,
        }

    return make
