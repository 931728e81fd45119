"""Rate cards, timesheets, pay runs and exports (payroll).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, schemas); the handler only translates and delegates by RPC."""

from chassis.auth import STAFF_ROLES
from gateway.access import BodyRef, QueryRef
from gateway.http import route
from payroll import schemas as payroll_schemas


class PayrollRoutes:
    @route("PUT", "/v1/rate-cards", roles=("bank_admin",), body=payroll_schemas.RateCardPut,
           response=payroll_schemas.RateCard, scope=BodyRef("bank_id", "bank"), tags=["payroll"])
    def put_rate_card(self, call):
        """Set a bank's harmonised rates for a staff type and grade (day, night, weekend, bank holiday)."""
        return self.payroll.put_rate_card(call.body)

    @route("GET", "/v1/rate-cards", roles=STAFF_ROLES + ("hr_system",), query=payroll_schemas.RateCardQuery,
           response=payroll_schemas.RateCardList, scope=QueryRef("bank_id", "bank"), tags=["payroll"])
    def list_rate_cards(self, call):
        """A bank's rate cards."""
        return self.payroll.list_rate_cards(call.query["bank_id"])
