"""Identity's use cases: each takes a unit of work (or session) and plain data,
applies the domain rules, writes, emits events, returns plain dicts."""

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from sqlalchemy.exc import IntegrityError

from chassis import tokens
from chassis.db import for_update
from chassis.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from chassis.pagination import paginate
from identity import domain, schemas
from identity.models import (
    Bank,
    LoginFailure,
    Organisation,
    RoleGrant,
    Site,
    User,
    Worker,
    WorkerStatusChange,
)

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")

BANK = schemas.Bank()
ORGANISATION = schemas.Organisation()
SITE = schemas.Site()
USER = schemas.User()
WORKER = schemas.Worker()


def hash_password(password):
    return tpool.execute(_hasher.hash, password)  # argon2 is CPU-bound: keep it off the hub


def password_matches(password_hash, password):
    try:
        return tpool.execute(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- login ---------------------------------------------------------------------------

def issue_token(session, email, password, key, ttl_seconds, now=None):
    now = now or datetime.now(UTC)
    email = email.strip().lower()
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is not None and password_matches(user.password_hash, password):
        return {
            "access_token": tokens.issue(key, user.id, ttl_seconds, now=now),
            "token_type": "bearer",
            "expires_in": ttl_seconds,
        }
    if user is None:
        password_matches(_DUMMY_HASH, password)
    recent = session.scalar(
        sa.select(sa.func.count()).where(
            LoginFailure.email == email, LoginFailure.failed_at > now - domain.LOGIN_FAILURE_WINDOW
        )
    )
    session.add(LoginFailure(email=email, failed_at=now))
    session.commit()
    log.info("login failed", extra={"email": email, "known_account": user is not None,
                                    "throttled": domain.login_throttled(recent)})
    if domain.login_throttled(recent):
        raise TooManyRequests("too many failed logins for this account; try again later")
    raise Unauthorized("email or password is wrong")


# --- principals and scopes -------------------------------------------------------------

def user_view(user):
    return USER.dump({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": [
            {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id, "bank_id": g.bank_id}
            for g in user.grants
        ],
        "worker_id": user.worker.id if user.worker else None,
    })


def get_principal(session, user_id):
    user = session.get(User, user_id)
    return user_view(user) if user else None


def resolve_scope(session, kind, resource_id):
    """Where a resource sits in the bank tree, or None if it does not exist."""
    if kind == "bank":
        bank = session.get(Bank, resource_id)
        return {"bank_id": bank.id} if bank else None
    if kind == "organisation":
        org = session.get(Organisation, resource_id)
        return {"bank_id": org.bank_id, "organisation_id": org.id} if org else None
    if kind == "site":
        site = session.get(Site, resource_id)
        return (
            {"bank_id": site.bank_id, "organisation_id": site.organisation_id, "site_id": site.id}
            if site else None
        )
    if kind == "worker":
        worker = session.get(Worker, resource_id)
        return {"bank_id": worker.bank_id, "worker_id": worker.id} if worker else None
    raise ValueError(f"unknown scope kind {kind!r}")


# --- the bank tree ---------------------------------------------------------------------

def get_site(session, site_id):
    site = session.get(Site, site_id)
    return SITE.dump(site) if site else None

def create_bank(uow, data):
    bank = Bank(name=data["name"], last_worker_number=0)
    uow.session.add(bank)
    uow.session.flush()
    uow.emit("bank.created", {"bank_id": bank.id, "name": bank.name})
    return BANK.dump(bank)


def _existing(session, model, resource_id, field):
    found = session.get(model, resource_id)
    if found is None:
        raise Invalid(f"{field} does not exist", errors={field: ["Does not exist."]})
    return found


def create_organisation(uow, data):
    _existing(uow.session, Bank, data["bank_id"], "bank_id")
    org = Organisation(**data)
    uow.session.add(org)
    uow.session.flush()
    uow.emit("organisation.created", {
        "organisation_id": org.id, "bank_id": org.bank_id, "name": org.name,
        "kind": org.kind, "ods_code": org.ods_code,
    })
    return ORGANISATION.dump(org)


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
    return SITE.dump(site)


