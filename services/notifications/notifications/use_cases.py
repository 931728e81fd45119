"""Notifications' writes, each through a unit of work: the copy of the bank tree and of people
that identity's events feed, who is told what of each event, the notifications and deliveries
that telling writes, preferences, reading, and re-sending a failed delivery.

Exactly once per person, source and channel: `tell` runs inside the event handler's unit of
work (whose first statement claims the event in the inbox), and the unique constraints on
(user, source_key) and (user, source_key, channel) refuse a second copy whatever the path.

The same whatever order events arrive in (tests/test_notifications_delivery_order.py): before
the unit of work, `ask_identity` fetches what no event has brought yet (a site, its
organisation, a bank, a worker) and always asks who holds the roles an event concerns, since a
grant may be newer than any event heard; a worker's departure only withdraws what has not been
sent (their inbox still fills), so it does not matter whether it is heard first or last.
"""

from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from chassis.db import insert_new_rows
from chassis.errors import Conflict, NotFound
from chassis.tables import new_id
from notifications import access, domain, queries
from notifications.models import (
    Bank,
    Delivery,
    Departure,
    Notification,
    Organisation,
    Preference,
    Recipient,
    RoleGrant,
    Site,
)

# --- the copy of identity ----------------------------------------------------------------


def _upsert(session, model, key, values):
    session.execute(insert(model).values(**values).on_conflict_do_update(
        index_elements=[key], set_={k: v for k, v in values.items() if k != key}))


def save_bank(uow, bank):
    """From bank.created, or as identity's get_bank answers (`id`)."""
    _upsert(uow.session, Bank, "bank_id",
            {"bank_id": bank.get("bank_id") or bank["id"], "name": bank["name"]})


def save_organisation(uow, organisation):
    """From organisation.created, or as identity's get_organisation answers (`id`)."""
    _upsert(uow.session, Organisation, "organisation_id", {
        "organisation_id": organisation.get("organisation_id") or organisation["id"],
        **{k: organisation[k] for k in ("bank_id", "name", "kind")}})


def save_site(uow, site):
    """A site from site.created, or as identity's get_site answers (`id` for `site_id`)."""
    _upsert(uow.session, Site, "site_id", {
        "site_id": site.get("site_id") or site["id"], "organisation_id": site["organisation_id"],
        "bank_id": site["bank_id"], "name": site["name"]})


def save_user(uow, user):
    """An account and its grants (user.created): the grants replace any known before."""
    _upsert(uow.session, Recipient, "user_id",
            {"user_id": user["user_id"], "email": user["email"], "name": user["name"]})
    uow.session.execute(sa.delete(RoleGrant).where(RoleGrant.user_id == user["user_id"]))
    grants = {(g["role"], g["scope_type"], g.get("scope_id")) for g in user["roles"]}
    for role, scope_type, scope_id in sorted(grants, key=str):
        uow.session.add(RoleGrant(user_id=user["user_id"], role=role, scope_type=scope_type,
                                  scope_id=scope_id))


def save_worker(uow, worker):
    """A worker's account (worker.registered, or identity's get_worker with `id`, which may
    already say the worker left)."""
    worker_id = worker.get("worker_id") or worker["id"]
    _upsert(uow.session, Recipient, "user_id", {
        "user_id": worker["user_id"], "email": worker["email"], "name": worker["name"],
        "worker_id": worker_id, "bank_id": worker["bank_id"]})
    if worker.get("status") == "left":
        worker_left(uow, worker_id)


def worker_left(uow, worker_id):
    """A worker who left is sent nothing more: what waits for them is withdrawn, and what they
    are told from now on reaches only their inbox (see `tell`)."""
    uow.session.execute(insert(Departure).values(worker_id=worker_id).on_conflict_do_nothing())
    user_id = sa.select(Recipient.user_id).where(Recipient.worker_id == worker_id).scalar_subquery()
    uow.session.execute(sa.update(Delivery).where(Delivery.user_id == user_id,
                                                  Delivery.status == domain.PENDING)
                        .values(status=domain.WITHDRAWN, next_attempt_at=None,
                                last_error=domain.LEFT_THE_BANK))


# --- what identity is asked before an event is handled ---------------------------------

@dataclass(frozen=True)
class Learnt:
    """What identity answered: facts no event had brought yet, and who holds the roles the
    event concerns (user.created-shaped)."""

    banks: list = field(default_factory=list)
    organisations: list = field(default_factory=list)
    sites: list = field(default_factory=list)
    workers: list = field(default_factory=list)
    staff: list = field(default_factory=list)
    staff_roles: tuple = ()  # what identity was asked: every holder of these roles over these places
    staff_places: tuple = ()


