"""Payroll's nameko entrypoints: fetch remote facts, validate, delegate, return dicts.

Every RPC that acts for a caller takes `actor` (a `chassis.auth.Actor` as a dict) as a required
argument; `Actor.from_dict` refuses a missing one. Lists also take the caller's grant scope
(`scope_ids`, None only for a platform grant), required for the same reason.
"""


from chassis.auth import Actor
from chassis.clock import now
from chassis.errors import Invalid, NotFound
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.schemas import load_or_invalid
from chassis.service import StaffbankService
from payroll import access, queries, schemas, use_cases


class PayrollService(StaffbankService):
    name = "payroll"
    shifts = ServiceRpc("shifts")
    identity = ServiceRpc("identity")

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

    # --- where things are -----------------------------------------------------------

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        """{bank_id, organisation_id, site_id} of a timesheet, {bank_id} of a pay run; None if unknown."""
        return queries.resolve_scope(self.db.session, kind, resource_id)

    # --- timesheets -----------------------------------------------------------------

    @domain_rpc
    def submit_timesheet(self, payload, actor):
        """The booked worker claims its hours on a completed shift, asked of shifts now (never an
        event-fed copy); the worker's bank number and name and the site's name from identity."""
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.TimesheetSubmit(), payload)
        shift = self.shifts.shift_facts(data["shift_id"])
        if shift is None:
            raise Invalid("no such shift", errors={"shift_id": ["Does not exist."]})
        access.check_may_submit(actor, shift)  # before asking anything about the worker
        # the worker and the site asked at once: the submission waits for the slower, not the sum
        asked_worker = self.identity.get_worker.call_async(shift["worker_id"])
        asked_site = self.identity.get_site.call_async(shift["site_id"])
        worker = self._worker(asked_worker)
        site = asked_site.result() or {"name": shift["site_id"]}
        with self.db.unit_of_work() as uow:
            return use_cases.submit_timesheet(uow, data, actor, shift, worker, site, now())

    @staticmethod
    def _worker(asked):
        """identity's answer to get_worker (a pending reply)."""
        try:
            return asked.result()
        except NotFound as exc:
            raise Invalid("the shift's worker is unknown",
                          errors={"shift_id": ["Its worker does not exist."]}) from exc

    @domain_rpc
    def approve_timesheet(self, timesheet_id, actor):
        actor = Actor.from_dict(actor)
        with self.db.unit_of_work() as uow:
            return use_cases.approve_timesheet(uow, timesheet_id, actor, now())

    @domain_rpc
    def reject_timesheet(self, timesheet_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Rejection(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.reject_timesheet(uow, timesheet_id, data["reason"], actor, now())

    @domain_rpc
    def get_timesheet(self, timesheet_id, actor):
        return queries.get_timesheet(self.db.session, timesheet_id, Actor.from_dict(actor))

    @domain_rpc
    def list_timesheets(self, query, actor, scope_ids):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.TimesheetQuery(), query)
        return queries.list_timesheets(self.db.session, data, actor, scope_ids)

    # --- pay runs -------------------------------------------------------------------

    @domain_rpc
    def create_pay_run(self, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.PayRunCreate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.create_pay_run(uow, data, actor, now())

    @domain_rpc
    def get_pay_run(self, pay_run_id, actor):
        return queries.get_pay_run(self.db.session, pay_run_id, Actor.from_dict(actor))

    @domain_rpc
    def list_pay_runs(self, query, actor, scope_ids):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.PayRunQuery(), query)
        return queries.list_pay_runs(self.db.session, data, actor, scope_ids)

    @domain_rpc
    def export_pay_run(self, pay_run_id, kind, actor):
        """{filename, content}: the pay run as CSV, kind "lines" (API.md) or "esr" (bank hours)."""
        actor = Actor.from_dict(actor)
        if kind not in ("lines", "esr"):
            raise Invalid("unknown export", errors={"kind": ["Must be lines or esr."]})
        return queries.export(self.db.session, pay_run_id, kind, actor)
