"""Shifts' nameko entrypoints: fetch remote facts, validate, delegate, return dicts.

RPCs that act for a caller take the gateway's `actor` (chassis.auth.Actor) as a required
argument; what it may do is decided in access.py."""

from datetime import datetime

from nameko.timer import timer

from chassis.auth import Actor
from chassis.clock import london_date, now
from chassis.errors import Conflict, Forbidden, Invalid, NotFound
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from shifts import access, domain, queries, schemas, use_cases
from shifts.models import Shift

TIMER_SECONDS = 15  # priority windows, completions and automatic cascades are this punctual


class ShiftsService(StaffbankService):
    name = "shifts"
    identity = ServiceRpc("identity")
    compliance = ServiceRpc("compliance")
    payroll = ServiceRpc("payroll")

    # --- remote facts, fetched before a transaction ---------------------------------

    def _site(self, site_id):
        found = queries.site_of(self.db.session, site_id) or self.identity.get_site(site_id)
        if found is None:
            raise Invalid("no such site", errors={"site_id": ["Does not exist."]})
        return found

    def _candidate(self, worker_id, staff_type, on):
        """The worker as identity and compliance see it now (never an event-fed copy): both asked at
        once, so a booking waits for the slower answer, not for the sum."""
        asked_identity = self.identity.get_worker.call_async(worker_id)
        asked_compliance = self.compliance.check_eligibility.call_async(worker_id, staff_type, on.isoformat())
        try:
            worker = asked_identity.result()
        except NotFound as exc:
            raise Invalid("no such worker", errors={"worker_id": ["Does not exist."]}) from exc
        eligibility = asked_compliance.result()
        return worker, _candidate_of(worker, eligibility["reasons"])

    def _candidates_on(self, worker, days):
        """{day: the worker as a domain.Candidate, its compliance judged that day}, in one question to
        compliance however many days."""
        if not days:
            return {}
        reasons = self.compliance.check_eligibility_on_days(
            worker["id"], worker["staff_type"], sorted(day.isoformat() for day in days))
        return {day: _candidate_of(worker, reasons[day.isoformat()]) for day in days}

    def _shift(self, shift_id):
        shift = self.db.session.get(Shift, shift_id)
        if shift is None:
            raise NotFound("no such shift")
        return shift

    # --- events ---------------------------------------------------------------------

    @event_handler("identity", "site.created")
    def on_site_created(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.on_site_created(uow, event)

    # --- posting and release --------------------------------------------------------

    @domain_rpc
    def post_shift(self, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.ShiftCreate(), payload)
        site = self._site(data["site_id"])
        standard = self.payroll.standard_rate(site["bank_id"], data["staff_type"], data["grade"],
                                              data["starts_at"].isoformat(), data["ends_at"].isoformat())
        candidate = None
        if data.get("worker_id"):  # retrospective: compliance as it stands when recorded
            worker, candidate = self._candidate(data["worker_id"], data["staff_type"], london_date(now()))
            access.check_booked_worker(actor, "site", site["bank_id"], worker)
        at = now()
        with self.db.unit_of_work() as uow:
            shift = use_cases.post_shift(uow, data, site, standard, actor.user_id, at)
            if candidate is None:
                return queries.shift_view(shift)
            return use_cases.book(uow, shift.id, data["worker_id"], candidate, actor.user_id, at,
                                  complete_if_ended=True)

    @domain_rpc
    def publish_shift(self, shift_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Publish(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.publish_shift(uow, shift_id, data, actor.user_id, now())

    @domain_rpc
    def approve_shift(self, shift_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Approval(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.approve_shift(uow, shift_id, data["reason"], actor.user_id, now())

    @domain_rpc
    def reject_shift(self, shift_id, payload, actor):
        """Refuse what the shift awaits (domain.rejection): its rate, its release or its cascade."""
        actor = Actor.from_dict(actor)
        access.check_decides_approvals(actor)
        data = load_or_invalid(schemas.ShiftRejection(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.reject_shift(uow, shift_id, data["reason"], actor.user_id, now())

    @domain_rpc
    def cascade_shift(self, shift_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Cascade(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.cascade_shift(uow, shift_id, data["tier"], access.may_cascade_unapproved(actor),
                                           actor.user_id, now())

    @domain_rpc
    def cancel_shift(self, shift_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Cancellation(), payload)
        side = access.cancelling_side(actor, self._shift(shift_id))
        with self.db.unit_of_work() as uow:
            return use_cases.cancel_shift(uow, shift_id, data["reason"], side, actor.user_id, now())

    # --- applications and booking ---------------------------------------------------

    @domain_rpc
    def book_shift(self, shift_id, payload, actor):
        """A site books any worker of the bank, a worker itself, an agency its own (access.py)."""
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.Booking(), payload)
        shift = self._shift(shift_id)
        capacity = access.booking_capacity(actor)
        session = self.db.session
        access.check_booking(actor, capacity, shift, data["worker_id"],
                             queries.policy_of(session, shift.site_id).instant_book_allowed,
                             queries.agency_tier(session, actor.agency_ids, shift.bank_id)
                             if capacity == "agency" else None)
        worker, candidate = self._candidate(data["worker_id"], shift.staff_type, london_date(shift.starts_at))
        access.check_booked_worker(actor, capacity, shift.bank_id, worker)
        with self.db.unit_of_work() as uow:
            return use_cases.book(uow, shift_id, data["worker_id"], candidate, actor.user_id, now())

    @domain_rpc
    def apply(self, shift_id, actor):
        worker_id = access.acting_worker(Actor.from_dict(actor))
        shift = self._shift(shift_id)
        _, candidate = self._candidate(worker_id, shift.staff_type, london_date(shift.starts_at))
        with self.db.unit_of_work() as uow:
            return use_cases.apply(uow, shift_id, worker_id, candidate, now())

    @domain_rpc
    def list_applications(self, shift_id, query=None):
        data = load_or_invalid(PageQuery(), query or {})
        self._shift(shift_id)
        return queries.list_applications(self.db.session, shift_id, data["limit"], data["cursor"])

    # --- reading --------------------------------------------------------------------

    @domain_rpc
    def get_shift(self, shift_id, actor):
        for_worker = access.shift_seen_as_worker(Actor.from_dict(actor))
        return queries.get_shift(self.db.session, shift_id, for_worker)

    @domain_rpc
    def shift_facts(self, shift_id):
        """A shift as it stands now, for another service deciding on it (payroll: may this
        timesheet be submitted?); None if there is no such shift. No caller: a service asks."""
        try:
            return queries.get_shift(self.db.session, shift_id)
        except NotFound:
            return None

    @domain_rpc
    def shift_steps(self, shift_id):
        return queries.shift_steps(self.db.session, shift_id)

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        if kind != "shift":
            raise ValueError(f"shifts resolves shifts, not {kind}")
        return queries.resolve_shift(self.db.session, resource_id)

    @domain_rpc
    def list_shifts(self, query, scope_ids):
        data = load_or_invalid(schemas.ShiftQuery(), query)
        return queries.list_shifts(self.db.session, data, scope_ids)

    @domain_rpc
    def list_worker_shifts(self, worker_id, query, actor, scope_ids):
        """A worker's own shifts: booked to it or applied to (queries.list_worker_shifts), for the
        worker itself or its bank's admins (access.check_reaches_workers_shifts)."""
        actor = Actor.from_dict(actor)
        if not isinstance(worker_id, str):
            raise NotFound("no such worker")
        bank_id = None
        if actor.acts_as("admin"):
            try:
                bank_id = self.identity.get_worker(worker_id)["bank_id"]
            except NotFound:
                raise NotFound("no such worker") from None
        access.check_reaches_workers_shifts(actor, scope_ids, worker_id, bank_id)
        data = load_or_invalid(schemas.WorkerShiftQuery(), query)
        return queries.list_worker_shifts(self.db.session, worker_id, data)

    @domain_rpc
    def list_priority_groups(self, query, scope_ids):
        """Priority groups of the organisations the caller's staff grants reach (`scope_ids`, None
        for a platform grant): a site's staff see its organisation's groups."""
        if scope_ids is not None and not isinstance(scope_ids, dict):
            raise Forbidden("no scope: this call lists within the caller's grants and must say which")
        data = load_or_invalid(schemas.PriorityGroupQuery(), query)
        site_ids = sorted((scope_ids or {}).get("site") or [])
        known = queries.organisations_of_sites(self.db.session, site_ids)
        for site_id in site_ids:
            if site_id not in known:  # a site shifts has not heard of yet: identity knows it
                site = self.identity.get_site(site_id)
                if site is not None:
                    known[site_id] = site["organisation_id"]
        return queries.list_priority_groups(self.db.session, data, scope_ids, sorted(set(known.values())))

    @domain_rpc
    def list_agency_shifts(self, query, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(PageQuery(), query)
        return queries.list_agency_shifts(self.db.session, data, list(actor.agency_ids))

    @domain_rpc
    def put_agency_tier(self, organisation_id, payload):
        data = load_or_invalid(schemas.AgencyTierUpdate(), payload)
        scope = self.identity.resolve_scope("organisation", organisation_id)
        if scope is None:
            raise NotFound("no such organisation")
        with self.db.unit_of_work() as uow:
            return use_cases.put_agency_tier(uow, organisation_id, scope["bank_id"], data["tier"])

    @domain_rpc
    def worker_has_shift_at(self, worker_id, organisation_ids, site_ids):
        """Whether the worker applied to or was booked on a shift at one of `site_ids` or at a site of
        one of `organisation_ids` (the gateway asks for staff granted there, who then see the
        worker's public part). Both are required lists: the places are the question, so there is
        no "anywhere" (DESIGN.md rule 8)."""
        for name, ids in (("organisation_ids", organisation_ids), ("site_ids", site_ids)):
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise Forbidden(f"{name} must list the places asked about")
        if not isinstance(worker_id, str):
            raise Invalid("worker_id must be an id", errors={"worker_id": ["Not a valid string."]})
        return queries.worker_has_shift_at(self.db.session, worker_id, organisation_ids, site_ids)

    @domain_rpc
    def list_rate_violations(self, query, scope_ids):
        data = load_or_invalid(schemas.RateViolationQuery(), query)
        return queries.list_rate_violations(self.db.session, data, scope_ids)

    @domain_rpc
    def available_shifts(self, query, actor):
        worker_id = access.acting_worker(Actor.from_dict(actor))
        data = load_or_invalid(schemas.AvailableQuery(), query)
        worker = self.identity.get_worker(worker_id)
        return queries.available_shifts(self.db.session, worker,
                                        lambda days: self._candidates_on(worker, days), data, now())

    # --- policies and priority groups -----------------------------------------------

    @domain_rpc
    def put_policy(self, site_id, payload):
        data = load_or_invalid(schemas.PolicyUpdate(), payload, partial=True)
        site = self._site(site_id)
        with self.db.unit_of_work() as uow:
            return use_cases.put_policy(uow, site, data)

    @domain_rpc
    def get_policy(self, site_id):
        return queries.policy_view(self.db.session, site_id)

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
        """Each shift's move commits on its own here (a timer is not a call)."""
        self._move_shifts_on(now())

    @domain_rpc
    def run_timers(self, at=None):
        """The timers' moves as of `at` (operators and tests); in one transaction, as any call."""
        self._move_shifts_on(datetime.fromisoformat(at) if at else now())

    def _move_shifts_on(self, at):
        """End priority windows, complete ended shifts, cascade where policy says. Safe on
        every replica: each move re-checks its shift under the row lock."""
        for move, shift_ids in zip(use_cases.TIMER_MOVES, queries.due(self.db.session, at), strict=True):
            for shift_id in shift_ids:
                try:
                    with self.db.unit_of_work() as uow:
                        move(uow, shift_id, at)
                except Conflict:
                    continue  # someone else moved it first


def _candidate_of(worker, compliance_reasons):
    """identity's worker and compliance's reasons for a day as the domain's Candidate."""
    return domain.Candidate(
        status=worker["status"], staff_type=worker["staff_type"],
        grades=frozenset([worker["grade"], *worker["extra_grades"]]),
        opted_out_of_48h=worker["opted_out_of_48h"], compliance_reasons=tuple(compliance_reasons))