def ask_identity(identity, session, event):
    """Ask identity (its RPC proxy, or anything answering get_bank, get_organisation, get_site,
    get_worker and role_holders alike) what handling `event` needs and is not known here.
    Outside the unit of work: no transaction waits on an RPC."""
    telling = TELLINGS.get(event.type)
    if telling is None:
        return Learnt()
    data = event.data

    def fetch(column, ids, get):
        return [found for found in (get(i) for i in sorted(queries.unknown(session, column, ids))) if found]

    sites = fetch(Site.site_id, [data.get("site_id")], identity.get_site)
    site_ids = [data.get("site_id")] if data.get("site_id") else []
    place_organisations = sa.select(Site.organisation_id).where(Site.site_id.in_(site_ids))
    organisations = fetch(Organisation.organisation_id,  # whose name the place's label needs
                          [*session.scalars(place_organisations), *(s["organisation_id"] for s in sites)],
                          identity.get_organisation)
    banks = fetch(Bank.bank_id, [data.get("bank_id")], identity.get_bank)
    worker_ids = [data.get("worker_id"), *(c["worker_id"] for c in data.get("candidates", ()))]
    workers = fetch(Recipient.worker_id, worker_ids, partial(_worker_or_none, identity))
    roles = telling.staff_roles(data)
    places = [data[k] for k in ("site_id", "organisation_id", "bank_id") if data.get(k)]
    staff = identity.role_holders(sorted(roles), places) if roles else []
    return Learnt(banks, organisations, sites, workers, staff, tuple(roles), tuple(places))


def _worker_or_none(identity, worker_id):
    try:
        return identity.get_worker(worker_id)
    except NotFound:
        return None  # nobody to tell


def save_learnt(uow, learnt):
    for bank in learnt.banks:
        save_bank(uow, bank)
    for organisation in learnt.organisations:
        save_organisation(uow, organisation)
    for site in learnt.sites:
        save_site(uow, site)
    for worker in learnt.workers:
        save_worker(uow, worker)
    for user in learnt.staff:
        save_user(uow, user)
    forget_grants(uow, learnt)


def forget_grants(uow, learnt):
    """identity named everyone who holds the roles asked for over the places asked about (see
    `ask_identity`): anyone else's copy of such a grant is stale (the grant was taken away, or
    the account deactivated), and they are told nothing more as its holder."""
    if not learnt.staff_roles:
        return
    uow.session.execute(sa.delete(RoleGrant).where(
        RoleGrant.role.in_(learnt.staff_roles),
        sa.or_(RoleGrant.scope_type == "platform", RoleGrant.scope_id.in_(learnt.staff_places)),
        RoleGrant.user_id.not_in([user["user_id"] for user in learnt.staff])))


# --- who is told what ------------------------------------------------------------------
# Each takes the session (reads only), the event's data and the settings, and returns
# domain.Told items; `tell` writes them.

def _worker(session, worker_id, message, bank_id):
    recipient = queries.worker_recipient(session, worker_id) if worker_id else None
    return [] if recipient is None else [domain.Told(recipient.user_id, message, bank_id)]


def _staff(session, roles, scope, message, bank_id):
    return [domain.Told(user_id, message, bank_id) for user_id in queries.holders(session, roles, scope)]


def cancelled_by_worker(data):
    return data["cancelled_by"] == "worker"


def is_practice(organisation):
    return organisation["kind"] == "practice"


def offers(session, data, settings):
    """matching.candidates_ranked: each candidate hears of the shift (once per shift)."""
    place = queries.place(session, data["site_id"])
    by_user = {c["user_id"]: c for c in data["candidates"]}
    return [domain.Told(user_id, domain.shift_available(data, place, by_user[user_id], settings.portal_url),
                        data["bank_id"], f"shift.available:{data['shift_id']}")
            for user_id in queries.known_users(session, list(by_user))]


def booked(session, data, settings):
    place = queries.place(session, data["site_id"])
    return _worker(session, data["worker_id"],
                   domain.shift_booked(data, place, settings.portal_url), data["bank_id"])


def cancelled(session, data, settings):
    """The booked worker; and the site's coordinators when the worker cancelled."""
    place, portal = queries.place(session, data["site_id"]), settings.portal_url
    told = _worker(session, data["worker_id"], domain.shift_cancelled(data, place, portal), data["bank_id"])
    if cancelled_by_worker(data):
        told += _staff(session, domain.SITE_COORDINATORS, domain.site_scope(data),
                       domain.shift_cancelled(data, place, portal, to_site=True), data["bank_id"])
    return told


