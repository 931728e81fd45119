"""An HR or payroll system's consumer of Staffbank's payroll events: a small, standalone pika program.

    python examples/hr_consumer.py --amqp-url amqp://hr:secret@broker:5672/ --output pay-events.jsonl

- Its own durable queue (`--queue`, default `hr.payroll`) bound to the `payroll.events` topic exchange
  for `pay_run.closed` and `timesheet.approved` (`--bind`, repeatable). Staffbank declares the exchange;
  this program only declares and binds its own queue, so broker credentials that may do just that
  (configure/write/read on `hr\\..*`, read on `payroll.events`) are enough (DESIGN.md rule 8):
  `python -m chassis.brokeraccounts create hr` makes such an account.
- Delivery is at least once: Staffbank's relay may publish an event twice, and a message this program
  received but had not yet acknowledged when it stopped comes again. Every event is appended to the
  output file (one JSON object per line: event_id, type, version, occurred_at, received_at, data)
  and flushed to disk before it is acknowledged; the event ids already in the file are the record of
  what was seen, so a repeat is acknowledged and not written again. Exactly once in the file, across
  restarts and crashes (a line half-written by a crash is cut off at the next start).
- Envelopes of a version it does not know, or that are not JSON, are logged and rejected (not
  requeued): a real integration would park them in a queue of its own for someone to look at.
- It reconnects with a backoff when the broker goes away, and stops cleanly on SIGTERM or ctrl-C.

Only the standard library and pika: an outside system shares no code with Staffbank.
"""

import argparse
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime

import pika

log = logging.getLogger("hr_consumer")

EXCHANGE = "payroll.events"
KNOWN_VERSIONS = {"pay_run.closed": {1}, "timesheet.approved": {1}}


class Ledger:
    """The output file, and the event ids already in it."""

    def __init__(self, path):
        self.path = path
        self.seen = set()
        if os.path.exists(path):
            self._recover()
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open while consuming

    def _recover(self):
        with open(self.path, "rb+") as file:
            data = file.read()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) != len(data):  # a crash mid-write: drop the partial line
                file.truncate(len(complete))
        for line in complete.decode("utf-8").splitlines():
            if line.strip():
                self.seen.add(json.loads(line)["event_id"])

    def record(self, envelope):
        """Append the event unless it is already recorded; True if it was new."""
        if envelope["event_id"] in self.seen:
            return False
        entry = {key: envelope[key] for key in ("event_id", "type", "version", "occurred_at")}
        entry["received_at"] = datetime.now(UTC).isoformat()
        entry["data"] = envelope["data"]
        self.file.write(json.dumps(entry, sort_keys=True) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.seen.add(envelope["event_id"])
        return True


class Consumer:
    def __init__(self, url, queue, bindings, ledger, prefetch=10, delay=0.0):
        self.url, self.queue, self.bindings = url, queue, bindings
        self.ledger, self.prefetch, self.delay = ledger, prefetch, delay
        self.stopping = False
        self.connection = None

    def run(self):
        backoff = 1
        while not self.stopping:
            try:
                self._consume()
                backoff = 1
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosedByBroker,
                    pika.exceptions.StreamLostError) as exc:
                if self.stopping:
                    break
                log.warning("broker unavailable (%s); retrying in %ss", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)

    def _consume(self):
        self.connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = self.connection.channel()
            channel.exchange_declare(EXCHANGE, passive=True)  # Staffbank declares it; we only check
            channel.queue_declare(self.queue, durable=True)
            for routing_key in self.bindings:
                channel.queue_bind(self.queue, EXCHANGE, routing_key=routing_key)
            channel.basic_qos(prefetch_count=self.prefetch)
            channel.basic_consume(self.queue, self._on_message)
            log.info("consuming %s from %s (%s)", ", ".join(self.bindings), EXCHANGE, self.queue)
            while not self.stopping:
                self.connection.process_data_events(time_limit=0.5)
        finally:
            if self.connection.is_open:
                self.connection.close()

    def _on_message(self, channel, method, properties, body):
        try:
            envelope = json.loads(body)
            known = KNOWN_VERSIONS.get(envelope["type"], set())
            if envelope["version"] not in known:
                raise ValueError(f"{envelope['type']} v{envelope['version']} is not known here")
        except (ValueError, KeyError, TypeError) as exc:
            log.error("rejecting a message we cannot read: %s", exc)
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        if self.delay:
            time.sleep(self.delay)  # a slow downstream system (used by the tests)
        if self.ledger.record(envelope):
            log.info("recorded %s %s", envelope["type"], envelope["event_id"])
        else:
            log.info("already recorded %s %s", envelope["type"], envelope["event_id"])
        channel.basic_ack(method.delivery_tag)

    def stop(self, *_):
        self.stopping = True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--queue", default="hr.payroll")
    parser.add_argument("--bind", action="append", help="routing key (event type); repeatable")
    parser.add_argument("--output", default="hr-events.jsonl")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to spend on each message")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s hr_consumer %(levelname)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    url = args.amqp_url.replace("pyamqp://", "amqp://", 1)  # kombu's spelling, as Staffbank's config has it
    consumer = Consumer(url, args.queue, args.bind or ["pay_run.closed", "timesheet.approved"],
                        Ledger(args.output), delay=args.delay)
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    consumer.run()
    log.info("stopped")


if __name__ == "__main__":
    main()
