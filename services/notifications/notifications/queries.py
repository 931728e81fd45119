"""Notifications' reads: what it knows of the bank tree and of people, who holds a role over a
place, preferences, the inbox, the delivery log, and what the sender has to send."""

import sqlalchemy as sa

from chassis.db import for_update
from chassis.schemas import decode_cursor, encode_cursor
from notifications import domain, schemas
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

notification_schema = schemas.Notification()
preferences_schema = schemas.Preferences()
delivery_schema = schemas.Delivery()


# --- the bank tree and people ----------------------------------------------------------

def unknown(session, column, ids):
    """Those of `ids` that `column` (a primary or unique key) does not hold yet."""
    ids = {i for i in ids if i}
    if not ids:
        return set()
    return ids - set(session.scalars(sa.select(column).where(column.in_(ids))))


def place(session, site_id):
    row = session.execute(
        sa.select(Site.name, Organisation.name.label("organisation_name"))
        .outerjoin(Organisation, Organisation.organisation_id == Site.organisation_id)
        .where(Site.site_id == site_id)
    ).first()
    if row is None:
        return domain.Place(site_id)
    return domain.Place(site_id, row.name, row.organisation_name)


def bank_name(session, bank_id):
    return session.scalar(sa.select(Bank.name).where(Bank.bank_id == bank_id))


def worker_recipient(session, worker_id):
    """The account of a worker, or None."""
    return session.scalar(sa.select(Recipient).where(Recipient.worker_id == worker_id))


def known_users(session, user_ids):
    """Those of `user_ids` notifications knows (and so can tell), in the order given."""
    known = set(session.scalars(sa.select(Recipient.user_id).where(Recipient.user_id.in_(set(user_ids)))))
    return [user_id for user_id in user_ids if user_id in known]


def departed_users(session, user_ids):
    """Those of `user_ids` whose worker has left the bank."""
    return set(session.scalars(
        sa.select(Recipient.user_id).join(Departure, Departure.worker_id == Recipient.worker_id)
        .where(Recipient.user_id.in_(set(user_ids)))))


def holders(session, roles, scope):
    """Users holding one of `roles` over `scope` (domain.holders decides coverage)."""
    levels = [i for i in (scope.site_id, scope.organisation_id, scope.bank_id) if i]
    rows = session.execute(
        sa.select(RoleGrant.user_id, RoleGrant.role, RoleGrant.scope_type, RoleGrant.scope_id)
        .where(RoleGrant.role.in_(roles),
               sa.or_(RoleGrant.scope_type == "platform", RoleGrant.scope_id.in_(levels)))
    )
    return domain.holders([(r.user_id, domain.grant(r.role, r.scope_type, r.scope_id)) for r in rows],
                          roles, scope)


def addresses(session, user_ids):
    """{user_id: email}"""
    return dict(session.execute(sa.select(Recipient.user_id, Recipient.email)
                                .where(Recipient.user_id.in_(set(user_ids)))).all())


# --- preferences -----------------------------------------------------------------------

def _preferences(row):
    if row is None:
        return domain.Preferences()
    return domain.Preferences(
        email=row.email, in_app=row.in_app, sms=row.sms, push=row.push,
        quiet_start=domain.parse_clock(row.quiet_start) if row.quiet_start else None,
        quiet_end=domain.parse_clock(row.quiet_end) if row.quiet_end else None)


def preferences_of(session, user_ids):
    """{user_id: domain.Preferences} (the defaults for those who never set any)."""
    rows = {p.user_id: p for p in session.scalars(
        sa.select(Preference).where(Preference.user_id.in_(set(user_ids))))}
    return {user_id: _preferences(rows.get(user_id)) for user_id in user_ids}


def preferences_view(session, user_id):
    row = session.get(Preference, user_id)
    prefs = _preferences(row)
    quiet = ({"start": row.quiet_start, "end": row.quiet_end}
             if row is not None and row.quiet_start else None)
    return preferences_schema.dump({"email": prefs.email, "in_app": prefs.in_app, "sms": prefs.sms,
                                    "push": prefs.push, "quiet_hours": quiet})


# --- newest-first pages ----------------------------------------------------------------

