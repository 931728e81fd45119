"""Identity's reads: principals, where a resource sits in the bank tree, sites and workers,
and the views (plain dicts, dumped by the payload schemas) every answer is made of."""

import sqlalchemy as sa

from chassis.auth import worker_bank_ids
from chassis.db import one_or_not_found
from chassis.errors import Forbidden
from chassis.pagination import paginate
from identity import domain, schemas
from identity.models import Bank, Organisation, RoleGrant, Site, User, Worker

bank_schema = schemas.Bank()
organisation_schema = schemas.Organisation()
site_schema = schemas.Site()
user_schema = schemas.User()
account_schema = schemas.UserAccount()
worker_schema = schemas.Worker()
public_worker_schema = schemas.WorkerPublic()


# --- views -----------------------------------------------------------------------------

def bank_view(bank):
    return bank_schema.dump(bank)


def organisation_view(organisation):
    return organisation_schema.dump(organisation)


def site_view(site):
    return site_schema.dump(site)


def _user_data(user, grants):
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": [
            {"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id, "bank_id": g.bank_id}
            for g in grants
        ],
        "worker_id": user.worker.id if user.worker else None,
    }


def user_view(user):
    return user_schema.dump(_user_data(user, user.grants))


def account_view(user, bank_id=None):
    """The account as its admins manage it; with `bank_id`, only its grants in that bank (another
    bank's grants are that bank's business)."""
    grants = [g for g in user.grants if bank_id is None or g.bank_id == bank_id]
    return account_schema.dump({**_user_data(user, grants), "active": user.deactivated_at is None,
                                "deactivated_at": user.deactivated_at})


def worker_view(worker):
    return worker_schema.dump({
        **{c.key: getattr(worker, c.key) for c in Worker.__table__.columns if c.key != "compliance_version"},
        "email": worker.user.email,
        "name": worker.user.name,
    })


# --- principals and scopes -------------------------------------------------------------

def get_principal(session, user_id):
    """Who a token's subject is now, or None: no such account, or a deactivated one (the gateway
    asks on every request, so a deactivation or a removed grant holds from the next one)."""
    user = session.get(User, user_id)
    return user_view(user) if user is not None and user.deactivated_at is None else None


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
    if kind == "user":
        user = session.get(User, resource_id)
        return user_place(session, user) if user else None
    raise ValueError(f"unknown scope kind {kind!r}")


def user_place(session, user):
    """Where an account sits (domain.user_place): who manages it must hold bank_admin there."""
    return domain.user_place([
        None if g.scope_type == "platform" else resolve_scope(session, g.scope_type, g.scope_id)
        for g in user.grants])


# --- the bank tree and workers -----------------------------------------------------------

def get_bank(session, bank_id):
    bank = session.get(Bank, bank_id)
    return bank_view(bank) if bank else None


def get_organisation(session, organisation_id):
    organisation = session.get(Organisation, organisation_id)
    return organisation_view(organisation) if organisation else None


def get_site(session, site_id):
    site = session.get(Site, site_id)
    return site_view(site) if site else None


def role_holders(session, roles, place_ids):
    """The accounts with a grant of one of `roles` on the platform or on one of `place_ids` (a
    site, its organisation, its bank), each with all its grants, shaped as user.created says
    them. The caller decides which grant covers what (chassis.auth.Scope.covered_by)."""
    users = session.scalars(
        sa.select(User).where(User.deactivated_at.is_(None), User.id.in_(
            sa.select(RoleGrant.user_id).where(
                RoleGrant.role.in_(roles),
                sa.or_(RoleGrant.scope_type == "platform", RoleGrant.scope_id.in_(place_ids)))))
        .order_by(User.id))
    return [{"user_id": user.id, "email": user.email, "name": user.name,
             "roles": [{"role": g.role, "scope_type": g.scope_type, "scope_id": g.scope_id}
                       for g in user.grants]}
            for user in users]


def user(session, user_id, lock=False):
    """The account (locked for update if asked), or NotFound."""
    return one_or_not_found(session, sa.select(User).where(User.id == user_id), "user", lock)


def _listed(session, statement, model, query, view):
    rows, next_cursor = paginate(
        session, statement, model.created_at, model.id, query["limit"], query.get("cursor"))
    return {"items": [view(row) for row in rows], "next_cursor": next_cursor}


def list_banks(session, query, bank_ids):
    """The banks among `bank_ids` (None: every bank), oldest first."""
    statement = sa.select(Bank)
    if bank_ids is not None:
        statement = statement.where(Bank.id.in_(sorted(bank_ids)))
    return _listed(session, statement, Bank, query, bank_view)


def list_organisations(session, query):
    """A bank's organisations, oldest first (the gateway checked the caller reaches the bank)."""
    statement = sa.select(Organisation).where(Organisation.bank_id == query["bank_id"])
    if query.get("kind"):
        statement = statement.where(Organisation.kind == query["kind"])
    return _listed(session, statement, Organisation, query, organisation_view)


def list_sites(session, query):
    """A bank's sites, or one of its organisation's, oldest first."""
    statement = sa.select(Site).where(Site.bank_id == query["bank_id"])
    if query.get("organisation_id"):
        statement = statement.where(Site.organisation_id == query["organisation_id"])
    return _listed(session, statement, Site, query, site_view)


def list_users(session, query):
    """Accounts with a grant in the bank (staff and workers; the gateway checked the caller's
    scope over it), oldest first, each showing its grants in that bank."""
    grants = sa.select(RoleGrant.user_id).where(RoleGrant.bank_id == query["bank_id"])
    if query.get("role"):
        grants = grants.where(RoleGrant.role == query["role"])
    statement = sa.select(User).where(User.id.in_(grants))
    if query.get("active") is not None:
        statement = statement.where(User.deactivated_at.is_(None) if query["active"]
                                    else User.deactivated_at.is_not(None))
    rows, next_cursor = paginate(
        session, statement, User.created_at, User.id, query["limit"], query.get("cursor"))
    return {"items": [account_view(u, query["bank_id"]) for u in rows], "next_cursor": next_cursor}


def worker(session, worker_id, lock=False):
    """The worker (locked for update if asked), or NotFound."""
    return one_or_not_found(session, sa.select(Worker).where(Worker.id == worker_id), "worker", lock)


def get_worker(session, worker_id):
    return worker_view(worker(session, worker_id))


def get_public_worker(session, worker_id):
    """The public part of a worker (schemas.WorkerPublic), or NotFound."""
    found = worker(session, worker_id)
    return public_worker_schema.dump({**{key: getattr(found, key) for key in
                                         ("id", "staff_type", "grade", "extra_grades", "bank_number",
                                          "status")},
                                      "name": found.user.name})


def banks_of_workers(session, worker_ids):
    """{worker_id: bank_id} for the workers that exist."""
    rows = session.execute(sa.select(Worker.id, Worker.bank_id).where(Worker.id.in_(worker_ids or [""])))
    return {row.id: row.bank_id for row in rows}


def list_workers(session, query, scope_ids):
    """Workers matching `query`; with `scope_ids`, only those of banks the caller is granted whole
    (chassis.auth.worker_bank_ids: staff of one organisation or site list none)."""
    statement = sa.select(Worker)
    visible = worker_bank_ids(scope_ids)
    if visible is not None:
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
