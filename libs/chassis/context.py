"""Correlation ids and structured logs.

A correlation id enters at the gateway (`X-Request-Id`, or a new one), rides in
nameko's worker context data (so RPC calls carry it as a header), is stamped on
every event envelope the worker emits, and is restored by the event handler that
consumes it. Each worker's id is kept in a greenthread-local so every log line
written while it runs carries it.
"""

import json
import logging
import sys
import threading
import uuid
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider

CORRELATION_KEY = "correlation_id"
# The AMQP correlation id of the RPC request a worker serves (chassis.rpc.DomainRpc): the same
# for a request delivered twice, so its result can be kept and given again.
RPC_REQUEST_KEY = "rpc_request_id"
RPC_REDELIVERED_KEY = "rpc_redelivered"  # the broker delivered this request before

_local = threading.local()  # green-local once eventlet has monkey-patched threading


def current_correlation_id():
    return getattr(_local, "correlation_id", None)


def set_correlation_id(value):
    _local.correlation_id = value


def new_correlation_id():
    return uuid.uuid4().hex


class Correlation(DependencyProvider):
    """Gives each worker a correlation id (inherited or new) and exposes it."""

    def worker_setup(self, worker_ctx):
        cid = worker_ctx.data.get(CORRELATION_KEY) or new_correlation_id()
        worker_ctx.data[CORRELATION_KEY] = cid
        set_correlation_id(cid)

    def worker_teardown(self, worker_ctx):
        set_correlation_id(None)

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get(CORRELATION_KEY)


class ContextData(DependencyProvider):
    """The worker's context data (a dict): what is set here travels with its RPC calls."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.data


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation_id, extras."""

    RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def __init__(self, service=None):
        super().__init__()
        self.service = service

    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, CORRELATION_KEY, None) or current_correlation_id(),
        }
        if self.service:
            entry["service"] = self.service
        for key, value in vars(record).items():
            if key not in self.RESERVED and key != CORRELATION_KEY:
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class DropExpectedErrors(logging.Filter):
    """nameko logs a caller's mistake (an expected exception) with a traceback; it is not ours."""

    def filter(self, record):
        return not (record.name == "nameko.containers" and record.msg.startswith("(expected)"))


def configure_logging(service=None, level=None, stream=None):
    level = level or logging.INFO
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(DropExpectedErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "nameko", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
