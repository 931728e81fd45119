"""`make bench`: throughput and latency of the identity path and the event pipeline.

Starts identity and the gateway in this process on their own vhost
(`staffbank_bench`) and fresh databases, then measures and prints:
- login (argon2 verify) latency,
- GET /v1/me and POST /v1/workers through the gateway at a fixed concurrency,
- the outbox: from a committed registration to the event reaching a consumer queue.
Everything it creates is removed afterwards. Talks only to 127.0.0.1.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime  # noqa: E402

import requests  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402

from benchmarks.common import progress, row  # noqa: E402
from chassis import config as settings  # noqa: E402
from chassis.context import configure_logging  # noqa: E402
from chassis.migrate import drop_database, migrate  # noqa: E402
from chassis.runner import migrations_dir  # noqa: E402
from chassis.testing import TEST_SIGNING_KEY, EventTap  # noqa: E402
from gateway.service import GatewayService  # noqa: E402
from identity.service import IdentityService  # noqa: E402

VHOST = "staffbank_bench"
PORT = 18089
CONCURRENCY = 20
DURATION_SECONDS = 5
API = "http://guest:guest@127.0.0.1:15672"


def load(fn, duration=DURATION_SECONDS, concurrency=CONCURRENCY):
    """Call fn(i) from `concurrency` green clients for `duration` seconds; latencies and time."""
    latencies, counter = [], iter(range(10**9))
    deadline = time.monotonic() + duration

    def client():
        while time.monotonic() < deadline:
            started = time.monotonic()
            fn(next(counter))
            latencies.append(time.monotonic() - started)

    started = time.monotonic()
    pool = eventlet.GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn(client)
    pool.waitall()
    return latencies, time.monotonic() - started


def main():
    configure_logging("bench", level=logging.ERROR, stream=sys.stderr)  # figures only on stdout
    requests.put(f"{API}/api/vhosts/{VHOST}", timeout=10).raise_for_status()
    requests.put(f"{API}/api/permissions/{VHOST}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
    server = settings.database_server_url()
    urls = {name: settings.with_database(server, f"staffbank_bench_{name}")
            for name in ("identity", "gateway")}
    containers = []
    try:
        progress("migrating fresh databases")
        for name, cls in (("identity", IdentityService), ("gateway", GatewayService)):
            drop_database(urls[name])
            migrate(urls[name], migrations_dir(cls))
        admin_email, admin_password = "bench@example.org", "bench-password"
        for name, cls, extra in (
            ("identity", IdentityService, {"BOOTSTRAP_ADMIN_EMAIL": admin_email,
                                            "BOOTSTRAP_ADMIN_PASSWORD": admin_password}),
            ("gateway", GatewayService, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{PORT}"}),
        ):
            config = settings.nameko_config(name, AMQP_URI=amqp, DB_URL=urls[name],
                                            TOKEN_SIGNING_KEY=TEST_SIGNING_KEY, **extra)
            container = ServiceContainer(cls, config)
            container.start()
            containers.append(container)
        base = f"http://127.0.0.1:{PORT}"
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY))
        for _ in range(100):
            login = session.post(base + "/v1/auth/token",
                                 json={"email": admin_email, "password": admin_password})
            if login.ok:
                break
            eventlet.sleep(0.1)
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        bank = session.post(base + "/v1/banks", json={"name": "Bench"}, headers=auth).json()

        print(f"\nStaffbank benchmarks ({CONCURRENCY} concurrent clients, {DURATION_SECONDS}s each; "
              "clients and services share one process)\n", flush=True)
        progress("login (argon2id verify)")
        latencies, elapsed = load(lambda i: session.post(base + "/v1/auth/token", json={
            "email": admin_email, "password": admin_password}).raise_for_status(), concurrency=4)
        row("POST /v1/auth/token (4 clients)", latencies, elapsed=elapsed, width=34)

        progress("GET /v1/me")
        latencies, elapsed = load(lambda i: session.get(base + "/v1/me", headers=auth).raise_for_status())
        row("GET /v1/me", latencies, elapsed=elapsed, width=34)

        progress("POST /v1/workers, timing each event from commit to a consumer queue")
        run = uuid.uuid4().hex[:6]
        tap = EventTap(amqp, "identity.events", "worker.registered")
        lags, stop = [], []

        def consume():  # receipt time minus occurred_at (set inside the committing transaction)
            while not stop:
                message = tap.queue.get(no_ack=True)
                if message is None:
                    eventlet.sleep(0.005)
                    continue
                occurred = datetime.fromisoformat(json.loads(message.body)["occurred_at"])
                lags.append(time.time() - occurred.timestamp())

        consumer = eventlet.spawn(consume)

        def register(i):
            session.post(base + "/v1/workers", json={
                "bank_id": bank["id"], "email": f"w{run}-{i}@example.org", "password": "bench-password-1",
                "name": "W", "staff_type": "nurse", "grade": "Band 5", "latitude": 53.0, "longitude": -2.0,
            }).raise_for_status()

        latencies, elapsed = load(register)
        row("POST /v1/workers (argon2id hash)", latencies, elapsed=elapsed, width=34)
        deadline = time.monotonic() + 30
        while len(lags) < len(latencies) and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        stop.append(True)
        consumer.wait()
        print(f"{'events relayed':<34} {len(lags)}/{len(latencies)} worker.registered received", flush=True)
        row("outbox: emit -> consumer queue", lags, width=34)
        tap.close()
    finally:
        for container in containers:
            container.stop()
        for url in urls.values():
            drop_database(url)
        requests.delete(f"{API}/api/vhosts/{VHOST}", timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
