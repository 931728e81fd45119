"""`make run`'s runner from scratch: fresh databases, real processes, the identity
flow over HTTP, email reaching the local mailbox it starts, a killed service restarted by the
runner, and ctrl-C stopping everything."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from chassis.config import with_database
from chassis.migrate import drop_database
from chassis.testing import TEST_SIGNING_KEY
from deploy.run import SERVICES, child_running

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _ in SERVICES]


def wait_ready(base, process, output, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(base + "/readyz", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert process.poll() is None, "".join(output)
        assert time.monotonic() < deadline, "the platform never became ready"
        time.sleep(0.3)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_ports(count):
    """The first of `count` consecutive ports free on this machine."""
    for _ in range(50):
        first = _free_port()
        if first + count < 65536 and all(_is_free(first + i) for i in range(count)):
            return first
    raise AssertionError(f"no {count} consecutive free ports")


def _is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def sample(url, name, **labels):
    """The value of one sample a process's metrics show (0 when absent)."""
    for family in text_string_to_metric_families(requests.get(url, timeout=10).text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0


def wait_for(predicate, seconds, message):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def test_the_local_runner_starts_the_platform_and_stops_on_ctrl_c(
    rabbit_config, database_server_url, free_port
):
    databases = {name: with_database(database_server_url, f"staffbank_runner_{name}_{os.getpid()}")
                 for name in NAMES}
    for url in databases.values():
        drop_database(url)
    env = dict(
        os.environ,
        AMQP_URI=rabbit_config["AMQP_URI"],
        **{f"{name.upper()}_DATABASE_URL": url for name, url in databases.items()},
        GATEWAY_PORT=str(free_port),
        BOOTSTRAP_ADMIN_EMAIL="root@example.org",
        BOOTSTRAP_ADMIN_PASSWORD="root-password-1",
        TOKEN_SIGNING_KEY=TEST_SIGNING_KEY,
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(_free_port()),  # nothing there: the runner's mailbox
        METRICS_PORT=str(metrics_from := _free_ports(len(NAMES))),
    )
    process = subprocess.Popen([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{free_port}"
    try:
        wait_ready(base, process, output)

        # every process serves its metrics on its own port, in the order the runner lists them
        listed = f"staffbank: metrics on {NAMES[0]} :{metrics_from}, {NAMES[1]} :{metrics_from + 1}"
        assert listed in "".join(output)
        for i, name in enumerate(NAMES):
            scraped = requests.get(f"http://127.0.0.1:{metrics_from + i}/metrics", timeout=10).text
            assert "# TYPE staffbank_messages_handled_total counter" in scraped, name
        gateway_metrics = f"http://127.0.0.1:{metrics_from + NAMES.index('gateway')}/metrics"

        for _ in range(50):
            login = requests.post(base + "/v1/auth/token",
                                  json={"email": "root@example.org", "password": "root-password-1"})
            if login.ok:
                break
            time.sleep(0.1)
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        bank = requests.post(base + "/v1/banks", json={"name": "Runner Bank"}, headers=auth).json()
        admin = requests.post(base + "/v1/users", headers=auth, json={
            "email": "admin@example.org", "password": "admin-password", "name": "Admin",
            "roles": [{"role": "bank_admin", "scope_type": "bank", "scope_id": bank["id"]}]})
        assert admin.status_code == 201, admin.text

        # A new practice: its bank's admin is emailed the getting-started steps, through the
        # local SMTP server the runner started (a practice is added again until notifications
        # has learnt of the admin: the two facts travel on different queues).
        mailed = "staffbank: mail to admin@example.org"
        org = None
        for attempt in range(5):
            org = requests.post(base + "/v1/organisations", headers=auth, json={
                "bank_id": bank["id"], "name": f"Practice {attempt}", "kind": "practice"}).json()
            try:
                wait_for(lambda: mailed in "".join(output), 4, "no email")
                break
            except AssertionError:
                continue
        assert mailed in "".join(output), "".join(output)
        assert any(p.read_text(errors="replace").count("admin@example.org")
                   for p in (ROOT / ".run" / "mail").glob("*admin@example.org*.eml"))
        site = requests.post(base + "/v1/sites", headers=auth, json={
            "organisation_id": org["id"], "name": "Surgery", "latitude": 52.2, "longitude": 0.12}).json()
        user = requests.post(base + "/v1/users", headers=auth, json={
            "email": "lead@example.org", "password": "lead-password", "name": "Lead",
            "roles": [{"role": "leadership", "scope_type": "bank", "scope_id": bank["id"]}]})
        assert user.status_code == 201, user.text
        worker = requests.post(base + "/v1/workers", json={
            "bank_id": bank["id"], "email": "gp@example.org", "password": "gp-password-1", "name": "GP",
            "staff_type": "gp", "grade": "salaried", "latitude": 52.2, "longitude": 0.1})
        assert worker.status_code == 201 and worker.json()["bank_number"] == "W000001"
        gp = requests.post(base + "/v1/auth/token", json={"email": "gp@example.org",
                                                           "password": "gp-password-1"}).json()
        me = requests.get(base + "/v1/me", headers={"Authorization": f"Bearer {gp['access_token']}"})
        assert me.json()["worker_id"] == worker.json()["id"]
        assert site["bank_id"] == bank["id"]
        assert sample(gateway_metrics, "staffbank_http_requests_total",
                      route="/v1/sites", method="POST", status="201") >= 1
        assert sample(f"http://127.0.0.1:{metrics_from}/metrics", "staffbank_rpc_seconds_count",
                      service="identity", method="issue_token", outcome="ok") >= 1

        # kill -9 a service: the runner starts it again by itself and the platform serves again.
        killed = child_running(process.pid, "identity")
        os.kill(killed, signal.SIGKILL)
        wait_ready(base, process, output, seconds=60)
        assert child_running(process.pid, "identity") not in (None, killed)
        assert requests.get(base + "/v1/me", headers=auth, timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=5)
        for url in databases.values():
            drop_database(url)
    text = "".join(output)
    assert process.returncode == 0, text
    assert "staffbank: email goes to a local SMTP server" in text
    assert "staffbank: identity exited with -9; restarting in 1 s" in text
    for name in NAMES:
        assert f'"message": "{name} stopped"' in text
    assert "Traceback" not in text  # a clean stop (DESIGN.md rule 7)