# --- users and workers -----------------------------------------------------------------

def _new_user(session, email, password, name):
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists")
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    return user


def _flush_unique(session):
    """Flush, turning a lost race on a unique constraint into 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("that already exists") from exc


def _grant_bank(session, grant, index):
    """The bank a grant's scope lies in (None for the platform); Invalid if the scope is unknown."""
    if grant["scope_type"] == "platform":
        return None
    found = resolve_scope(session, grant["scope_type"], grant["scope_id"])
    if found is None:
        raise Invalid("a role's scope does not exist",
                      errors={"roles": {str(index): ["scope_id does not exist."]}})
    return found["bank_id"]


def create_user(uow, data):
    grants = list({(g["role"], g["scope_type"], g.get("scope_id")): g for g in data["roles"]}.values())
    domain.validate_grants(grants)
    banks = [_grant_bank(uow.session, grant, index) for index, grant in enumerate(grants)]
    user = _new_user(uow.session, data["email"], data["password"], data["name"])
    _flush_unique(uow.session)
    for grant, bank_id in zip(grants, banks, strict=True):
        uow.session.add(RoleGrant(user_id=user.id, bank_id=bank_id, **grant))
    _flush_unique(uow.session)
    uow.session.refresh(user)
    view = user_view(user)
    uow.emit("user.created", {"user_id": user.id, "email": view["email"], "name": view["name"],
                              "roles": [{k: g[k] for k in ("role", "scope_type", "scope_id")}
                                        for g in view["roles"]]})
    return view


def ensure_platform_admin(uow, email, password, name="Platform administrator"):
    """Create the bootstrap admin if no account has this email; leave one that does alone."""
    email = email.strip().lower()
    if uow.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        return None
    return create_user(uow, {
        "email": email, "password": password, "name": name,
        "roles": [{"role": "platform_admin", "scope_type": "platform", "scope_id": None}],
    })


def next_bank_number(session, bank_id):
    """Take the bank's next worker number under the row lock of one UPDATE."""
    sequence = session.execute(
        sa.update(Bank)
        .where(Bank.id == bank_id)
        .values(last_worker_number=Bank.last_worker_number + 1)
        .returning(Bank.last_worker_number)
    ).scalar_one()
    return domain.format_bank_number(sequence)


def worker_view(worker):
    return WORKER.dump({
        **{c.key: getattr(worker, c.key) for c in Worker.__table__.columns if c.key != "compliance_version"},
        "email": worker.user.email,
        "name": worker.user.name,
    })


def register_worker(uow, data):
    session = uow.session
    _existing(session, Bank, data["bank_id"], "bank_id")
    user = _new_user(session, data["email"], data["password"], data["name"])
    _flush_unique(session)
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
        max_travel_km=(domain.DEFAULT_MAX_TRAVEL_KM if data.get("max_travel_km") is None
                       else data["max_travel_km"]),
        opted_out_of_48h=data.get("opted_out_of_48h", False),
        status="applied",
    )
    session.add(worker)
    session.add(RoleGrant(user_id=user.id, role="worker", scope_type="bank", scope_id=data["bank_id"],
                          bank_id=data["bank_id"]))
    _flush_unique(session)
    session.refresh(worker)
    view = worker_view(worker)
    log.info("worker registered", extra={"worker_id": worker.id, "bank_id": worker.bank_id,
                                         "bank_number": worker.bank_number})
    uow.emit("worker.registered", {k: v for k, v in view.items() if k not in ("id", "created_at")}
             | {"worker_id": worker.id})
    return view


def _worker(session, worker_id, lock=False):
    statement = sa.select(Worker).where(Worker.id == worker_id)
    if lock:
        statement = for_update(statement)
    worker = session.scalar(statement)
    if worker is None:
        raise NotFound("no such worker")
    return worker


