"""Prometheus metrics of one process, served on METRICS_PORT (DESIGN.md "Scale"), never on the
gateway's public port. `make run` gives its processes 9400, 9401, ... (deploy/run.py).

The chassis records them where the work happens: event handlers (chassis.handlers), RPC
entrypoints (chassis.rpc), the outbox relay (chassis.outbox) and the gateway's HTTP requests
(gateway.http); README "Operations" lists them with example alerts.

Labels are bounded: services, handler and method names, routes as templates (`/v1/shifts/{id}`,
never a raw path), status codes and outcomes.
"""

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# seconds: from a millisecond to the RPC timeout
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

MESSAGES_HANDLED = Counter(
    "staffbank_messages_handled", "Events taken off a queue, by handler and outcome: ok, duplicate "
    "(already applied: acked, nothing done), failed (sent to retry or to the dead letters), poison "
    "(unreadable or breaking its contract: dead-lettered at once)",
    ["service", "handler", "outcome"])
HANDLER_SECONDS = Histogram(
    "staffbank_handler_seconds", "Time an event handler took, success or failure",
    ["service", "handler"], buckets=LATENCY_BUCKETS)
RETRIES = Counter(
    "staffbank_handler_retries", "Failed events re-published to a retry queue for a later attempt",
    ["service", "handler"])
DEAD_LETTERS = Counter(
    "staffbank_dead_letters", "Events moved to a dead-letter queue (retries spent, or poison)",
    ["service", "handler"])
RPC_SECONDS = Histogram(
    "staffbank_rpc_seconds", "Time an RPC entrypoint took, by method and outcome (ok, error)",
    ["service", "method", "outcome"], buckets=LATENCY_BUCKETS)
OUTBOX_BACKLOG = Gauge(
    "staffbank_outbox_backlog", "Events committed to the outbox and not yet published", ["service"])
OUTBOX_OLDEST_SECONDS = Gauge(
    "staffbank_outbox_oldest_seconds", "Age of the oldest unpublished outbox event (0 when none)",
    ["service"])
HTTP_REQUESTS = Counter(
    "staffbank_http_requests", "Gateway requests by route template, method and status",
    ["route", "method", "status"])
HTTP_SECONDS = Histogram(
    "staffbank_http_request_seconds", "Gateway request latency by route template and method",
    ["route", "method"], buckets=LATENCY_BUCKETS)


def serve(config, service):
    """Serve this process's metrics if METRICS_PORT is set (METRICS_ADDRESS, default 127.0.0.1;
    0.0.0.0 in a container). Returns the port, or None."""
    port = config.get("METRICS_PORT")
    if not port:
        return None
    address = config.get("METRICS_ADDRESS") or "127.0.0.1"
    start_http_server(int(port), addr=address)
    log.info("%s serves metrics on http://%s:%s/metrics", service, address, port)
    return int(port)
