"""The sender: sends pending email, SMS and push deliveries and marks them sent, in every
notifications process (like chassis/outbox.py's relay: woken right after a commit that queued
deliveries, otherwise polling).

Exactly once per person, source and channel, with any number of replicas: a pass takes one
person at a time under that person's row lock (`FOR UPDATE SKIP LOCKED`: a person another
replica is sending to is skipped, not waited for), re-reads their due deliveries under it, sends,
and marks them sent (emitting `notification.delivered`) in the same transaction. A crash between
the SMTP server's acceptance and the commit sends that email again (at least once, like the
relay; the Message-ID is the delivery's id, so mail systems can tell); nothing is marked sent
that was not sent. A failed send is tried again with backoff (`NOTIFICATION_RETRY_DELAYS`), then
marked `failed` in the delivery log, where a bank admin sees it and can send it again.
"""

import logging
from datetime import timedelta

from nameko.extensions import DependencyProvider

from chassis.clock import now
from chassis.db import Database, UnitOfWork
from chassis.loops import BackgroundLoop
from chassis.tables import new_id
from notifications import domain, queries
from notifications.channels import Outgoing, SendFailed, Undeliverable, channels_from
from notifications.use_cases import delivered_fact

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds between passes when nobody wakes the sender
BATCH = 500  # due deliveries looked at per pass


def settings_from(config):
    defaults = domain.Settings()
    window = config.get("NOTIFICATION_DIGEST_WINDOW_SECONDS")
    return domain.Settings(
        portal_url=config.get("PORTAL_URL") or defaults.portal_url,
        digest_limit=int(config.get("NOTIFICATION_DIGEST_LIMIT") or defaults.digest_limit),
        digest_window=timedelta(seconds=float(window)) if window else defaults.digest_window,
        retry_delays=tuple(config.get("NOTIFICATION_RETRY_DELAYS") or defaults.retry_delays),
    )


def _message(notification):
    return domain.Message(notification.type, notification.title, notification.body, notification.data)


def _settle(uow, pairs, error, at, settings, digest_id=None):
    """Mark what one send did to its deliveries: sent (and published), or failed this time."""
    for delivery, notification in pairs:
        delivery.attempts += 1
        if error is None:
            delivery.status, delivery.sent_at, delivery.next_attempt_at = domain.SENT, at, None
            delivery.digest_id = digest_id
            uow.correlation_id = notification.correlation_id
            uow.emit("notification.delivered",
                     delivered_fact(notification.id, delivery.user_id, delivery.type, delivery.channel, at))
            continue
        delivery.last_error = str(error)[:1000]
        retry = None if isinstance(error, Undeliverable) else domain.next_attempt(
            delivery.attempts, settings.retry_delays, at)
        delivery.next_attempt_at = retry
        if retry is None:
            delivery.status = domain.FAILED
            log.error("%s delivery %s failed for good after %d attempts: %s", delivery.channel, delivery.id,
                      delivery.attempts, error)


def _address(delivery):
    """Email goes to the address; SMS and push adapters are told whose it is."""
    if delivery.channel == domain.EMAIL:
        return delivery.address
    return delivery.address or f"user {delivery.user_id}"


def _send(uow, channel, pairs, outgoing, at, settings, digest_id=None):
    try:
        channel.send(outgoing)
    except SendFailed as exc:
        log.warning("%s to %s not sent: %s", channel.name, outgoing.to, exc)
        _settle(uow, pairs, exc, at, settings)
        return
    _settle(uow, pairs, None, at, settings, digest_id)


def send_for_user(uow, user_id, channels, settings, at):
    """Send one person's due deliveries (quiet hours and the digest applied); how many moved."""
    session = uow.session
    if queries.lock_recipient(session, user_id) is None:
        return 0  # another sender has this person right now
    due = queries.due_deliveries(session, user_id, at)
    if not due:
        return 0
    quiet = domain.quiet_until(queries.preferences_of(session, [user_id])[user_id], at)
    if quiet is not None:
        for delivery, _ in due:
            delivery.next_attempt_at = quiet
        return len(due)
    by_id = {delivery.id: (delivery, notification) for delivery, notification in due}
    emails = [d for d, _ in due if d.channel == domain.EMAIL]
    plan = domain.plan_emails([domain.DueEmail(d.id, d.type, d.held_for_digest) for d in emails],
                              queries.recent_shift_emails(session, user_id, at, settings.digest_window), at,
                              settings.digest_limit, settings.digest_window)
    for delivery_id in plan.hold:
        delivery = by_id[delivery_id][0]
        delivery.held_for_digest, delivery.next_attempt_at = True, plan.hold_until
    singles = plan.single + [d.id for d, _ in due if d.channel != domain.EMAIL]
    if len(plan.digest) == 1:
        singles += plan.digest
    for delivery_id in singles:
        delivery, notification = by_id[delivery_id]
        subject, text = domain.email_text(_message(notification), settings.portal_url)
        _send(uow, channels[delivery.channel], [(delivery, notification)],
              Outgoing(_address(delivery), subject, text, delivery.id), at, settings)
    if len(plan.digest) > 1:
        pairs = [by_id[delivery_id] for delivery_id in plan.digest]
        subject, text = domain.digest_text([_message(n) for _, n in pairs], settings.portal_url)
        digest_id = new_id()
        _send(uow, channels[domain.EMAIL], pairs, Outgoing(pairs[0][0].address, subject, text, digest_id), at,
              settings, digest_id)
    return len(due)


class Sender(BackgroundLoop, DependencyProvider):
    """`self.sender` in the service: `wake()` after a commit that queued deliveries, and the
    operator's `settings` (portal link, digest, retries)."""

    loop_name = "notification-sender"

    def setup(self):
        config = self.container.config
        self.settings = settings_from(config)
        self.channels = channels_from(config)
        self.poll_interval = float(config.get("NOTIFICATION_POLL_SECONDS") or POLL_INTERVAL)
        self.enabled = config.get("NOTIFICATION_SENDER_ENABLED", True)

    def start(self):
        if self.enabled:
            self.start_loop()

    def stop(self):
        self.stop_loop()

    def kill(self):
        self.kill_loop()

    def get_dependency(self, worker_ctx):
        return self

    def _database(self):
        return next(ext for ext in self.container.dependencies if isinstance(ext, Database))

    def run_once(self):
        return self.send_pending() > 0

    def send_pending(self):
        """One pass over the people with due deliveries; how many deliveries moved."""
        database = self._database()
        session = database.session_factory()

        def committed(emitted):
            if emitted:
                database.relay.wake()

        moved = 0
        try:
            users = queries.users_with_due_deliveries(session, now(), BATCH)
            session.rollback()
            for user_id in users:
                if not self.looping and self._loop_thread is not None:
                    break
                with UnitOfWork(session, self.container.service_name, on_commit=committed) as uow:
                    moved += send_for_user(uow, user_id, self.channels, self.settings, now())
        finally:
            session.close()
        return moved
