"""Shifts, release, booking, policies, priority groups, agencies (shifts).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, capacities, schemas); the handler only translates and delegates by
RPC. What the shifts service checks beyond these declarations, and why: shifts/access.py."""

from chassis.auth import APPROVERS, COORDINATORS, STAFF_ROLES
from chassis.errors import NotFound
from chassis.schemas import PageQuery
from gateway.access import BankPart, BodyRef, PathRef
from gateway.http import route
from shifts import schemas as shift_schemas

WORKER = ("worker",)
MATCH_FIELDS = ("rank", "worked_at_site", "worked_at_organisation")  # no distance: it locates a home
# In which capacities a caller acts over a shift (chassis.auth.Actor; shifts/access.py).
SITE = {"site": COORDINATORS}
AS_WORKER = {"worker": WORKER}
ADMINS = ("bank_admin",)  # a worker's own things are reached through a grant on its bank (API.md)


class ShiftRoutes:
    @route("POST", "/v1/shifts", roles=COORDINATORS, body=shift_schemas.ShiftCreate,
           response=shift_schemas.Shift, status=201, scope=BodyRef("site_id", "site"), capacities=SITE,
           idempotent=True, tags=["shifts"])
    def post_shift(self, call):
        """Post a shift (priced from the rate card unless hourly_rate is given); with worker_id and a
        past start, record cover already worked."""
        return self.shifts.post_shift(call.body, call.actor_dict)

    @route("GET", "/v1/shifts", roles=STAFF_ROLES, query=shift_schemas.ShiftQuery,
           response=shift_schemas.ShiftList, tags=["shifts"])
    def list_shifts(self, call):
        """Shifts at the sites in the caller's scope."""
        return self.shifts.list_shifts(call.query, call.scope_ids(STAFF_ROLES))

    @route("GET", "/v1/shifts/available", roles=WORKER, query=shift_schemas.AvailableQuery,
           response=shift_schemas.ShiftList, capacities=AS_WORKER, tags=["shifts"])
    def available_shifts(self, call):
        """Open shifts this worker may take now, nearest first, with distance_km."""
        return self.shifts.available_shifts(call.query, call.actor_dict)

    @route("GET", "/v1/shifts/{id}", roles=STAFF_ROLES + WORKER, response=shift_schemas.Shift,
           scope=PathRef("id", "shift"), capacities={"staff": STAFF_ROLES, **AS_WORKER}, tags=["shifts"])
    def get_shift(self, call):
        """One shift (to a worker: an open one, or its own)."""
        return self.shifts.get_shift(call.path["id"], call.actor_dict)

    @route("GET", "/v1/shifts/{id}/steps", roles=STAFF_ROLES, response=shift_schemas.StepList,
           scope=PathRef("id", "shift"), tags=["shifts"])
    def shift_steps(self, call):
        """Every step of a shift's life: posted, approved, released, cascaded, booked, cancelled..."""
        return self.shifts.shift_steps(call.path["id"])

    @route("POST", "/v1/shifts/{id}/publish", roles=COORDINATORS, body=shift_schemas.Publish,
           response=shift_schemas.Shift, scope=PathRef("id", "shift"), capacities=SITE, tags=["shifts"])
    def publish_shift(self, call):
        """Release a draft to a priority group for its window, or to the whole bank."""
        return self.shifts.publish_shift(call.path["id"], call.body, call.actor_dict)

    @route("POST", "/v1/shifts/{id}/approve", roles=APPROVERS, body=shift_schemas.Approval,
           response=shift_schemas.Shift, scope=PathRef("id", "shift"), capacities={"approver": APPROVERS},
           tags=["shifts"])
    def approve_shift(self, call):
        """Approve what the shift awaits (its rate, its release or its agency cascade), with a reason."""
        return self.shifts.approve_shift(call.path["id"], call.body, call.actor_dict)

    @route("POST", "/v1/shifts/{id}/reject", roles=APPROVERS, body=shift_schemas.ShiftRejection,
           response=shift_schemas.Shift, scope=PathRef("id", "shift"), capacities={"approver": APPROVERS},
           tags=["shifts"])
    def reject_shift(self, call):
        """Reject what the shift awaits, with a reason: a rate above the card cancels the shift, a
        release sends it back to draft, an agency cascade request is dropped (409 if it awaits nothing)."""
        return self.shifts.reject_shift(call.path["id"], call.body, call.actor_dict)

    @route("GET", "/v1/workers/{id}/shifts", roles=WORKER + ADMINS, query=shift_schemas.WorkerShiftQuery,
           response=shift_schemas.WorkerShiftList, scope=PathRef("id", "worker"),
           capacities={"admin": ADMINS, **AS_WORKER}, tags=["shifts"])
    def list_worker_shifts(self, call):
        """A worker's own shifts: those booked to it (any status) and those it applied to (with
        applied_at), soonest start first; for the worker itself and its bank's admins."""
        return self.shifts.list_worker_shifts(call.path["id"], call.query, call.actor_dict,
                                              call.scope_ids(ADMINS))

    @route("POST", "/v1/shifts/{id}/cascade", roles=COORDINATORS + ("timesheet_approver",),
           body=shift_schemas.Cascade, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           capacities={**SITE, "approver": APPROVERS}, tags=["shifts"])
    def cascade_shift(self, call):
        """Cascade an unfilled shift to agency tier N (approval needed unless the site waives it)."""
        return self.shifts.cascade_shift(call.path["id"], call.body, call.actor_dict)

    @route("POST", "/v1/shifts/{id}/cancel", roles=COORDINATORS + WORKER,
           body=shift_schemas.Cancellation, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           capacities={**SITE, **AS_WORKER}, tags=["shifts"])
    def cancel_shift(self, call):
        """Cancel with a reason, by the site or by the booked worker."""
        return self.shifts.cancel_shift(call.path["id"], call.body, call.actor_dict)

    @route("POST", "/v1/shifts/{id}/book", roles=COORDINATORS + WORKER + ("agency",),
           body=shift_schemas.Booking, response=shift_schemas.Shift, scope=PathRef("id", "shift"),
           capacities={**SITE, **AS_WORKER, "agency": ("agency",)}, tags=["shifts"])
    def book_shift(self, call):
        """Book a worker: a coordinator any worker of the bank; a worker itself on an instant-book
        shift; an agency a worker on a shift cascaded to its tier."""
        return self.shifts.book_shift(call.path["id"], call.body, call.actor_dict)

    @route("GET", "/v1/agency/shifts", roles=("agency",), query=PageQuery, response=shift_schemas.ShiftList,
           capacities={"agency": ("agency",)}, tags=["shifts"])
    def list_agency_shifts(self, call):
        """Shifts cascaded to the caller's agency tier, in its banks."""
        return self.shifts.list_agency_shifts(call.query, call.actor_dict)

    @route("PUT", "/v1/agencies/{id}/tier", roles=("bank_admin",), body=shift_schemas.AgencyTierUpdate,
           response=shift_schemas.AgencyTierSchema, scope=PathRef("id", "organisation"), tags=["shifts"])
    def put_agency_tier(self, call):
        """Place an agency organisation in its bank's cascade (tier N sees tiers 1..N)."""
        return self.shifts.put_agency_tier(call.path["id"], call.body)

    @route("POST", "/v1/shifts/{id}/applications", roles=WORKER,
           response=shift_schemas.ApplicationSchema, status=201, scope=PathRef("id", "shift"),
           capacities=AS_WORKER, tags=["shifts"])
    def apply(self, call):
        """A worker applies for an open shift."""
        return self.shifts.apply(call.path["id"], call.actor_dict)

    @route("GET", "/v1/shifts/{id}/applications", roles=STAFF_ROLES, query=PageQuery,
           response=shift_schemas.ApplicationList, scope=PathRef("id", "shift"), tags=["shifts"])
    def list_applications(self, call):
        """Who applied for a shift, in the order they applied, each with how matching ranks it among
        this page's applicants (`match`, null if matching would not offer it the shift now)."""
        page = self.shifts.list_applications(call.path["id"], call.query)
        try:  # matching advises (API.md "Consistency": it decides no booking): ask it of these workers
            ranked = self.matching.candidates(call.path["id"], None, [a["worker_id"] for a in page["items"]])
        except NotFound:  # matching has not heard of the shift yet
            ranked = []
        by_worker = {c["worker_id"]: c for c in ranked}
        for application in page["items"]:
            found = by_worker.get(application["worker_id"])
            application["match"] = None if found is None else {key: found[key] for key in MATCH_FIELDS}
        return page

    @route("PUT", "/v1/sites/{id}/policy", roles=("bank_admin",), body=shift_schemas.PolicyUpdate,
           response=shift_schemas.Policy, scope=PathRef("id", "site"), tags=["shifts"])
    def put_policy(self, call):
        """Change a site's approval, instant-book, priority window and cascade rules."""
        return self.shifts.put_policy(call.path["id"], call.body)

    @route("GET", "/v1/sites/{id}/policy", roles=STAFF_ROLES, response=shift_schemas.Policy,
           scope=PathRef("id", "site"), tags=["shifts"])
    def get_policy(self, call):
        """A site's policy."""
        return self.shifts.get_policy(call.path["id"])

    @route("POST", "/v1/priority-groups", roles=("bank_admin",), body=shift_schemas.PriorityGroupCreate,
           response=shift_schemas.PriorityGroup, status=201,
           scope=BodyRef("organisation_id", "organisation"), idempotent=True, tags=["shifts"])
    def create_priority_group(self, call):
        """A group of workers an organisation offers its shifts to first."""
        return self.shifts.create_priority_group(call.body)

    @route("GET", "/v1/priority-groups", roles=STAFF_ROLES, query=shift_schemas.PriorityGroupQuery,
           response=shift_schemas.PriorityGroupList, tags=["shifts"])
    def list_priority_groups(self, call):
        """Priority groups of the organisations in the caller's scope (a site's staff: its
        organisation's), oldest first; `organisation_id` filters (another's: an empty list)."""
        return self.shifts.list_priority_groups(call.query, call.scope_ids(STAFF_ROLES))

    @route("GET", "/v1/rate-violations", roles=("leadership", "bank_admin"),
           query=shift_schemas.RateViolationQuery, response=shift_schemas.RateViolationList,
           scope=BankPart("bank_id", "bank", roles=("leadership", "bank_admin")), tags=["shifts"])
    def list_rate_violations(self, call):
        """Every shift posted above its standard rate, with who approved it."""
        return self.shifts.list_rate_violations(call.query, call.scope_ids(("leadership", "bank_admin")))