def newest_first(session, statement, model, limit, cursor=None):
    """Keyset pages over (created_at, id), newest first, with the cursors of chassis.pagination."""
    key = sa.tuple_(model.created_at, model.id)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        statement = statement.where(key < sa.tuple_(sa.literal(created_at, model.created_at.type), last_id))
    found = session.scalars(statement.order_by(model.created_at.desc(), model.id.desc())
                            .limit(limit + 1)).all()
    page = found[:limit]
    more = len(found) > limit
    return page, (encode_cursor([page[-1].created_at.isoformat(), page[-1].id]) if more else None)


# --- the inbox -------------------------------------------------------------------------

def notification_view(notification):
    return notification_schema.dump(notification)


def inbox(session, user_id, query):
    mine = sa.select(Notification).where(Notification.user_id == user_id, Notification.in_inbox.is_(True))
    unread_only = mine.where(Notification.read_at.is_(None))
    statement = unread_only if query.get("unread") else mine
    if query.get("type"):
        statement = statement.where(Notification.type == query["type"])
    rows, next_cursor = newest_first(session, statement, Notification, query["limit"], query.get("cursor"))
    unread = session.scalar(sa.select(sa.func.count()).select_from(unread_only.subquery()))
    return {"items": [notification_view(n) for n in rows], "next_cursor": next_cursor,
            "unread_count": unread}


def own_notification(session, user_id, notification_id, lock=False):
    """The caller's own inbox notification, or None (another's is as if it did not exist)."""
    statement = sa.select(Notification).where(Notification.id == notification_id,
                                              Notification.user_id == user_id,
                                              Notification.in_inbox.is_(True))
    return session.scalar(for_update(statement) if lock else statement)


# --- the delivery log ------------------------------------------------------------------

def delivery_view(delivery):
    return delivery_schema.dump(delivery)


def deliveries(session, query):
    statement = sa.select(Delivery).where(Delivery.bank_id == query["bank_id"])
    for name in ("status", "channel", "user_id"):
        if query.get(name):
            statement = statement.where(getattr(Delivery, name) == query[name])
    rows, next_cursor = newest_first(session, statement, Delivery, query["limit"], query.get("cursor"))
    return {"items": [delivery_view(d) for d in rows], "next_cursor": next_cursor}


def resolve_delivery(session, delivery_id):
    bank_id = session.scalar(sa.select(Delivery.bank_id).where(Delivery.id == delivery_id))
    return {"bank_id": bank_id} if bank_id else None


# --- what the sender sends -------------------------------------------------------------

def users_with_due_deliveries(session, at, limit):
    """Whose outbound deliveries are due, most overdue first (read without locks)."""
    rows = session.execute(
        sa.select(Delivery.user_id).where(Delivery.status == domain.PENDING, Delivery.next_attempt_at <= at)
        .order_by(Delivery.next_attempt_at).limit(limit)
    ).scalars()
    return list(dict.fromkeys(rows))


def lock_recipient(session, user_id):
    """Take the person's row lock, or None if another sender holds it: one sender at a time
    decides what a person gets (the digest counts what went out before)."""
    return session.scalar(sa.select(Recipient).where(Recipient.user_id == user_id)
                          .with_for_update(skip_locked=True))


def due_deliveries(session, user_id, at):
    """A person's due outbound deliveries with their notifications, oldest first, locked."""
    return session.execute(
        sa.select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.user_id == user_id, Delivery.status == domain.PENDING, Delivery.next_attempt_at <= at)
        .order_by(Delivery.created_at, Delivery.id)
        .with_for_update(of=Delivery).execution_options(populate_existing=True)
    ).all()


def recent_shift_emails(session, user_id, at, window):
    """When shift emails went to this person within `window` before `at` (a digest once)."""
    return list(session.scalars(
        sa.select(sa.func.min(Delivery.sent_at))
        .where(Delivery.user_id == user_id, Delivery.channel == domain.EMAIL,
               Delivery.status == domain.SENT, Delivery.type.in_(domain.DIGESTIBLE),
               Delivery.sent_at > at - window)
        .group_by(sa.func.coalesce(Delivery.digest_id, Delivery.id))
    ))


def next_due(session):
    """When the next pending delivery is due, or None."""
    return session.scalar(sa.select(sa.func.min(Delivery.next_attempt_at))
                          .where(Delivery.status == domain.PENDING))

