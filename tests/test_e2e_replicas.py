"""Two processes of every service (`python -m deploy.run --replicas NAME=2`, as `make run
REPLICAS=...` starts them), sharing each service's database and queues as competing consumers,
under a burst of work through the public API: every effect happens exactly once (the reports
count each shift once, each worker hears of each shift once and is welcomed once, no email goes
out twice), and both processes of each service consume its queues."""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

from chassis.config import with_database
from chassis.events import DEAD_LETTER_SUFFIX
from chassis.migrate import drop_database
from chassis.testing import TEST_SIGNING_KEY
from compliance.domain import KINDS
from deploy.run import SERVICES
from notifications.testing import SmtpSink

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _ in SERVICES]
REPLICATED = [name for name in NAMES if name != "gateway"]
ROOT_LOGIN = {"email": "root@example.org", "password": "root-password-1"}
WORKERS = 6
SHIFTS = 12
BOOKED = 4
CANCELLED = 2


class Client:
    def __init__(self, base):
        self.base, self.session = base, requests.Session()

    def call(self, method, path, body=None, token=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.request(method, self.base + path, json=body, headers=headers, timeout=30)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def token(self, email, password):
        return self.call("POST", "/v1/auth/token", {"email": email, "password": password})["access_token"]


def poll(predicate, seconds, message):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, message()
        time.sleep(0.5)


def _started(rabbit_config, database_server_url, free_port, smtp):
    databases = {name: with_database(database_server_url, f"staffbank_replicas_{name}_{os.getpid()}")
                 for name in NAMES}
    for url in databases.values():
        drop_database(url)
    env = dict(os.environ, AMQP_URI=rabbit_config["AMQP_URI"], GATEWAY_PORT=str(free_port),
               **{f"{name.upper()}_DATABASE_URL": url for name, url in databases.items()},
               BOOTSTRAP_ADMIN_EMAIL=ROOT_LOGIN["email"], BOOTSTRAP_ADMIN_PASSWORD=ROOT_LOGIN["password"],
               TOKEN_SIGNING_KEY=TEST_SIGNING_KEY, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port),
               NOTIFICATION_POLL_SECONDS="0.2")
    replicas = [arg for name in REPLICATED for arg in ("--replicas", f"{name}=2")]
    process = subprocess.Popen([sys.executable, "-m", "deploy.run", *replicas], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True).start()
    return process, output, databases


def _consumers_by_queue(rabbit_config):
    vhost = requests.utils.unquote(rabbit_config["AMQP_URI"].rsplit("/", 1)[1])
    queues = requests.get(f"http://127.0.0.1:15672/api/queues/{requests.utils.quote(vhost, safe='')}",
                          auth=("guest", "guest"), timeout=10).json()
    return {q["name"]: q.get("consumers", 0) for q in queues}


