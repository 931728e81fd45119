"""`Idempotency-Key` on creates (API.md "Conventions").

The first request with a key claims it (a row committed before the handler
runs); a concurrent duplicate gets 409 while the first is in flight; a retry
after it finished gets the stored response, same status, same id; a retry with
the same key but another body gets 422. A failed request releases its key. Keys
are scoped to the caller, method and path (anonymous callers, e.g. `POST /v1/workers`,
share one scope, so there the body is what binds a key: another body is refused, and
no one gets another's answer by guessing or reusing their key) and kept
IDEMPOTENCY_RETENTION_HOURS (default 24), the same setting services keep their results by.

The key (hashed with the caller, method and path) also travels to the service as
context data with the body's hash, and the service commits its effects together with
its result under that key, bound to that hash (chassis.db). So when the outcome is
unknown (the service timed out, or this gateway died mid-request), the claim is kept
until it goes stale (CLAIM_TIMEOUT) and the retry that follows gets the service's first
result, not a second resource; and a request whose key the gateway no longer holds
still gets a kept result only if it is the same request (else 422 from the service).
"""

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects.postgresql import insert

from chassis.config import idempotency_retention_hours
from chassis.db import IDEMPOTENCY_KEY, IDEMPOTENCY_REQUEST
from chassis.engines import engine_for
from gateway.models import idempotency_keys
from gateway.problems import Problem

CLAIM_TIMEOUT_SECONDS = 40  # longer than the gateway's RPC timeout (30 s)


def _digest(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Claim:
    engine: object
    key_hash: str
    request_hash: str
    replay: tuple | None = None

    def context(self):
        """Context data for the service call: the key, and the request it may answer."""
        return {IDEMPOTENCY_KEY: self.key_hash, IDEMPOTENCY_REQUEST: self.request_hash}

    def complete(self, status, payload):
        with self.engine.begin() as conn:
            conn.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.key_hash == self.key_hash)
                .values(status=status, response=payload)
            )

    def release(self):
        with self.engine.begin() as conn:
            conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.key_hash == self.key_hash, idempotency_keys.c.status.is_(None)
                )
            )


class IdempotencyStore(DependencyProvider):
    def setup(self):
        self.engine = engine_for(self.container.config["DB_URL"])
        self.claim_timeout = self.container.config.get("IDEMPOTENCY_CLAIM_TIMEOUT", CLAIM_TIMEOUT_SECONDS)
        self.retention_seconds = idempotency_retention_hours(self.container.config) * 3600

    def get_dependency(self, worker_ctx):
        return self

    def claim(self, key, caller, spec, path_values, body):
        if len(key) > 200:
            raise Problem(422, "validation-error", "Idempotency-Key is too long.",
                          errors={"Idempotency-Key": ["At most 200 characters."]})
        key_hash = _digest(caller, spec.method, spec.path, path_values, key)
        request_hash = _digest(body)
        with self.engine.begin() as conn:
            conn.execute(idempotency_keys.delete().where(
                idempotency_keys.c.created_at
                < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, self.retention_seconds)
            ))
            # Take the key, or take over a claim abandoned by a crashed request.
            taken = conn.execute(
                insert(idempotency_keys)
                .values(key_hash=key_hash, request_hash=request_hash)
                .on_conflict_do_update(
                    index_elements=[idempotency_keys.c.key_hash],
                    set_={"request_hash": request_hash, "created_at": sa.func.now()},
                    where=sa.and_(
                        idempotency_keys.c.status.is_(None),
                        idempotency_keys.c.created_at
                        < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, self.claim_timeout),
                    ),
                )
                .returning(idempotency_keys.c.key_hash)
            ).first()
            if taken is not None:
                return Claim(self.engine, key_hash, request_hash)
            row = conn.execute(
                sa.select(idempotency_keys).where(idempotency_keys.c.key_hash == key_hash)
            ).first()
        if row is None:  # released between our insert and select: the caller may retry
            raise Problem(409, "conflict", "A request with this Idempotency-Key just failed; retry.")
        if row.request_hash != request_hash:
            raise Problem(422, "validation-error",
                          "This Idempotency-Key was used with a different body.",
                          errors={"Idempotency-Key": ["Already used with a different body."]})
        if row.status is None:
            raise Problem(409, "conflict", "A request with this Idempotency-Key is in progress.")
        return Claim(self.engine, key_hash, request_hash, replay=(row.status, row.response))
