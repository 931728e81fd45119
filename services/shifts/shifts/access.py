"""Who may do what to a shift: the checks this service makes, and why.

Two places decide access, each for what only it can know:

- The gateway, per route (`gateway/routes/shifts.py`): the roles that may call at all, the
  scope the caller must hold them over (the shift's site, the body's site...), and the
  capacities in which the caller acts over the shift, handed over as a `chassis.auth.Actor`:
    `site`      rota_coordinator or bank_admin over the shift's site
    `approver`  timesheet_approver or bank_admin over the shift's site
    `staff`     any staff role over the shift's site
    `worker`    a worker of the shift's bank (acting for itself)
    `agency`    an agency user of the shift's bank (`actor.agency_ids`: its organisations)
  and over a worker (`GET /v1/workers/{id}/shifts`):
    `admin`     bank_admin (or platform_admin) over the worker's bank
    `worker`    the caller is a worker (which one: `actor.worker_id`)
- This module: the rules that depend on the shift or the worker, which the gateway cannot see.

Every function raises Forbidden (403), or NotFound (404) where a shift must stay unseen.
"""

from chassis.auth import worker_bank_ids
from chassis.errors import Forbidden, NotFound
from shifts import domain


def booking_capacity(actor):
    """Who books: a site books any worker of the bank; otherwise a worker books itself and
    an agency books its own workers. The widest capacity the caller holds wins."""
    for capacity in ("site", "worker", "agency"):
        if actor.acts_as(capacity):
            return capacity
    raise Forbidden("you may not book this shift")


def check_booking(actor, capacity, shift, worker_id, instant_book_allowed, agency_tier):
    """Before the worker is even looked up: may this caller book `worker_id` on `shift`?

    - a worker books only itself, and only on an instant-book shift at a site that allows it
      (otherwise it applies and a coordinator chooses);
    - an agency sees only shifts cascaded to its tier or lower (anything else is as if it did
      not exist: 404), and `check_booked_worker` then limits it to its own workers.
    """
    if capacity == "worker":
        if worker_id != actor.worker_id:
            raise Forbidden("a worker books only itself")
        if not (shift.instant_book and instant_book_allowed):
            raise Forbidden("this shift is not instant-book: apply instead")
    if capacity == "agency" and (agency_tier is None or not domain.open_to_agency(
            shift.status, domain.Release(shift.release_stage, agency_tier=shift.agency_tier), agency_tier)):
        raise NotFound("no such shift")


def check_booked_worker(actor, capacity, shift_bank_id, worker):
    """Once the worker is known: only workers of the shift's bank, and an agency's own."""
    if worker["bank_id"] != shift_bank_id:
        raise Forbidden("that worker lies outside this bank")
    if capacity == "agency" and worker.get("agency_id") not in actor.agency_ids:
        raise Forbidden("an agency books only its own workers")


def cancelling_side(actor, shift):
    """The site cancels any shift of its own; a worker only the shift booked to it. The side
    is recorded: a late cancellation counts against it (DESIGN.md "Cancellations")."""
    if actor.acts_as("site"):
        return "site"
    if actor.acts_as("worker") and shift.worker_id == actor.worker_id:
        return "worker"
    raise Forbidden("a worker may cancel only its own booking")


def may_cascade_unapproved(actor):
    """An approver's cascade needs no second approval; a coordinator's waits for one where
    the site's policy asks for it."""
    return actor.acts_as("approver")


def shift_seen_as_worker(actor):
    """Staff of the site see every shift; a worker only open ones and its own (its id is
    returned so the query can say which); anyone else nothing."""
    if actor.acts_as("staff"):
        return None
    if actor.acts_as("worker"):
        return actor.worker_id
    raise Forbidden("you may not see this shift")


def acting_worker(actor):
    """The worker a worker-only call (apply, available shifts) acts for."""
    if not actor.acts_as("worker"):
        raise Forbidden("only a worker may do this")
    return actor.worker_id


# Separation of duties (API.md "Roles and scope"): what whoever posted a shift may not approve.
NOT_BY_POSTER = frozenset({"rate", "cascade"})


def check_not_approving_own(actor_id, shift, approves):
    """Whoever posted a shift approves neither its rate violation nor its agency cascade (another
    approver must); releasing it to the bank where the site asks for approval is not barred."""
    if shift.created_by is not None and actor_id == shift.created_by and NOT_BY_POSTER & set(approves):
        raise Forbidden("whoever posted a shift cannot approve its rate or its agency cascade")


def may_cascade_own_unapproved(may_approve, actor_id, shift):
    """An approver's cascade needs no second approval, unless the approver posted the shift."""
    return may_approve and actor_id != shift.created_by


def check_decides_approvals(actor):
    """Rejecting what a shift awaits is an approver's decision at the shift's site, as approving is
    (the gateway's `approver` capacity). Whoever posted the shift may reject it: refusing one's own
    posting approves nothing (separation of duties, API.md, is about approving), and a poster who is
    a coordinator could cancel it anyway."""
    if not actor.acts_as("approver"):
        raise Forbidden("only an approver at the shift's site may reject what it awaits")


def check_reaches_workers_shifts(actor, scope_ids, worker_id, worker_bank_id):
    """A worker's own shifts and applications are read by the worker itself, or by an admin whose
    grants cover the worker's whole bank (as its documents and compliance: API.md "Roles and scope";
    `scope_ids` the caller's bank_admin grants, None for a platform grant). Another worker's: 404."""
    if actor.acts_as("worker") and actor.worker_id is not None and actor.worker_id == worker_id:
        return
    if actor.acts_as("admin"):
        if scope_ids is not None and not isinstance(scope_ids, dict):
            raise Forbidden("no scope: this call acts within the caller's grants and must say which")
        banks = worker_bank_ids(scope_ids)
        if banks is None or worker_bank_id in banks:
            return
    raise NotFound("no such worker")
