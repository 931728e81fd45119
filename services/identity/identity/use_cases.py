"""Identity's writes, each through a unit of work: the bank tree, users, workers and their
status, and onboarding driven by compliance's facts. Each applies the domain rules, writes,
emits its events and returns a view (queries.py)."""

import logging
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from chassis import clock
from chassis.errors import Conflict, Invalid
from identity import access, domain, queries
from identity.credentials import hash_password
from identity.models import Bank, Organisation, RoleGrant, Site, User, Worker, WorkerStatusChange

log = logging.getLogger(__name__)


@contextmanager
def _unique(session):
    """Writes that may lose a race on a unique constraint, in a savepoint: losing is a 409, and
    only the savepoint is rolled back."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        raise Conflict("that already exists") from exc


def _existing(session, model, resource_id, field):
    found = session.get(model, resource_id)
    if found is None:
        raise Invalid(f"{field} does not exist", errors={field: ["Does not exist."]})
    return found


# --- the bank tree ---------------------------------------------------------------------

def create_bank(uow, data):
    bank = Bank(name=data["name"], last_worker_number=0)
    uow.session.add(bank)
    uow.session.flush()
    uow.emit("bank.created", {"bank_id": bank.id, "name": bank.name})
    return queries.bank_view(bank)


def create_organisation(uow, data):
    _existing(uow.session, Bank, data["bank_id"], "bank_id")
    org = Organisation(**data)
    uow.session.add(org)
    uow.session.flush()
    uow.emit("organisation.created", {
        "organisation_id": org.id, "bank_id": org.bank_id, "name": org.name,
        "kind": org.kind, "ods_code": org.ods_code,
    })
    return queries.organisation_view(org)


def create_site(uow, data):
    org = _existing(uow.session, Organisation, data["organisation_id"], "organisation_id")
    site = Site(bank_id=org.bank_id, **data)
    uow.session.add(site)
    uow.session.flush()
    uow.emit("site.created", {
        "site_id": site.id, "organisation_id": site.organisation_id, "bank_id": site.bank_id,
        "name": site.name, "latitude": site.latitude, "longitude": site.longitude,
        "postcode": site.postcode,
    })
    return queries.site_view(site)


# --- users -----------------------------------------------------------------------------

def _new_user(session, email, password, name):
    """A new account, flushed; Conflict if the email is taken (also by a concurrent twin)."""
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists")
    user = User(email=email, name=name, password_hash=hash_password(password))
    with _unique(session):
        session.add(user)
    return user


def _grant_bank(session, grant, index):
    """The bank a grant's scope lies in (None for the platform); Invalid if the scope is unknown."""
    if grant["scope_type"] == "platform":
        return None
    found = queries.resolve_scope(session, grant["scope_type"], grant["scope_id"])
    if found is None:
        raise Invalid("a role's scope does not exist",
                      errors={"roles": {str(index): ["scope_id does not exist."]}})
    return found["bank_id"]


def _valid_grants(session, roles):
    """The requested grants without repeats, each valid (domain.validate_grants) and paired with
    the bank its scope lies in (Invalid if the scope does not exist)."""
    grants = domain.distinct_grants(roles)
    domain.validate_grants(grants)
    return [(grant, _grant_bank(session, grant, index)) for index, grant in enumerate(grants)]


def _add_grants(session, user, grants):
    """Give `user` the (grant, bank_id) pairs; a concurrent twin of one is a 409."""
    with _unique(session):
        for grant, bank_id in grants:
            session.add(RoleGrant(user_id=user.id, bank_id=bank_id, **grant))
    session.refresh(user)


