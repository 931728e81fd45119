import pytest

from payroll.service import PayrollService


@pytest.fixture
def payroll_config(service_config):
    return service_config(PayrollService)


@pytest.fixture
def payroll(run_service, payroll_config):
    """A running payroll service and an RPC proxy to it."""
    return run_service(PayrollService, payroll_config)


@pytest.fixture
def rate_card():
    """rate_card(bank_id, **fields) -> a valid rate card payload (day < night < weekend < bank holiday)."""

    def make(bank_id="bank-1", **overrides):
        return {
            "bank_id": bank_id, "staff_type": "nurse", "grade": "Band 5", "day_rate": "20.00",
            "night_rate": "25.00", "weekend_rate": "30.00", "bank_holiday_rate": "40.00", **overrides,
        }

    return make
