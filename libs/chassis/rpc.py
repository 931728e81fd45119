"""`@domain_rpc`: the RPC entrypoint services use.

- DomainErrors are the caller's fault: nameko logs them as expected and the caller
  gets them back as themselves.
- A value the database cannot store (e.g. a NUL character) is the caller's fault too: 422.
- The call is one transaction (chassis.db): its units of work are savepoints, and it
  commits once at its end, returned or raised. A call carrying an idempotency key
  commits its effects together with its result, and a repeated key gets the first
  result back without acting again.
"""

import functools

from nameko.rpc import RpcProxy, rpc
from sqlalchemy.exc import DataError, StatementError

from chassis.errors import DomainError, Invalid

# How long a caller waits for an answer (the gateway's request timeout); a request still
# queued after that has nobody waiting for it.
RPC_TIMEOUT_SECONDS = 30


class ServiceRpc(RpcProxy):
    """`RpcProxy` whose requests expire (a per-message TTL) once their caller has stopped
    waiting, so that a service coming back after an outage does not act for callers who gave
    up long ago (DESIGN.md rule 7). Every service and the gateway call others through it."""

    def __init__(self, target_service, expiration=RPC_TIMEOUT_SECONDS, **options):
        super().__init__(target_service, expiration=expiration, **options)


def domain_rpc(fn):
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        key = self.db.request_key
        if key is not None:
            earlier = self.db.stored_result(key)
            if earlier is not None:
                return earlier[0]
        self.db.begin_call()
        try:
            result = fn(self, *args, **kwargs)
        except StatementError as exc:
            self.db.end_call(raised=True)
            # psycopg2 refuses e.g. NUL characters (ValueError) or over-long values (DataError)
            if isinstance(exc, DataError) or isinstance(exc.orig, ValueError):
                raise Invalid("a value cannot be stored",
                              errors={"_schema": [str(exc.orig).strip()]}) from exc
            raise
        except BaseException:
            self.db.end_call(raised=True)  # what completed units of work did is kept, as outside a call
            raise
        return self.db.end_call(key, result)

    # nameko's decorator drops keyword arguments when applied directly to a function,
    # so build the configured decorator first.
    return rpc(expected_exceptions=(DomainError,))(call)
