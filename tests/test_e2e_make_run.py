"""`make run`'s runner from scratch: fresh databases, real processes, the identity
flow over HTTP, and ctrl-C stopping everything."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from chassis.config import with_database
from chassis.migrate import drop_database

ROOT = Path(__file__).resolve().parents[1]


def test_the_local_runner_starts_the_platform_and_stops_on_ctrl_c(
    rabbit_config, database_server_url, free_port
):
    databases = {name: with_database(database_server_url, f"staffbank_runner_{name}_{os.getpid()}")
                 for name in ("identity", "compliance", "shifts", "payroll", "gateway")}
    for url in databases.values():
        drop_database(url)
    env = dict(
        os.environ,
        AMQP_URI=rabbit_config["AMQP_URI"],
        IDENTITY_DATABASE_URL=databases["identity"],
        COMPLIANCE_DATABASE_URL=databases["compliance"],
        SHIFTS_DATABASE_URL=databases["shifts"],
        PAYROLL_DATABASE_URL=databases["payroll"],
        GATEWAY_DATABASE_URL=databases["gateway"],
        GATEWAY_PORT=str(free_port),
        BOOTSTRAP_ADMIN_EMAIL="root@example.org",
        BOOTSTRAP_ADMIN_PASSWORD="root-password-1",
        TOKEN_SIGNING_KEY="runner-test-key-" + "z" * 32,
    )
    process = subprocess.Popen([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{free_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the platform never became ready"
            time.sleep(0.3)

        for _ in range(50):
            login = requests.post(base + "/v1/auth/token",
                                  json={"email": "root@example.org", "password": "root-password-1"})
            if login.ok:
                break
            time.sleep(0.1)
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        bank = requests.post(base + "/v1/banks", json={"name": "Runner Bank"}, headers=auth).json()
        org = requests.post(base + "/v1/organisations", headers=auth,
                            json={"bank_id": bank["id"], "name": "Practice", "kind": "practice"}).json()
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
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        for url in databases.values():
            drop_database(url)
    assert process.returncode == 0, output
    for name in ("identity", "compliance", "shifts", "payroll", "gateway"):
        assert f'"message": "{name} stopped"' in output