def rate_violation(session, data, settings):
    """Those who may approve it at the site, and leadership over it."""
    place, scope = queries.place(session, data["site_id"]), domain.site_scope(data)
    portal = settings.portal_url
    return (_staff(session, domain.RATE_APPROVERS, scope,
                   domain.rate_violation(data, place, portal, approver=True), data["bank_id"])
            + _staff(session, domain.LEADERSHIP, scope,
                     domain.rate_violation(data, place, portal, approver=False), data["bank_id"]))


def timesheet_submitted(session, data, settings):
    place = queries.place(session, data["site_id"])
    return _staff(session, domain.TIMESHEET_APPROVERS, domain.site_scope(data),
                  domain.timesheet_submitted(data, place, settings.portal_url), data["bank_id"])


def timesheet_decided(session, data, settings, template):
    place = queries.place(session, data["site_id"])
    return _worker(session, data["worker_id"], template(data, place, settings.portal_url),
                   data["bank_id"])


def document_notice(session, data, settings, template):
    """compliance.document_expiring / compliance.lapsed: the worker and its bank's admins."""
    recipient = queries.worker_recipient(session, data["worker_id"])
    told = _worker(session, data["worker_id"], template(data, settings.portal_url), data["bank_id"])
    name = recipient.name if recipient is not None else "A worker"
    return told + _staff(session, domain.BANK_ADMINS, domain.bank_scope(data["bank_id"]),
                         template(data, settings.portal_url, worker_name=name), data["bank_id"])


def activated(session, data, settings):
    bank = queries.bank_name(session, data["bank_id"])
    return _worker(session, data["worker_id"],
                   domain.worker_activated(data, settings.portal_url, bank), data["bank_id"])


def practice_joined(session, data, settings):
    """A new practice: its bank's admins get the getting-started steps."""
    if not is_practice(data):
        return []
    return _staff(session, domain.BANK_ADMINS, domain.bank_scope(data["bank_id"]),
                  domain.practice_joined(data, settings.portal_url), data["bank_id"])


@dataclass(frozen=True)
class Telling:
    """Who an event type tells (`who(session, data, settings)` -> domain.Told items), and the
    roles whose holders over the event's place identity is asked for first (`staff`; `staff_if`
    says of the event's data whether staff are told at all, so that no RPC is made for nothing)."""

    who: object
    staff: tuple = ()
    staff_if: object = None

    def staff_roles(self, data):
        return self.staff if self.staff_if is None or self.staff_if(data) else ()


TELLINGS = {
    "organisation.created": Telling(practice_joined, domain.BANK_ADMINS,
                                    staff_if=is_practice),
    "worker.activated": Telling(activated),
    "matching.candidates_ranked": Telling(offers),
    "shift.booked": Telling(booked),
    "shift.cancelled": Telling(cancelled, domain.SITE_COORDINATORS,
                               staff_if=cancelled_by_worker),
    "shift.rate_violation": Telling(rate_violation, domain.RATE_APPROVERS + domain.LEADERSHIP),
    "timesheet.submitted": Telling(timesheet_submitted, domain.TIMESHEET_APPROVERS),
    "timesheet.approved": Telling(partial(timesheet_decided, template=domain.timesheet_approved)),
    "timesheet.rejected": Telling(partial(timesheet_decided, template=domain.timesheet_rejected)),
    "compliance.document_expiring": Telling(partial(document_notice, template=domain.document_expiring),
                                            domain.BANK_ADMINS),
    "compliance.lapsed": Telling(partial(document_notice, template=domain.document_lapsed),
                                 domain.BANK_ADMINS),
}

# identity's facts that keep the copy (bank tree, people) up to date
SAVES = {
    "bank.created": save_bank,
    "organisation.created": save_organisation,
    "site.created": save_site,
    "user.created": save_user,
    "worker.registered": save_worker,
    "worker.left": lambda uow, data: worker_left(uow, data["worker_id"]),
}

CONSUMED = frozenset(TELLINGS) | frozenset(SAVES)


def handle(uow, event, learnt, settings, at):
    """One event, in its handler's unit of work: save what identity answered (`ask_identity`)
    and what the event says of the bank tree and people, then tell whom it concerns.
    Returns how many were told."""
    save_learnt(uow, learnt)
    if event.type in SAVES:
        SAVES[event.type](uow, event.data)
    telling = TELLINGS.get(event.type)
    if telling is None:
        return 0
    return tell(uow, event, telling.who(uow.session, event.data, settings), at)


# --- telling ---------------------------------------------------------------------------