def _user_fact(user):
    """An account and all its grants, as user.created and user.roles_changed say it."""
    return {"user_id": user.id, "email": user.email, "name": user.name,
            "roles": [{"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
                      for g in user.grants]}


def create_user(uow, data):
    grants = _valid_grants(uow.session, data["roles"])
    user = _new_user(uow.session, data["email"], data["password"], data["name"])
    _add_grants(uow.session, user, grants)
    uow.emit("user.created", _user_fact(user))
    return queries.user_view(user)


def set_user_roles(uow, user_id, data, actor):
    """The account's grants become the requested ones, under the same rules as creating it (the
    gateway checked that they and the account lie in the caller's scope). Its worker grant comes
    with its worker profile, not from an admin, and stays. Grants kept keep their history."""
    session = uow.session
    user = queries.user(session, user_id, lock=True)
    access.check_may_change(actor, user, "change the roles of")
    domain.check_active(user.deactivated_at)
    wanted = {domain.grant_key(grant): (grant, bank_id)
              for grant, bank_id in _valid_grants(session, data["roles"])}
    current = {(g.role, g.scope_type, g.scope_id): g for g in user.grants if g.role != "worker"}
    domain.check_keeps_a_grant(len(wanted) + len(user.grants) - len(current))
    removed = [grant for key, grant in current.items() if key not in wanted]
    added = [pair for key, pair in wanted.items() if key not in current]
    for grant in removed:
        session.delete(grant)
    session.flush()
    _add_grants(session, user, added)
    if removed or added:
        log.info("roles changed", extra={"user_id": user.id, "by": actor.user_id,
                                         "added": len(added), "removed": len(removed)})
        uow.emit("user.roles_changed", _user_fact(user))
    return queries.account_view(user)


def deactivate_user(uow, user_id, actor, now=None):
    """The account no longer logs in and its tokens are refused from the next request (identity's
    get_principal answers None); its grants stay on record but count for nothing. A worker's
    account leaves the bank with it (worker.left). Deactivating again changes nothing."""
    user = queries.user(uow.session, user_id, lock=True)
    access.check_may_change(actor, user, "deactivate")
    if user.deactivated_at is None:
        user.deactivated_at = now or clock.now()
        if user.worker is not None:
            change_worker_status(uow, user.worker.id, "left", "account deactivated")
        uow.session.flush()
        log.info("account deactivated", extra={"user_id": user.id, "by": actor.user_id})
        uow.emit("user.deactivated", {"user_id": user.id, "email": user.email, "name": user.name,
                                      "worker_id": user.worker.id if user.worker else None})
    return queries.account_view(user)


def ensure_platform_admin(uow, email, password, name="Platform administrator"):
    """Create the bootstrap admin if no account has this email; leave one that does alone."""
    email = domain.normalise_email(email)
    if uow.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        return None
    return create_user(uow, {
        "email": email, "password": password, "name": name,
        "roles": [{"role": "platform_admin", "scope_type": "platform", "scope_id": None}],
    })


# --- workers ---------------------------------------------------------------------------

def next_bank_number(session, bank_id):
    """Take the bank's next worker number under the row lock of one UPDATE."""
    sequence = session.execute(
        sa.update(Bank)
        .where(Bank.id == bank_id)
        .values(last_worker_number=Bank.last_worker_number + 1)
        .returning(Bank.last_worker_number)
    ).scalar_one()
    return domain.format_bank_number(sequence)


def register_worker(uow, data):
    session = uow.session
    _existing(session, Bank, data["bank_id"], "bank_id")
    user = _new_user(session, data["email"], data["password"], data["name"])
    with _unique(session):
        worker = Worker(
            user_id=user.id,
            bank_id=data["bank_id"],
            bank_number=next_bank_number(session, data["bank_id"]),
            staff_type=data["staff_type"],
            grade=data["grade"],
            extra_grades=[],
            specialty=data.get("specialty"),
            registration_body=data.get("registration_body"),
            registration_number=data.get("registration_number"),
            latitude=data["latitude"],
            longitude=data["longitude"],
            max_travel_km=domain.default_max_travel_km(data.get("max_travel_km")),
            opted_out_of_48h=data.get("opted_out_of_48h", False),
            status="applied",
        )
        session.add(worker)
        session.add(RoleGrant(user_id=user.id, role="worker", scope_type="bank", scope_id=data["bank_id"],
                              bank_id=data["bank_id"]))
    session.refresh(worker)
    view = queries.worker_view(worker)
    log.info("worker registered", extra={"worker_id": worker.id, "bank_id": worker.bank_id,
                                         "bank_number": worker.bank_number})
    uow.emit("worker.registered", {k: v for k, v in view.items() if k not in ("id", "created_at")}
             | {"worker_id": worker.id})
    return view


def update_worker(uow, worker_id, patch):
    worker = queries.worker(uow.session, worker_id, lock=True)
    if patch.get("agency_id") is not None:
        domain.check_agency(uow.session.get(Organisation, patch["agency_id"]), worker.bank_id)
    for field, value in domain.worker_patch(patch).items():
        setattr(worker, field, value)
    uow.session.flush()
    uow.emit("worker.updated", {
        "worker_id": worker.id, "bank_id": worker.bank_id, "extra_grades": list(worker.extra_grades),
        "opted_out_of_48h": worker.opted_out_of_48h, "max_travel_km": worker.max_travel_km,
        "agency_id": worker.agency_id,
    })
    return queries.worker_view(worker)


def change_worker_status(uow, worker_id, target, reason=None):
    """Move a worker along its status machine; a no-op if it is already there."""
    worker = queries.worker(uow.session, worker_id, lock=True)
    previous = worker.status
    new_status = domain.transition(previous, target)
    if new_status is not None:
        worker.status = new_status
        uow.session.add(WorkerStatusChange(
            worker_id=worker.id, from_status=previous, to_status=new_status, reason=reason
        ))
        uow.session.flush()
        uow.emit(domain.STATUS_EVENTS[new_status], {
            "worker_id": worker.id, "bank_id": worker.bank_id, "bank_number": worker.bank_number,
            "previous_status": previous, "status": new_status, "reason": reason,
        })
    return queries.worker_view(worker)


# --- onboarding, driven by compliance's facts ------------------------------------------

def consume(uow, event):
    """One of compliance's facts (chassis.handlers.Event): the first document starts onboarding;
    cleared, uncleared and lapsed carry the worker's compliance status and its version."""
    if event.type == "compliance.document_submitted":
        start_onboarding(uow, event.data["worker_id"])
    else:
        apply_compliance(uow, event.data["worker_id"], event.data["status"] == "cleared",
                         event.data["version"])


def start_onboarding(uow, worker_id):
    """The first document arrived: an `applied` worker is now `onboarding` (else no change)."""
    worker = queries.worker(uow.session, worker_id, lock=True)
    target = domain.status_after_first_document(worker.status)
    if target is not None:
        change_worker_status(uow, worker_id, target, "first compliance document submitted")


def apply_compliance(uow, worker_id, cleared, version):
    """Cleared activates, not cleared (uncleared, lapsed) suspends; a fact older than one
    already applied (by its version) changes nothing but what the newer one could not know
    (domain.statuses_after_late_fact), so order and replays do not matter."""
    worker = queries.worker(uow.session, worker_id, lock=True)
    if not domain.is_newer_fact(version, worker.compliance_version):
        steps = domain.statuses_after_late_fact(worker.status, cleared)
        for target, reason in steps:
            change_worker_status(uow, worker_id, target, reason)
        if not steps:
            log.info("stale compliance fact ignored", extra={"worker_id": worker_id, "version": version})
        return
    worker.compliance_version = version
    target = domain.status_after_compliance(worker.status, cleared)
    if target is not None:
        reason = "every required check verified" if cleared else "a required check lapsed"
        change_worker_status(uow, worker_id, target, reason)
