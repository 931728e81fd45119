"""DESIGN.md rule 7 / API.md "Availability": broker and database outages under load are
ridden out.

Every service and the gateway reach RabbitMQ and PostgreSQL through FaultProxies that a test
cuts (connections dropped, new ones refused, as `rabbitmqctl stop_app` or a stopped database
does) and restores, while clients post shifts; then it checks that nothing answered but 201 or
503 with Retry-After, nobody waited past the gateway's timeout, the platform served again
within 10 s of the return unaided, every process is up, and every acknowledged shift is there.
`TEST_OUTAGE_SECONDS=60` runs the outages for a minute (the default keeps the suite quick).
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eventlet
import pytest
import requests

from chassis.config import with_database
from chassis.faults import FaultProxy
from chassis.migrate import drop_database
from chassis.testing import TEST_SIGNING_KEY
from gateway.service import GatewayService
from identity.service import IdentityService
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, CARD, SERVICE_CLASSES, Api, _wait_for_admin

OUTAGE_SECONDS = int(os.environ.get("TEST_OUTAGE_SECONDS", "5"))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def broker_proxy(rabbit_config):
    proxy = FaultProxy("127.0.0.1", 5672).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def database_proxy():
    proxy = FaultProxy("127.0.0.1", 5432).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def platform_via_proxy(broker_proxy, database_proxy, container_factory, service_config, free_port,
                       rabbit_config):
    """Every service and the gateway, their broker and databases behind the proxies (set up
    first, so that they are torn down after the containers have stopped)."""
    amqp = broker_proxy.uri(rabbit_config["AMQP_URI"])
    containers = {}
    for cls in SERVICE_CLASSES + (GatewayService,):
        extra = {"WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port}"} if cls is GatewayService else {}
        if cls is IdentityService:
            extra = {"BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL, "BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD}
        config = service_config(cls, AMQP_URI=amqp, **extra)
        config["DB_URL"] = database_proxy.uri(config["DB_URL"])
        containers[cls.name] = container_factory(cls, config)
        containers[cls.name].start()
    api = Api(f"http://127.0.0.1:{free_port}")
    _wait_for_admin(api)
    yield api, containers
    for container in containers.values():  # while the proxy still stands (it goes after them)
        stopped = False
        with eventlet.Timeout(10, False):
            container.stop()
            stopped = True
        if not stopped:
            container.kill()


@pytest.mark.parametrize("server", ["broker", "database"])
def test_an_outage_under_load_is_ridden_out(platform_via_proxy, broker_proxy, database_proxy, server):
    api, containers = platform_via_proxy
    proxy = broker_proxy if server == "broker" else database_proxy
    admin = api.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    bank = api.created("/v1/banks", {"name": "Outage Bank"}, token=admin)
    org = api.created("/v1/organisations", {"bank_id": bank["id"], "name": "Trust", "kind": "trust"},
                      token=admin)
    site = api.created("/v1/sites", {"organisation_id": org["id"], "name": "General", "latitude": 53.4,
                                     "longitude": -2.2}, token=admin)
    assert api.put("/v1/rate-cards", {"bank_id": bank["id"], "staff_type": "doctor", "grade": "ST3", **CARD},
                   token=admin).status_code == 200
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    outcomes = []  # (sent at, status, seconds, shift id or None)
    stop = eventlet.event.Event()

    def post_shifts(client):
        session = requests.Session()
        n = 0
        while not stop.ready():
            n += 1
            body = {"site_id": site["id"], "staff_type": "doctor", "grade": "ST3",
                    "starts_at": (start + timedelta(days=client * 50 + n % 40)).isoformat(),
                    "ends_at": (start + timedelta(days=client * 50 + n % 40, hours=8)).isoformat()}
            sent = time.monotonic()
            try:
                response = session.post(api.base_url + "/v1/shifts", json=body, timeout=40, headers={
                    "Authorization": f"Bearer {admin}", "Idempotency-Key": uuid.uuid4().hex})
                status = response.status_code
                shift_id = response.json().get("id") if status == 201 else None
                retry_after = response.headers.get("Retry-After")
            except requests.RequestException as exc:
                status, shift_id, retry_after = type(exc).__name__, None, None
            outcomes.append((sent, status, time.monotonic() - sent, shift_id, retry_after))
            eventlet.sleep(0.05)

    clients = [eventlet.spawn(post_shifts, c) for c in range(3)]
    eventlet.sleep(2)
    proxy.cut()
    eventlet.sleep(OUTAGE_SECONDS)
    proxy.restore()
    back_at = time.monotonic()
    eventlet.sleep(12)
    stop.send()
    for client in clients:
        client.wait()

    statuses = [o[1] for o in outcomes]
    tally = {s: statuses.count(s) for s in set(statuses)}
    assert set(statuses) <= {201, 503} and 503 in statuses, tally
    assert all(o[4] for o in outcomes if o[1] == 503), "503 without Retry-After"
    assert max(o[2] for o in outcomes) < 35, "a request hung past the gateway's timeout"
    served_again = [o[0] for o in outcomes if o[1] == 201 and o[0] > back_at]
    assert served_again and min(served_again) - back_at < 10, "not serving within 10 s of the return"
    for name, container in containers.items():
        assert not container._died.ready(), f"{name} died"
    for _, status, _, shift_id, _ in outcomes:
        if status == 201:  # every acknowledged write is there
            assert api.get(f"/v1/shifts/{shift_id}", token=admin).status_code == 200



def test_sigterm_stops_a_service_within_10_s_while_the_broker_is_down(
    broker_proxy, rabbit_config, database_server_url
):
    database = with_database(database_server_url, f"staffbank_outage_stop_{os.getpid()}")
    drop_database(database)
    env = dict(os.environ, AMQP_URI=broker_proxy.uri(rabbit_config["AMQP_URI"]),
               IDENTITY_DATABASE_URL=database, TOKEN_SIGNING_KEY=TEST_SIGNING_KEY)
    process = subprocess.Popen([sys.executable, "-m", "chassis.runner", "identity.service:IdentityService"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any('"message": "identity started"' in line for line in output):
            assert process.poll() is None and time.monotonic() < deadline, "".join(output)
            time.sleep(0.1)
        broker_proxy.cut()
        time.sleep(1)
        stopping, lines_before_stop = time.monotonic(), len(output)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert time.monotonic() - stopping < 10, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=5)
        drop_database(database)
    text = "".join(output[lines_before_stop:])
    assert '"message": "identity stopped"' in text, text
    assert "Traceback" not in text, text  # the outage itself is logged with its cause; the stop is clean
