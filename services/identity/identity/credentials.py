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


def attempt_login(uow, email, password, now=None):
    """Check a password. A wrong one, or an unknown email (at the same cost), is recorded as a
    failure in this unit of work, so it counts even though the call then fails."""
    now = now or clock.now()
    email = domain.normalise_email(email)
    user = uow.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and password_matches(user.password_hash, password):
        return domain.LoginAttempt(user_id=user.id, deactivated=user.deactivated_at is not None)
    if user is None:
        password_matches(_DUMMY_HASH, password)
    recent = uow.session.scalar(
        sa.select(sa.func.count()).where(
            LoginFailure.email == email, LoginFailure.failed_at > now - domain.LOGIN_FAILURE_WINDOW
        )
    )
    uow.session.add(LoginFailure(email=email, failed_at=now))
    attempt = domain.LoginAttempt(user_id=None, throttled=domain.login_throttled(recent))
    log.info("login failed", extra={"email": email, "known_account": user is not None,
                                    "throttled": attempt.throttled})
    return attempt


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
