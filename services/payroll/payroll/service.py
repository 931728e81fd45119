"""Payroll's nameko entrypoints: validate, delegate to use_cases, return dicts."""

from chassis.rpc import domain_rpc
from chassis.schemas import load_or_invalid
from chassis.service import StaffbankService
from payroll import schemas, use_cases


class PayrollService(StaffbankService):
    name = "payroll"

    # --- rate cards -----------------------------------------------------------------

    @domain_rpc
    def put_rate_card(self, payload):
        data = load_or_invalid(schemas.RateCardPut(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.put_rate_card(uow, data)

    @domain_rpc
    def list_rate_cards(self, bank_id):
        data = load_or_invalid(schemas.RateCardQuery(), {"bank_id": bank_id})
        return use_cases.list_rate_cards(self.db.session, data["bank_id"])

    @domain_rpc
    def standard_rate(self, bank_id, staff_type, grade, starts_at, ends_at):
        """The standard rate of a shift (ISO 8601 times with offset): {band, rate, minutes_by_band, ...};
        Invalid when no card covers the staff type and grade."""
        data = load_or_invalid(schemas.StandardRateQuery(), {
            "bank_id": bank_id, "staff_type": staff_type, "grade": grade,
            "starts_at": starts_at, "ends_at": ends_at,
        })
        return use_cases.standard_rate(self.db.session, data["bank_id"], data["staff_type"], data["grade"],
                                       data["starts_at"], data["ends_at"])
