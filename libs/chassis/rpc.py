"""`@domain_rpc`: the RPC entrypoint services use.

- DomainErrors are the caller's fault: nameko logs them as expected and the caller
  gets them back as themselves.
- A value the database cannot store (e.g. a NUL character) is the caller's fault too: 422.
- A broker or database that cannot be reached is `Unavailable` (503), not a crash.
- The call is one transaction (chassis.db): its units of work are savepoints, and it
  commits once at its end, returned or raised. Its result is kept with its effects under
  the caller's idempotency key, or else under the request's own AMQP correlation id, so
  a request delivered again (its ack lost with the broker connection after it ran) gets
  the first result back without acting again. A kept result is bound to its request (the
  gateway's hash of the body under a key naming the caller, else the arguments): the same key with another
  request is refused (422), never answered with it; it is kept IDEMPOTENCY_RETENTION_HOURS.
- Its reply survives a broker outage (DomainRpc): publishing it is retried with backoff
  for as long as a caller could still be waiting, and a reply that cannot be sent is
  logged, never allowed to take the service down (DESIGN.md rule 7).
"""

import functools
import logging
import time

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from nameko.exceptions import UnknownService
from nameko.rpc import ReplyListener, Responder, Rpc, RpcProxy, get_rpc_exchange
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, StatementError

from chassis import broker, metrics
from chassis.context import RPC_REDELIVERED_KEY, RPC_REQUEST_KEY
from chassis.errors import DomainError, Invalid, Unavailable

log = logging.getLogger(__name__)
REPLY_RETRY_DELAYS = (0.2, 0.5, 1, 2, 4)  # then every 4 s, until RPC_TIMEOUT_SECONDS have passed

# How long a caller waits for an answer (the gateway's request timeout); a request still
# queued after that has nobody waiting for it.
RPC_TIMEOUT_SECONDS = 30


class SettlingReplyListener(ReplyListener):
    """nameko's listener for RPC replies, whose ack on a connection the broker just dropped
    killed the service (found by the soak); the reply it carried was received all the same."""

    def handle_message(self, body, message):
        broker.settle(self.queue_consumer.ack_message, message, "ack a reply")
        correlation_id = message.properties.get("correlation_id")
        client_event = self._reply_events.pop(correlation_id, None)
        if client_event is not None:
            client_event.send(body)


class ServiceRpc(RpcProxy):
    """`RpcProxy` whose requests expire (a per-message TTL) once their caller has stopped
    waiting, so that a service coming back after an outage does not act for callers who gave
    up long ago (DESIGN.md rule 7), and whose replies are received through a listener a lost
    connection does not kill. Every service and the gateway call others through it."""

    rpc_reply_listener = SettlingReplyListener()

    def __init__(self, target_service, expiration=RPC_TIMEOUT_SECONDS, **options):
        super().__init__(target_service, expiration=expiration, **options)


def is_database_outage(exc):
    """A lost or refused database connection (or a transaction the server gave up on), as
    opposed to a bug: the caller may retry."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class DomainRpc(Rpc):
    """nameko's RPC entrypoint, riding out broker outages (see the module docstring)."""

    def unpack_message_headers(self, message):
        context = super().unpack_message_headers(message)
        context[RPC_REQUEST_KEY] = message.properties.get("correlation_id")
        context[RPC_REDELIVERED_KEY] = bool(message.delivery_info.get("redelivered"))
        return context

    def handle_result(self, message, worker_ctx, result, exc_info):
        config = self.container.config
        responder = Responder(config["AMQP_URI"], get_rpc_exchange(config), config.get("serializer", "json"),
                              message, ssl=config.get("AMQP_SSL"), login_method=config.get("LOGIN_METHOD"))
        deadline = time.monotonic() + RPC_TIMEOUT_SECONDS
        for attempt in range(10_000):
            try:
                result, exc_info = responder.send_response(result, exc_info)
                break
            except (BrokerError, ConnectionError, OSError) as exc:
                if time.monotonic() >= deadline:
                    log.warning("%s: the reply could not be sent before its caller gave up (%s)",
                                worker_ctx.entrypoint.method_name, exc)
                    break
                eventlet.sleep(REPLY_RETRY_DELAYS[min(attempt, len(REPLY_RETRY_DELAYS) - 1)])
        # If the connection this request came on is gone the broker has already taken it back
        # and will deliver it again: the result kept under its correlation id answers that.
        broker.settle(self.rpc_consumer.queue_consumer.ack_message, message, "ack")
        return result, exc_info


def caller_error(exc):
    """The DomainError a failure is to the caller, or None for a bug (left to crash loudly)."""
    if isinstance(exc, StatementError):
        # psycopg2 refuses e.g. NUL characters (ValueError) or over-long values (DataError)
        if isinstance(exc, DataError) or isinstance(exc.orig, ValueError):
            return Invalid("a value cannot be stored", errors={"_schema": [str(exc.orig).strip()]})
        if is_database_outage(exc):
            return Unavailable("the database is unreachable; retry later")
    if isinstance(exc, (BrokerError, UnknownService)):
        return Unavailable("a service this call needs is unreachable; retry later")
    return None


def domain_rpc(fn):
    @functools.wraps(fn)
    def timed(self, *args, **kwargs):
        started, outcome = time.perf_counter(), "error"
        try:
            result = call(self, *args, **kwargs)
            outcome = "ok"
            return result
        finally:
            metrics.RPC_SECONDS.labels(self.name, fn.__name__, outcome).observe(time.perf_counter() - started)

    def call(self, *args, **kwargs):
        key = self.db.request_key
        fingerprint = self.db.request_fingerprint(args, kwargs) if key is not None else None
        self.db.begin_call()
        try:
            earlier = self.db.earlier_result(key, fingerprint)
            result = earlier[0] if earlier is not None else fn(self, *args, **kwargs)
        except BaseException as exc:
            self.db.end_call(raised=True)  # what completed units of work did is kept, as outside a call
            translated = caller_error(exc)
            if translated is not None:
                raise translated from exc
            raise
        if earlier is not None:
            self.db.end_call()  # nothing done: the result was kept before
            return result
        try:
            return self.db.end_call(key, result, fingerprint=fingerprint)
        except Exception as exc:  # the commit itself: its outcome is unknown to the caller
            translated = caller_error(exc)
            if translated is not None:
                raise translated from exc
            raise

    # nameko's decorator drops keyword arguments when applied directly to a function,
    # so build the configured decorator first.
    return DomainRpc.decorator(expected_exceptions=(DomainError,))(timed)
