"""Passwords and login: argon2id hashing off the event loop, tokens for the right password,
and the failed attempts the login throttle counts (domain.check_login decides)."""

import logging

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

from chassis import clock, tokens
from identity import domain
from identity.models import LoginFailure, User

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def hash_password(password):
    return tpool.execute(_hasher.hash, password)  # argon2 is CPU-bound: keep it off the hub


def password_matches(password_hash, password):
    try:
        return tpool.execute(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def attempt_login(uow, email, password, client_address=None,
                  address_limit=domain.DEFAULT_LOGIN_ADDRESS_FAILURE_LIMIT, now=None):
    """Check a password from `client_address` (the gateway's client; None: counted for no address).
    First, with no hash, refuse an attempt domain.login_refused_unchecked refuses (not recorded: it
    guessed nothing). Then a wrong password, or an unknown email (at the same cost), is recorded as
    a failure in this unit of work, so it counts even though the call then fails.

    Attempts in flight are not counted until they end, so a burst from one address may pass the
    limit by as many attempts as identity handles at once (MAX_WORKERS per replica)."""
    now = now or clock.now()
    email = domain.normalise_email(email)
    recent = recent_failures(uow.session, email, client_address, since=now - domain.LOGIN_FAILURE_WINDOW)
    if domain.login_refused_unchecked(recent, address_limit):
        log.warning("login refused unchecked", extra={"email": email, "client_address": client_address,
                                                      "address_failures": recent.address})
        return domain.LoginAttempt(user_id=None, throttled=True)
    user = uow.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and password_matches(user.password_hash, password):
        return domain.LoginAttempt(user_id=user.id, deactivated=user.deactivated_at is not None)
    if user is None:
        password_matches(_DUMMY_HASH, password)
    uow.session.add(LoginFailure(email=email, failed_at=now, client_address=client_address))
    attempt = domain.LoginAttempt(user_id=None, throttled=domain.login_throttled(recent.account))
    log.info("login failed", extra={"email": email, "known_account": user is not None,
                                    "client_address": client_address, "throttled": attempt.throttled})
    return attempt


def recent_failures(session, email, client_address, since):
    """domain.RecentFailures of `email` and `client_address` since `since`, in one query."""
    of_email = LoginFailure.email == email
    # No address: nothing counts as "from here" (callers without one do not share a NULL address).
    from_here = LoginFailure.client_address == client_address if client_address else sa.false()
    row = session.execute(
        sa.select(sa.func.count().filter(of_email), sa.func.count().filter(of_email & from_here),
                  sa.func.count().filter(from_here))
        .where(LoginFailure.failed_at > since, of_email | from_here)
    ).one()
    return domain.RecentFailures(account=row[0], account_here=row[1], address=row[2])


def token_for(attempt, key, ttl_seconds, now=None):
    """The access token a successful attempt earns; a failed one is refused (401 or 429)."""
    user_id = domain.check_login(attempt)
    return {
        "access_token": tokens.issue(key, user_id, ttl_seconds, now=now),
        "token_type": "bearer",
        "expires_in": ttl_seconds,
    }


def prune_login_failures(uow, now=None):
    """Failures older than the throttle window no longer count; drop them."""
    now = now or clock.now()
    uow.session.execute(
        sa.delete(LoginFailure).where(LoginFailure.failed_at < now - domain.LOGIN_FAILURE_WINDOW)
    )
