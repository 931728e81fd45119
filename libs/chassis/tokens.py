"""Access tokens: HS256 JWTs carrying `sub` and `exp`, signed with TOKEN_SIGNING_KEY.

Identity signs; the gateway verifies. Verification pins the algorithm, so a token
with `alg: none` or signed with another key or algorithm is rejected.
"""

import uuid
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "staffbank"
MIN_KEY_LENGTH = 32


class InvalidToken(Exception):
    pass


def signing_key(config):
    key = config.get("TOKEN_SIGNING_KEY")
    if not key or len(key) < MIN_KEY_LENGTH:
        raise RuntimeError(
            f"TOKEN_SIGNING_KEY must be set to a secret of at least {MIN_KEY_LENGTH} characters"
        )
    return key


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
