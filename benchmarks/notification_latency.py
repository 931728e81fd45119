"""`python -m benchmarks.notification_latency [--seconds N] [--rate R]`: from `shift.published` to
the first candidate's in-app notification, while R shifts a second are published (default 10).

Matching and notifications run as `make run` runs them (`python -m chassis.runner`, one process
each, their own fresh databases) on a vhost of their own (`staffbank_bench_latency`), with a
local SMTP server taking their email. This process plays identity, compliance and shifts: it
publishes their events on their exchanges, as they would, for a bank of 2,000 workers around 20
sites across England (four grades; each shift reaches a few dozen of them), waits until both
services know everyone, then publishes `shift.published` at the given rate for the given time.

A shift's latency is from its event's `occurred_at` to the moment this process first sees one
of its `shift.available` notifications committed in notifications' database (polled every
20 ms: what a worker's inbox would show), so it holds matching's release, the
`matching.candidates_ranked` relay and notifications' unit of work. Target p95 < 1 s.
Everything it creates is removed afterwards. Talks only to 127.0.0.1.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from kombu import Connection  # noqa: E402

from benchmarks.common import load_average, progress, row  # noqa: E402
from chassis import config as settings  # noqa: E402
from chassis.events import events_exchange, new_envelope  # noqa: E402
from chassis.migrate import drop_database  # noqa: E402
from notifications.testing import SmtpSink  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VHOST = "staffbank_bench_latency"
API = "http://guest:guest@127.0.0.1:15672"
SERVICES = {"matching": "matching.service:MatchingService",
            "notifications": "notifications.service:NotificationsService"}
WORKERS = 2_000
SITES = 20
GRADES = ("Band 5", "Band 6", "Band 7", "Band 8a")
BANK, ORGANISATION = str(uuid.uuid4()), str(uuid.uuid4())
TARGET_MS = 1000
POLL_SECONDS = 0.02


class Publisher:
    """Publishes events as their producers would: the envelope, on `<producer>.events`, routed
    by type, persistent, confirmed."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.producer = self.connection.Producer()

    def publish(self, producer, event_type, data):
        envelope = new_envelope(event_type, data, producer)
        exchange = events_exchange(producer)
        self.producer.publish(envelope, exchange=exchange, routing_key=event_type, serializer="json",
                              delivery_mode=2, declare=[exchange], retry=True)
        return envelope

    def close(self):
        self.connection.release()


def the_bank(rng):
    """Sites spread over England, each in its own town; workers living around them."""
    sites = [{"site_id": str(uuid.uuid4()), "latitude": rng.uniform(50.8, 54.8),
              "longitude": rng.uniform(-3.5, 0.5)} for _ in range(SITES)]
    workers = []
    for n in range(WORKERS):
        home = rng.choice(sites)
        workers.append({"worker_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "n": n,
                        "grade": rng.choice(GRADES),
                        "latitude": home["latitude"] + rng.gauss(0, 0.15),
                        "longitude": home["longitude"] + rng.gauss(0, 0.25)})
    return sites, workers


def seed(publisher, sites, workers):
    publisher.publish("identity", "bank.created", {"bank_id": BANK, "name": "Latency Bank"})
    publisher.publish("identity", "organisation.created", {
        "organisation_id": ORGANISATION, "bank_id": BANK, "name": "Latency Trust", "kind": "trust",
        "ods_code": None})
    for n, site in enumerate(sites):
        publisher.publish("identity", "site.created", {
            **site, "organisation_id": ORGANISATION, "bank_id": BANK, "name": f"Site {n}", "postcode": None})
    for worker in workers:
        publisher.publish("identity", "worker.registered", {
            "agency_id": None, "worker_id": worker["worker_id"], "user_id": worker["user_id"],
            "bank_id": BANK, "bank_number": f"W{worker['n'] + 1:06d}", "name": f"Worker {worker['n']}",
            "email": f"w{worker['n']}@example.org", "staff_type": "nurse", "grade": worker["grade"],
            "extra_grades": [], "specialty": None, "registration_body": None, "registration_number": None,
            "latitude": worker["latitude"], "longitude": worker["longitude"], "max_travel_km": 50.0,
            "opted_out_of_48h": False, "status": "active"})
        publisher.publish("compliance", "compliance.cleared", {
            "worker_id": worker["worker_id"], "bank_id": BANK, "status": "cleared", "missing": [],
            "version": 1, "cleared_until": None})


def shift_published(rng, sites, starts_at):
    site = rng.choice(sites)
    return {"shift_id": str(uuid.uuid4()), "site_id": site["site_id"], "organisation_id": ORGANISATION,
            "bank_id": BANK, "staff_type": "nurse", "grade": rng.choice(GRADES),
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=8)).isoformat(),
            "hourly_rate": "32.00", "standard_rate": "32.00", "status": "open", "worker_id": None,
            "to": "bank", "priority_group_id": None}


def wait_until(what, predicate, timeout, processes):
    deadline = time.monotonic() + timeout
    while not predicate():
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see its log in .run/bench")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.5)