def test_two_processes_of_each_service_do_every_effect_exactly_once(
    rabbit_config, database_server_url, free_port
):
    smtp = SmtpSink().start()
    process, output, databases = _started(rabbit_config, database_server_url, free_port, smtp)
    api = Client(f"http://127.0.0.1:{free_port}")
    try:
        def ready():
            assert process.poll() is None, "".join(output[-50:])
            try:
                return requests.get(api.base + "/readyz", timeout=10).status_code == 200
            except requests.RequestException:
                return False

        poll(ready, 180, lambda: "the platform never became ready:\n" + "".join(output[-50:]))
        log_lines = "".join(output)
        assert all(f"{name}-2 " in log_lines for name in REPLICATED), log_lines[-3000:]

        def login():
            try:
                return api.token(**ROOT_LOGIN)
            except AssertionError:
                return None

        poll(lambda: login() is not None, 30, lambda: "the bootstrap admin never appeared")
        root = login()
        bank = api.call("POST", "/v1/banks", {"name": "Replica Bank"}, root)
        organisation = api.call("POST", "/v1/organisations", {"bank_id": bank["id"], "name": "Replica Trust",
                                                              "kind": "trust"}, root)
        site = api.call("POST", "/v1/sites", {"organisation_id": organisation["id"], "name": "General",
                                              "latitude": 53.48, "longitude": -2.24}, root)
        staff = {}
        for role, scope_type, scope_id in (("bank_admin", "bank", bank["id"]),
                                           ("rota_coordinator", "site", site["id"])):
            email = f"{role}@example.org"
            api.call("POST", "/v1/users", {"email": email, "password": "staff-password-1", "name": role,
                                           "roles": [{"role": role, "scope_type": scope_type,
                                                      "scope_id": scope_id}]}, root)
            staff[role] = api.token(email, "staff-password-1")
        api.call("PUT", "/v1/rate-cards", {"bank_id": bank["id"], "staff_type": "doctor", "grade": "ST3",
                                           "day_rate": "50.00", "night_rate": "60.00",
                                           "weekend_rate": "70.00", "bank_holiday_rate": "90.00"},
                 staff["bank_admin"])

        def onboard(n):
            email = f"worker{n}@example.org"
            worker = api.call("POST", "/v1/workers", {
                "bank_id": bank["id"], "email": email, "password": "worker-password-1", "name": f"Worker {n}",
                "staff_type": "doctor", "grade": "ST3", "registration_body": "GMC",
                "registration_number": f"70000{n}", "latitude": 53.45, "longitude": -2.2,
                "max_travel_km": 30})
            token = api.token(email, "worker-password-1")
            expires_on = (date.today() + timedelta(days=365)).isoformat()
            for kind in KINDS:
                body = {"kind": kind, "reference": f"{n}-{kind}", "expires_on": expires_on}
                document = api.call("POST", f"/v1/workers/{worker['id']}/documents", body, token)
                api.call("POST", f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                         staff["bank_admin"])
            return worker, token, email

        with ThreadPoolExecutor(WORKERS) as pool:
            workers = list(pool.map(onboard, range(WORKERS)))
        poll(lambda: all(api.call("GET", f"/v1/workers/{w['id']}", token=t)["status"] == "active"
                         for w, t, _ in workers), 60, lambda: "the workers never became active")

        monday = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=2)

        def post(n):
            starts_at = monday + timedelta(days=n)
            return api.call("POST", "/v1/shifts", {
                "site_id": site["id"], "staff_type": "doctor", "grade": "ST3",
                "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=8)).isoformat(),
                "publish": {"to": "bank"}}, staff["rota_coordinator"])

        with ThreadPoolExecutor(6) as pool:
            shifts = list(pool.map(post, range(SHIFTS)))
        assert {s["status"] for s in shifts} == {"open"}

        def inbox(token):
            return api.call("GET", "/v1/notifications?limit=200", token=token)["items"]

        def offered(token):
            return Counter(n["data"]["shift_id"] for n in inbox(token) if n["type"] == "shift.available")

        poll(lambda: all(len(offered(t)) == SHIFTS for _, t, _ in workers), 60,
             lambda: f"not every worker heard of every shift: {[len(offered(t)) for _, t, _ in workers]}")

        for shift, (worker, _, _) in zip(shifts[:BOOKED], workers, strict=False):
            api.call("POST", f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]},
                     staff["rota_coordinator"])
        for shift in shifts[-CANCELLED:]:
            api.call("POST", f"/v1/shifts/{shift['id']}/cancel", {"reason": "covered internally"},
                     staff["rota_coordinator"])

        expected = {"key": site["id"], "posted": SHIFTS, "filled": BOOKED, "cancelled": CANCELLED}

        def fill_rate():
            items = api.call("GET", f"/v1/reports/fill-rate?bank_id={bank['id']}&group_by=site",
                             token=staff["bank_admin"])["items"]
            return [{k: item[k] for k in expected} for item in items]

        poll(lambda: fill_rate() == [expected], 30, lambda: f"fill rate {fill_rate()} != {[expected]}")

        # Exactly once, everywhere: each worker heard of each shift once, was welcomed once, and
        # was told of its booking once; reporting counted each shift once (above, and still).
        time.sleep(3)  # anything doubled would have landed by now
        for n, (_, token, _) in enumerate(workers):
            items = inbox(token)
            kinds = Counter(item["type"] for item in items)
            assert offered(token) == dict.fromkeys((s["id"] for s in shifts), 1)
            assert kinds["worker.activated"] == 1, kinds
            assert kinds["shift.booked"] == (1 if n < BOOKED else 0), kinds
        assert fill_rate() == [expected]
        sent = Counter((str(m["To"]), str(m["Subject"]), m.get_body(("plain",)).get_content())
                       for m in smtp.messages)
        assert sent and max(sent.values()) == 1, [k[:2] for k, v in sent.items() if v > 1]
        welcomes = Counter(str(m["To"]) for m in smtp.messages if "Welcome" in str(m["Subject"]))
        assert welcomes == {email: 1 for _, _, email in workers}, welcomes

        # and each service's queues, its RPC queue and its event queues, are consumed by both
        # of its processes
        # (the management API's figures are sampled every 5 s: a busy broker may show a queue's
        # consumers late, so they are read until they agree or 20 s have passed)
        def consumed_by_both():
            consumers = _consumers_by_queue(rabbit_config)
            mine = {name: {q: c for q, c in consumers.items() if q == f"rpc-{name}"
                           or (q.startswith(f"{name}.on_") and not q.endswith(DEAD_LETTER_SUFFIX))}
                    for name in REPLICATED}
            wrong = {name: queues for name, queues in mine.items()
                     if f"rpc-{name}" not in queues or set(queues.values()) != {2}}
            return None if wrong else mine

        poll(consumed_by_both, 20,
             lambda: f"queues not consumed by both processes: {_consumers_by_queue(rabbit_config)}")
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        smtp.stop()
        for url in databases.values():
            drop_database(url)