def banks_of_workers(session, worker_ids):
    """{worker_id: bank_id} for the workers that exist."""
    rows = session.execute(sa.select(Worker.id, Worker.bank_id).where(Worker.id.in_(worker_ids or [""])))
    return {row.id: row.bank_id for row in rows}


def get_worker(session, worker_id):
    return worker_view(_worker(session, worker_id))


def visible_bank_ids(session, scope_ids):
    """The banks a caller's grants reach: granted banks and those of granted organisations and sites."""
    banks = set(scope_ids.get("bank", ()))
    if scope_ids.get("organisation"):
        banks |= set(session.scalars(
            sa.select(Organisation.bank_id).where(Organisation.id.in_(scope_ids["organisation"]))
        ))
    if scope_ids.get("site"):
        banks |= set(session.scalars(sa.select(Site.bank_id).where(Site.id.in_(scope_ids["site"]))))
    return banks


def list_workers(session, query, scope_ids):
    """Workers matching `query`; with `scope_ids`, only those of banks the caller reaches."""
    statement = sa.select(Worker)
    if scope_ids is not None:
        visible = visible_bank_ids(session, scope_ids)
        if query.get("bank_id") and query["bank_id"] not in visible:
            raise Forbidden("that bank lies outside your scope")
        statement = statement.where(Worker.bank_id.in_(visible))
    for field in ("bank_id", "status", "staff_type"):
        if query.get(field):
            statement = statement.where(getattr(Worker, field) == query[field])
    rows, next_cursor = paginate(
        session, statement, Worker.created_at, Worker.id, query["limit"], query.get("cursor")
    )
    return {"items": [worker_view(w) for w in rows], "next_cursor": next_cursor}


def update_worker(uow, worker_id, patch):
    worker = _worker(uow.session, worker_id, lock=True)
    if patch.get("agency_id") is not None:
        agency = uow.session.get(Organisation, patch["agency_id"])
        if agency is None or agency.kind != "agency" or agency.bank_id != worker.bank_id:
            raise Invalid("not an agency of this bank",
                          errors={"agency_id": ["Must be an agency organisation of the worker's bank."]})
    for field, value in patch.items():
        setattr(worker, field, sorted(set(value)) if field == "extra_grades" else value)
    uow.session.flush()
    uow.emit("worker.updated", {
        "worker_id": worker.id, "bank_id": worker.bank_id, "extra_grades": list(worker.extra_grades),
        "opted_out_of_48h": worker.opted_out_of_48h, "max_travel_km": worker.max_travel_km,
        "agency_id": worker.agency_id,
    })
    return worker_view(worker)


def change_worker_status(uow, worker_id, target, reason=None):
    """Move a worker along its status machine; a no-op if it is already there."""
    worker = _worker(uow.session, worker_id, lock=True)
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
    return worker_view(worker)


def prune_login_failures(session, now=None):
    """Failures older than the throttle window no longer count; drop them."""
    now = now or datetime.now(UTC)
    session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at < now - domain.LOGIN_FAILURE_WINDOW))
    session.commit()


# --- onboarding, driven by compliance's facts ------------------------------------------

def start_onboarding(uow, worker_id):
    """The first document arrived: an `applied` worker is now `onboarding` (else no change)."""
    worker = _worker(uow.session, worker_id, lock=True)
    if worker.status == "applied":
        change_worker_status(uow, worker_id, "onboarding", "first compliance document submitted")


def apply_compliance(uow, worker_id, cleared, version):
    """Cleared activates, not cleared (uncleared, lapsed) suspends; a fact older than one
    already applied (by its version) changes nothing, so order and replays do not matter."""
    worker = _worker(uow.session, worker_id, lock=True)
    if version <= worker.compliance_version:
        log.info("stale compliance fact ignored", extra={"worker_id": worker_id, "version": version})
        return
    worker.compliance_version = version
    if cleared and worker.status in ("applied", "onboarding", "suspended"):
        change_worker_status(uow, worker_id, "active", "every required check verified")
    elif not cleared and worker.status == "active":
        change_worker_status(uow, worker_id, "suspended", "a required check lapsed")
