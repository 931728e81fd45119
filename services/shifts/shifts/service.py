"""Shifts' nameko entrypoints: fetch remote facts, validate, delegate, return dicts."""

from datetime import datetime
from zoneinfo import ZoneInfo

from nameko.rpc import RpcProxy
from nameko.timer import timer

from chassis.errors import Conflict, Forbidden, Invalid, NotFound
from chassis.handlers import event_handler
from chassis.rpc import domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from shifts import domain, schemas, use_cases
from shifts.models import Shift, Site

TIMER_SECONDS = 15  # priority windows, completions and automatic cascades are this punctual
LONDON = ZoneInfo("Europe/London")


def london_date(moment):
    """Compliance is judged per calendar day in Europe/London."""
    return moment.astimezone(LONDON).date()


class ShiftsService(StaffbankService):
    name = "shifts"
    identity = RpcProxy("identity")
    compliance = RpcProxy("compliance")
    payroll = RpcProxy("payroll")

    # --- remote facts, fetched before a transaction ---------------------------------

    def _site(self, site_id):
        site = self.db.session.get(Site, site_id)
        if site is not None:
            return {"id": site.id, "organisation_id": site.organisation_id, "bank_id": site.bank_id,
                    "latitude": site.latitude, "longitude": site.longitude}
        found = self.identity.get_site(site_id)
        if found is None:
            raise Invalid("no such site", errors={"site_id": ["Does not exist."]})
        return found

    def _candidate(self, worker_id, staff_type, on):
        """The worker as identity and compliance see it now (never an event-fed copy)."""
        try:
            worker = self.identity.get_worker(worker_id)
        except NotFound as exc:
            raise Invalid("no such worker", errors={"worker_id": ["Does not exist."]}) from exc
        eligibility = self.compliance.check_eligibility(worker_id, staff_type, on.isoformat())
        candidate = domain.Candidate(
            status=worker["status"], staff_type=worker["staff_type"],
            grades=frozenset([worker["grade"], *worker["extra_grades"]]),
            opted_out_of_48h=worker["opted_out_of_48h"], compliance_reasons=tuple(eligibility["reasons"]))
        return worker, candidate

    def _shift(self, shift_id):
        shift = self.db.session.get(Shift, shift_id)
        if shift is None:
            raise NotFound("no such shift")
        return shift

    # --- events ---------------------------------------------------------------------

    @event_handler("identity", "site.created")
    def on_site_created(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.save_site(uow.session, {**event.data, "id": event.data["site_id"]})

    # --- posting and release --------------------------------------------------------

    @domain_rpc
    def post_shift(self, payload, actor_id=None):
        data = load_or_invalid(schemas.ShiftCreate(), payload)
        site = self._site(data["site_id"])
        standard = self.payroll.standard_rate(site["bank_id"], data["staff_type"], data["grade"],
                                              data["starts_at"].isoformat(), data["ends_at"].isoformat())
        candidate = None
        if data.get("worker_id"):  # retrospective: compliance as it stands when recorded
            worker, candidate = self._candidate(data["worker_id"], data["staff_type"],
                                                london_date(use_cases.now()))
            if worker["bank_id"] != site["bank_id"]:
                raise Forbidden("that worker lies outside this bank")
        at = use_cases.now()
        with self.db.unit_of_work() as uow:
            use_cases.save_site(uow.session, site)
            shift = use_cases.post_shift(uow, data, site, standard, actor_id, at)
            if candidate is None:
                return use_cases.shift_view(shift)
            return use_cases.book(uow, shift.id, data["worker_id"], candidate, actor_id, at,
                                  complete_if_ended=True)

    @domain_rpc
    def publish_shift(self, shift_id, payload, actor_id=None):
        data = load_or_invalid(schemas.Publish(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.publish_shift(uow, shift_id, data, actor_id, use_cases.now())

    @domain_rpc
    def approve_shift(self, shift_id, payload, actor_id=None):
        data = load_or_invalid(schemas.Approval(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.approve_shift(uow, shift_id, data["reason"], actor_id, use_cases.now())

    @domain_rpc
    def cascade_shift(self, shift_id, payload, may_approve=False, actor_id=None):
        data = load_or_invalid(schemas.Cascade(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.cascade_shift(uow, shift_id, data["tier"], may_approve, actor_id,
                                           use_cases.now())

    @domain_rpc
    def cancel_shift(self, shift_id, payload, side="site", actor_id=None, worker_id=None):
        """`side`: site or worker; a worker may cancel only its own booking."""
        data = load_or_invalid(schemas.Cancellation(), payload)
        if side == "worker" and self._shift(shift_id).worker_id != worker_id:
            raise Forbidden("a worker may cancel only its own booking")
        with self.db.unit_of_work() as uow:
            return use_cases.cancel_shift(uow, shift_id, data["reason"], side, actor_id, use_cases.now())

    # --- applications and booking ---------------------------------------------------

    @domain_rpc
    def book_shift(self, shift_id, payload, actor_id=None, as_worker=None, as_agencies=None):
        """A coordinator books any worker of the bank; a worker (`as_worker` = its id) books
        itself on an instant-book shift where the site allows it; an agency (`as_agencies` =
        its organisation ids) books a worker on a shift cascaded to its tier."""
        data = load_or_invalid(schemas.Booking(), payload)
        shift = self._shift(shift_id)
        if as_agencies is not None:
            use_cases.check_agency_may_book(self.db.session, shift, as_agencies)
        if as_worker is not None:
            if data["worker_id"] != as_worker:
                raise Forbidden("a worker books only itself")
            if not (shift.instant_book and use_cases.policy_of(self.db.session, shift.site_id)
                    .instant_book_allowed):
                raise Forbidden("this shift is not instant-book: apply instead")
        worker, candidate = self._candidate(data["worker_id"], shift.staff_type, london_date(shift.starts_at))
        if worker["bank_id"] != shift.bank_id:
            raise Forbidden("that worker lies outside this bank")
        if as_agencies is not None and worker.get("agency_id") not in as_agencies:
            raise Forbidden("an agency books only its own workers")
        with self.db.unit_of_work() as uow:
            return use_cases.book(uow, shift_id, data["worker_id"], candidate, actor_id, use_cases.now())

    @domain_rpc
    def apply(self, shift_id, worker_id):
        shift = self._shift(shift_id)
        _, candidate = self._candidate(worker_id, shift.staff_type, london_date(shift.starts_at))
        with self.db.unit_of_work() as uow:
            return use_cases.apply(uow, shift_id, worker_id, candidate, use_cases.now())

    @domain_rpc
    def list_applications(self, shift_id, query=None):
        data = load_or_invalid(PageQuery(), query or {})
        self._shift(shift_id)
        return use_cases.list_applications(self.db.session, shift_id, data["limit"], data["cursor"])

    # --- reading --------------------------------------------------------------------

    @domain_rpc
    def get_shift(self, shift_id, for_worker=None):
        return use_cases.get_shift(self.db.session, shift_id, for_worker)

    @domain_rpc
    def shift_steps(self, shift_id):
        return use_cases.shift_steps(self.db.session, shift_id)

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        if kind != "shift":
            raise ValueError(f"shifts resolves shifts, not {kind}")
        return use_cases.resolve_shift(self.db.session, resource_id)

    @domain_rpc
    def list_shifts(self, query, scope_ids=None):
        data = load_or_invalid(schemas.ShiftQuery(), query)
        return use_cases.list_shifts(self.db.session, data, scope_ids)

    @domain_rpc
    def list_agency_shifts(self, query, organisation_ids, bank_ids):
        data = load_or_invalid(PageQuery(), query)
        return use_cases.list_agency_shifts(self.db.session, data, organisation_ids, bank_ids)

    @domain_rpc
    def put_agency_tier(self, organisation_id, payload):
        data = load_or_invalid(schemas.AgencyTierUpdate(), payload)
        scope = self.identity.resolve_scope("organisation", organisation_id)
        if scope is None:
            raise NotFound("no such organisation")
        with self.db.unit_of_work() as uow:
            return use_cases.put_agency_tier(uow, organisation_id, scope["bank_id"], data["tier"])

    @domain_rpc
    def list_rate_violations(self, query, scope_ids=None):
        data = load_or_invalid(schemas.RateViolationQuery(), query)
        return use_cases.list_rate_violations(self.db.session, data, scope_ids)

    @domain_rpc
    def available_shifts(self, worker_id, query):
        data = load_or_invalid(schemas.AvailableQuery(), query)
        worker = self.identity.get_worker(worker_id)
        verdicts = {}

        def candidate_for(starts_at):
            day = london_date(starts_at)
            if day not in verdicts:
                verdicts[day] = self._candidate(worker_id, worker["staff_type"], day)[1]
            return verdicts[day]

        return use_cases.available_shifts(self.db.session, worker, candidate_for, data, use_cases.now())

    # --- policies and priority groups -----------------------------------------------

    @domain_rpc
    def put_policy(self, site_id, payload):
        data = load_or_invalid(schemas.PolicyUpdate(), payload, partial=True)
        site = self._site(site_id)
        with self.db.unit_of_work() as uow:
            use_cases.save_site(uow.session, site)
            return use_cases.put_policy(uow, site_id, data)

    @domain_rpc
    def get_policy(self, site_id):
        return schemas.Policy().dump({"site_id": site_id,
                                      **use_cases.policy_of(self.db.session, site_id).__dict__})

    @domain_rpc
    def create_priority_group(self, payload):
        data = load_or_invalid(schemas.PriorityGroupCreate(), payload)
        scope = self.identity.resolve_scope("organisation", data["organisation_id"])
        if scope is None:
            raise Invalid("no such organisation", errors={"organisation_id": ["Does not exist."]})
        banks = self.identity.banks_of_workers(sorted(set(data["worker_ids"])))
        strangers = [w for w in sorted(set(data["worker_ids"])) if banks.get(w) != scope["bank_id"]]
        if strangers:
            raise Invalid("unknown workers",
                          errors={"worker_ids": [f"{w} is not in this bank." for w in strangers]})
        with self.db.unit_of_work() as uow:
            return use_cases.create_priority_group(uow, data, scope["bank_id"])

    # --- time -----------------------------------------------------------------------

    @timer(interval=TIMER_SECONDS)
    def move_shifts_on(self):
        self.run_timers()

    @domain_rpc
    def run_timers(self, at=None):
        """End priority windows, complete ended shifts, cascade where policy says. Safe on
        every replica: each move re-checks its shift under the row lock. `at` lets operators
        (and tests) run them as of another moment."""
        at = datetime.fromisoformat(at) if at else use_cases.now()
        windows, ended, cascades = use_cases.due(self.db.session, at)
        self.db.session.rollback()
        for move, shift_ids in ((use_cases.end_priority_window, windows),
                                (use_cases.complete_if_ended, ended), (use_cases.auto_cascade, cascades)):
            for shift_id in shift_ids:
                try:
                    with self.db.unit_of_work() as uow:
                        move(uow, shift_id, at)
                except Conflict:
                    continue  # someone else moved it first
