"""Access tokens: HS256 JWTs carrying `sub` and `exp`, signed with TOKEN_SIGNING_KEY.

Identity signs; the gateway verifies. Verification pins the algorithm, so a token
with `alg: none` or signed with another key or algorithm is rejected.
"""

import uuid
from datetime import UTC, datetime, timedelta

import jwt

from chassis.config import check_signing_key

ALGORITHM = "HS256"
ISSUER = "staffbank"


class InvalidToken(Exception):
    pass


def signing_key(config):
    """TOKEN_SIGNING_KEY from `config`; ConfigError (a RuntimeError) if it is missing, short, a known
    placeholder or too predictable. Identity and the gateway list it in `required_config`, so the
    same check refuses to start them (chassis.config.check_config) before any request needs it."""
    return check_signing_key(config.get("TOKEN_SIGNING_KEY"))


def issue(key, subject, ttl_seconds, now=None):
    now = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(key, token):
    """The token's subject; InvalidToken for anything expired, tampered or malformed."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return claims["sub"]