def delivered_fact(notification_id, user_id, type_, channel, at):
    return {"notification_id": notification_id, "user_id": user_id, "type": type_, "channel": channel,
            "delivered_at": at.isoformat()}


def tell(uow, event, told, at):
    """Write each person's notification (in the inbox unless they turned in-app off) and a
    delivery per channel they want: in-app delivered now (`notification.delivered`), email,
    SMS and push pending for the sender, from the end of their quiet hours if they are in them.
    Someone already told of the same source gets nothing twice; a worker who left gets it in
    the inbox only (the other channels' deliveries are written withdrawn). Returns how many
    were told."""
    # in user order: two events naming the same people insert in the same order (no deadlock)
    told = sorted(domain.once_each(told), key=lambda t: t.user_id)
    if not told:
        return 0
    session = uow.session
    users = [t.user_id for t in told]
    preferences, emails = queries.preferences_of(session, users), queries.addresses(session, users)
    departed = queries.departed_users(session, users)
    rows = [{"id": new_id(), "user_id": t.user_id, "bank_id": t.bank_id, "type": t.message.type,
             "title": t.message.title[:300], "body": t.message.body, "data": t.message.data,
             "source_key": t.source_key or event.event_id, "event_id": event.event_id,
             "correlation_id": event.correlation_id, "in_inbox": preferences[t.user_id].in_app}
            for t in told]
    written = set(insert_new_rows(session, Notification.__table__, rows, ("user_id", "source_key"),
                                  returning="id"))
    deliveries = []
    for row in rows:
        if row["id"] not in written:
            continue
        prefs = preferences[row["user_id"]]
        base = {**{k: row[k] for k in ("user_id", "bank_id", "source_key", "type")},
                "notification_id": row["id"], "address": None, "held_for_digest": False}
        if prefs.in_app:
            deliveries.append({**base, "id": new_id(), "channel": domain.IN_APP, "status": domain.SENT,
                               "attempts": 1, "next_attempt_at": None, "sent_at": at, "last_error": None})
            uow.emit("notification.delivered",
                     delivered_fact(row["id"], row["user_id"], row["type"], domain.IN_APP, at))
        start = domain.quiet_until(prefs, at) or at
        for channel in prefs.outbound():
            deliveries.append({**base, "id": new_id(), "channel": channel, "status": domain.PENDING,
                               "attempts": 0, "next_attempt_at": start, "sent_at": None, "last_error": None,
                               "address": emails.get(row["user_id"]) if channel == domain.EMAIL else None})
            if row["user_id"] in departed:
                deliveries[-1].update(status=domain.WITHDRAWN, next_attempt_at=None,
                                      last_error=domain.LEFT_THE_BANK)
    insert_new_rows(session, Delivery.__table__, deliveries, ("user_id", "source_key", "channel"))
    return len(written)


# --- the caller's own ------------------------------------------------------------------

def mark_read(uow, actor, notification_id, at):
    notification = queries.own_notification(uow.session, actor.user_id, notification_id, lock=True)
    access.check_own(actor, notification)
    if notification.read_at is None:
        notification.read_at = at
        uow.session.flush()
    return queries.notification_view(notification)


def put_preferences(uow, user_id, data, at):
    """Set them; what waits only for the old quiet hours is due again (the sender applies the new)."""
    quiet = data.get("quiet_hours") or {}
    values = {"user_id": user_id, "email": data["email"], "in_app": data["in_app"], "sms": data["sms"],
              "push": data["push"], "quiet_start": quiet.get("start"), "quiet_end": quiet.get("end")}
    _upsert(uow.session, Preference, "user_id", values)
    uow.session.execute(sa.update(Delivery).where(
        Delivery.user_id == user_id, Delivery.status == domain.PENDING, Delivery.attempts == 0,
        Delivery.held_for_digest.is_(False), Delivery.next_attempt_at > at).values(next_attempt_at=at))
    uow.session.flush()
    return queries.preferences_view(uow.session, user_id)


# --- operators -------------------------------------------------------------------------

def resend(uow, delivery_id, at):
    """Put a failed delivery back in the sender's queue, with a fresh count of attempts."""
    delivery = uow.session.scalar(sa.select(Delivery).where(Delivery.id == delivery_id)
                                  .with_for_update().execution_options(populate_existing=True))
    if delivery is None:
        raise NotFound("no such delivery")
    if delivery.status != domain.FAILED:
        raise Conflict(f"only a failed delivery is sent again; this one is {delivery.status}")
    delivery.status, delivery.attempts, delivery.next_attempt_at = domain.PENDING, 0, at
    uow.session.flush()
    return queries.delivery_view(delivery)