class Watcher(threading.Thread):
    """Polls notifications' database for the first shift.available of each shift published."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine = engine
        self.published = {}  # shift id -> occurred_at (epoch seconds)
        self.seen = {}  # shift id -> first seen (epoch seconds)
        self.stopped = threading.Event()

    def run(self):
        statement = sa.text("SELECT DISTINCT source_key FROM notifications "
                            "WHERE type = 'shift.available' AND source_key = ANY(:keys)")
        with self.engine.connect() as connection:
            while not self.stopped.is_set():
                waiting = [f"shift.available:{s}" for s in list(self.published) if s not in self.seen]
                if waiting:
                    now = time.time()
                    for key in connection.execute(statement, {"keys": waiting}).scalars():
                        self.seen[key.split(":", 1)[1]] = now
                    connection.rollback()
                time.sleep(POLL_SECONDS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10, help="shifts published a second")
    args = parser.parse_args()
    rng = random.Random(16)
    requests.put(f"{API}/api/vhosts/{VHOST}", timeout=10).raise_for_status()
    requests.put(f"{API}/api/permissions/{VHOST}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
    server = settings.database_server_url()
    urls = {name: settings.with_database(server, f"staffbank_bench_latency_{name}") for name in SERVICES}
    logs = ROOT / ".run" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    processes, publisher, watcher = {}, None, None
    engines = {name: sa.create_engine(url) for name, url in urls.items()}
    print(f"\nNotification latency: shift.published -> first in-app notification, {args.rate:g} shifts/s "
          f"for {args.seconds:g} s, {WORKERS:,} workers, {SITES} sites (matching and notifications "
          "one process each)\n", flush=True)
    with SmtpSink() as smtp:
        try:
            for url in urls.values():
                drop_database(url)
            env = dict(os.environ, AMQP_URI=amqp, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port),
                       PYTHONUNBUFFERED="1",
                       **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()})
            for name, spec in SERVICES.items():
                progress(f"starting {name} (log: .run/bench/{name}.log)")
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "chassis.runner", spec], cwd=ROOT, env=env,
                    stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT)

            def count(name, sql):
                try:
                    with engines[name].connect() as connection:
                        return connection.execute(sa.text(sql)).scalar()
                except sa.exc.SQLAlchemyError:
                    return None  # not migrated yet

            wait_until("the services' queues", lambda: count("notifications", "SELECT 1") == 1
                       and count("matching", "SELECT 1") == 1, 120, processes)
            time.sleep(3)  # their consumers bind their queues at start
            sites, workers = the_bank(rng)
            publisher = Publisher(amqp)
            progress(f"publishing the bank: {SITES} sites, {WORKERS:,} workers registered and cleared")
            seed(publisher, sites, workers)
            wait_until("matching to index every worker", lambda: count(
                "matching", "SELECT count(DISTINCT worker_id) FROM reach") == WORKERS, 300, processes)
            wait_until("notifications to know every worker", lambda: (count(
                "notifications", "SELECT count(*) FROM recipients") or 0) >= WORKERS, 300, processes)

            watcher = Watcher(engines["notifications"])
            watcher.start()
            progress(f"publishing shift.published at {args.rate:g}/s for {args.seconds:g} s "
                     f"({load_average()})")
            tomorrow = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
            started, n = time.monotonic(), 0
            while time.monotonic() - started < args.seconds:
                due = started + n / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                data = shift_published(rng, sites, tomorrow + timedelta(hours=n % 240))
                envelope = publisher.publish("shifts", "shift.published", data)
                occurred_at = datetime.fromisoformat(envelope["occurred_at"])
                watcher.published[data["shift_id"]] = occurred_at.timestamp()
                n += 1
            elapsed = time.monotonic() - started
            progress(f"{n} published in {elapsed:.1f} s; waiting for their notifications")
            deadline = time.monotonic() + 60
            while len(watcher.seen) < n and time.monotonic() < deadline:
                time.sleep(0.2)
            named = count("matching", "SELECT count(*) FROM offers")
            told = count("notifications", "SELECT count(*) FROM notifications WHERE type = 'shift.available'")
            print()
            print(f"{'shifts published':<46} {n} ({n / elapsed:.1f}/s); {len(watcher.seen)} reached an "
                  "inbox; "
                  f"{named:,} workers named, {told:,} in-app notifications, {len(smtp.messages):,} emails",
                  flush=True)
            latencies = [watcher.seen[s] - watcher.published[s] for s in watcher.seen]
            if latencies:
                row("shift.published -> first in-app notification", latencies, TARGET_MS)
            if len(watcher.seen) < n:
                print(f"{n - len(watcher.seen)} shifts reached no inbox within 60 s", flush=True)
            print(f"\n({load_average()})\n", flush=True)
        finally:
            if watcher is not None:
                watcher.stopped.set()
            if publisher is not None:
                publisher.close()
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
            for engine in engines.values():
                engine.dispose()
            for url in urls.values():
                drop_database(url)
            requests.delete(f"{API}/api/vhosts/{VHOST}", timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
