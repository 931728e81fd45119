"""`make bench` (issue 22): the write path of the whole platform against a bare nameko floor.

    flock /tmp/staffbank-platform.lock .venv/bin/python -m benchmarks.write_path   # ~5 minutes
    python -m benchmarks.write_path --duration 4 --concurrency 1,10 --no-profile     # quicker

What it runs, in this order (each step prints a progress line):
1. the platform as `make run` runs it: each service and the gateway its own process
   (`python -m chassis.runner <module>:<Class>`, deploy.run.SERVICES), on a vhost
   (`staffbank_bench_wp`) and databases (`staffbank_benchwp_<service>`) of its own, the gateway and
   the metrics on free ports, a local SMTP sink for its email; and the floor
   (benchmarks/floor: three bare nameko services, each its own process, on `staffbank_bench_floor`)
   and beside it the floor with the guarantees (benchmarks/floor/kept.py: the same write on the
   chassis, five processes, databases `staffbank_benchwp_floor_<role>`);
2. the data, through the public HTTP API only: the bootstrap admin signs in and makes a bank, an
   organisation, a site, a rate card, the bank's compliance requirements (two kinds), a bank admin,
   a rota coordinator and a timesheet approver, WORKERS workers made active (registered, documents
   submitted and verified) living out of the site's reach (so a posted shift notifies one worker,
   not all), one reader worker near the site, and WINDOW_SHIFTS open shifts in the next 28 days
   for the reader's GET /v1/shifts/available;
3. the load, from a separate client process (benchmarks/load_client.py: C threads, each with its own
   requests.Session) at C = 1, 10 and 32, each cell a short window after a warm-up second, with the
   platform quiet before each (no ready message in any queue, its processes under 15% of a core):
   floor POST /post, the floor with the guarantees' POST /post (each floor's CPU per request read
   from /proc until its processes are idle again) and GET /get; then GET /v1/me,
   GET /v1/shifts/available, POST /v1/shifts, POST /v1/shifts/{id}/book and the lifecycle
   (load_client's docstring; its CPU per lifecycle read as the floors' is);
4. a profile of the write path: py-spy records every platform process (`--nonblocking`, 100 Hz)
   while the client posts shifts at C=10, and again while it books them; each process's RPC
   entrypoints are timed from its Prometheus metrics over the same window;
5. the broker's own floor with pika: persistent publishes with confirms into a durable quorum queue
   (one publisher, then 10), and consuming them with acks;
then prints the table (rate, p50, p95, p99, ratio to the floor) and writes benchmarks/RESULTS.md.
Everything it created (processes, databases, vhosts) is removed at the end, also on ctrl-C; logs and
the raw profiles stay in benchmarks/out/ (git-ignored). Talks only to 127.0.0.1.

Bookings: each booking takes a fresh open shift posted by the POST /v1/shifts cells (more are posted,
untimed, when they run short), for the worker its slot names: slot j is worker j % WORKERS's
(j // WORKERS)-th one-hour shift, 10:00-11:00 in London, seven days in a row then two days off, from
30 days ahead; recorded (lifecycle) shifts take the same pattern backwards from two days ago. So no
booking overlaps or breaks a working-time rule, and C concurrent bookings name C different workers.
"""

import argparse
import contextlib
import fcntl
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from benchmarks.common import load_average, percentile, progress
from benchmarks.floor import BARE_ROLES, KEPT_ROLES
from benchmarks.profile_summary import summarise_profile
from chassis import config as settings
from chassis.migrate import drop_database
from deploy.run import SERVICES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
LOCK_PATH = "/tmp/staffbank-platform.lock"
LONDON = ZoneInfo("Europe/London")
VHOST, FLOOR_VHOST = "staffbank_bench_wp", "staffbank_bench_floor"
DB_PREFIX = "staffbank_benchwp_"
RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672/"
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.org", "bench-admin-password-1"
STAFF_PASSWORD, WORKER_PASSWORD = "bench-staff-password-1", "bench-worker-password-1"
WORKERS = 48  # booking workers: more than the highest concurrency, so concurrent bookings never share one
WINDOW_SHIFTS = 60
FUTURE_FIRST_DAY, PAST_FIRST_DAY = 30, 2
CARD = {"day_rate": "50.00", "night_rate": "60.00", "weekend_rate": "70.00", "bank_holiday_rate": "90.00"}
SITE = (53.48, -2.24)  # Manchester
FAR = (51.50, -0.12)  # London: out of reach of the site for the booking workers
PAY_EVERY = 20  # lifecycles per pay run, per client


# --- small helpers -----------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slot_day(k):
    """The day offset of a worker's k-th slot: seven days in a row, then two days off."""
    return (k // 7) * 9 + k % 7


def slot_times(day_offset):
    day = date.today() + timedelta(days=day_offset)
    starts = datetime(day.year, day.month, day.day, 10, tzinfo=LONDON)
    return starts.isoformat(), (starts + timedelta(hours=1)).isoformat()


def take_lock():
    """The machine's platform lock (one whole-platform run at a time): held already if an ancestor
    took it (`flock /tmp/staffbank-platform.lock make bench`), else taken here, waiting if need be."""
    handle = open(LOCK_PATH, "a")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except OSError:
        pass
    if lock_held_by_ancestor():
        handle.close()
        return None
    progress(f"waiting for {LOCK_PATH} (another whole-platform run is going)")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def lock_held_by_ancestor():
    inode = os.stat(LOCK_PATH).st_ino
    holders = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if "FLOCK" in parts and parts[-3].rsplit(":", 1)[-1] == str(inode):
                holders.add(int(parts[-4]))
    pid = os.getpid()
    while pid > 1:
        if pid in holders:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return False
    return False


class Api:
    def __init__(self, base):
        self.base = base
        self.local = threading.local()

    @property
    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def call(self, method, path, body=None, token=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.request(method, self.base + path, json=body, headers=headers, timeout=60)
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json()

    def token(self, email, password):
        return self.call("POST", "/v1/auth/token", {"email": email, "password": password})["access_token"]


# --- the broker: vhosts and queues --------------------------------------------------------------


def make_vhost(name):
    requests.delete(f"{RABBIT_API}/api/vhosts/{name}", timeout=30)
    requests.put(f"{RABBIT_API}/api/vhosts/{name}", timeout=30).raise_for_status()
    requests.put(
        f"{RABBIT_API}/api/permissions/{name}/guest",
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    return AMQP_BASE + quote(name, safe="")


def delete_vhost(name):
    with contextlib.suppress(requests.RequestException):
        requests.delete(f"{RABBIT_API}/api/vhosts/{name}", timeout=30)


def ready_messages(amqp_uri, vhost):
    """Ready messages in every queue of `vhost`, read now (passive declares; the management API's
    counts lag by seconds)."""
    import pika

    names = [
        q["name"]
        for q in requests.get(
            f"{RABBIT_API}/api/queues/{quote(vhost, safe='')}", params={"columns": "name"}, timeout=30
        ).json()
    ]
    total = 0
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        for name in names:
            if name.endswith((".unrouted", ".dead-letter")) or name.startswith(("amq.", "staffbank.retry")):
                continue  # kept for people (no consumer) or waiting out a delay
            try:
                total += channel.queue_declare(name, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker:  # gone meanwhile (exclusive reply queues)
                channel = connection.channel()
    finally:
        connection.close()
    return total


# --- processes --------------------------------------------------------------------------------


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Processes:
    """Child processes started here (each in a session of its own), stopped by `stop`."""

    def __init__(self, logs):
        self.logs = logs
        self.children = {}  # name -> Popen

    def start(self, name, argv, env):
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - the child keeps it
        self.children[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def check(self):
        for name, process in self.children.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text()[-2000:]
                raise SystemExit(f"{name} exited with {process.returncode}:\n{tail}")

    def pid(self, name):
        return self.children[name].pid

    def cpu(self, names):
        return sum(cpu_seconds(self.children[n].pid) for n in names)

    def stop(self, names=None, grace=10):
        names = [n for n in (names or list(self.children)) if n in self.children]
        for name in names:
            if self.children[name].poll() is None:
                self.children[name].send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name in names:
            process = self.children.pop(name)
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_for(what, predicate, seconds, processes):
    started = time.monotonic()
    last = started
    while True:
        processes.check()
        with contextlib.suppress(requests.RequestException):
            if predicate():
                return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise SystemExit(f"{what}: not within {seconds} s (logs in {processes.logs})")
        if time.monotonic() - last > 10:
            progress(f"still waiting for {what} ({time.monotonic() - started:.0f} s)")
            last = time.monotonic()
        time.sleep(0.3)


# --- the load -------------------------------------------------------------------------------------


class Cell:
    """One measured window: `name` at concurrency `c`."""

    def __init__(self, name, c, result):
        self.name, self.c, self.result = name, c, result
        samples = [s for s in result["samples"] if s[2]]
        self.errors = len(result["samples"]) - len(samples)
        self.n = len(samples)
        latencies = sorted((end - start) * 1000 for start, end, _ in samples)
        self.latencies = latencies
        if samples:
            span = max(end for _, end, _ in samples) - result["warm"]
            self.rate = self.n / span if span > 0 else 0.0
            self.p50 = statistics.median(latencies)
            self.p95, self.p99 = percentile(latencies, 95), percentile(latencies, 99)
        else:
            self.rate = self.p50 = self.p95 = self.p99 = float("nan")

    def line(self):
        extra = f"  errors={self.errors}" if self.errors else ""
        return (
            f"{self.name:<38} c={self.c:<3} n={self.n:<5} {self.rate:8.1f}/s  p50={self.p50:7.1f} ms  "
            f"p95={self.p95:7.1f} ms  p99={self.p99:7.1f} ms{extra}"
        )


class Bench:
    def __init__(self, args):
        self.args = args
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logs = OUT / f"write_path-{stamp}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="staffbank-bench-"))
        self.processes = Processes(self.logs)
        self.cells = {}
        self.spec_counter = itertools.count()
        self.server = settings.database_server_url()
        self.db_urls = {
            name: settings.with_database(self.server, f"{DB_PREFIX}{name}") for name, _ in SERVICES
        }
        self.kept_db_prefix = settings.with_database(self.server, f"{DB_PREFIX}floor_")
        self.floor_cpu = {}  # floor measure name -> (c, CPU ms per request over its processes)
        self.post_items, self.post_next = [], 0
        self.posted = []  # (shift id, worker id) posted and not yet booked, in slot order
        self.lifecycle_next = 0
        self.notes = []
        self.profiles = {}
        self.broker = []
        self.sink = None

    # -- start and stop --

    def start_platform(self):
        progress(f"dropping any leftover benchmark databases; making vhosts {VHOST} and {FLOOR_VHOST}")
        for url in [*self.db_urls.values(), *(self.kept_db_prefix + role for role in KEPT_ROLES)]:
            drop_database(url)
        self.amqp = make_vhost(VHOST)
        self.floor_amqp = make_vhost(FLOOR_VHOST)
        from notifications.testing import SmtpSink

        self.sink = SmtpSink().start()
        self.port, self.floor_port, self.kept_port = free_port(), free_port(), free_port()
        self.base, self.floor_base = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.floor_port}"
        self.kept_base = f"http://127.0.0.1:{self.kept_port}"
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update(
            AMQP_URI=self.amqp,
            TOKEN_SIGNING_KEY=secrets.token_urlsafe(48),
            PYTHONUNBUFFERED="1",
            BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
            BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(self.port),
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(self.sink.port),
            PORTAL_URL=f"{self.base}/portal/",
            SERVICE_REPLICA="1",
        )
        for name, _ in SERVICES:
            env[f"{name.upper()}_DATABASE_URL"] = self.db_urls[name]
        self.metrics = {}
        progress(
            f"starting {len(SERVICES)} platform processes (python -m chassis.runner ...), gateway on "
            f":{self.port}; logs in {self.logs.relative_to(ROOT)}"
        )
        for name, spec in SERVICES:
            self.metrics[name] = free_port()
            self.processes.start(
                name,
                [sys.executable, "-m", "chassis.runner", spec],
                dict(env, METRICS_PORT=str(self.metrics[name])),
            )
        floor_env = dict(
            os.environ, FLOOR_AMQP_URI=self.floor_amqp, FLOOR_PORT=str(self.floor_port), PYTHONUNBUFFERED="1"
        )
        kept_env = dict(floor_env, FLOOR_PORT=str(self.kept_port), FLOOR_DATABASE_PREFIX=self.kept_db_prefix)
        for role in BARE_ROLES + KEPT_ROLES:
            self.processes.start(
                f"floor-{role}",
                [sys.executable, "-m", "benchmarks.floor.run", role],
                kept_env if role in KEPT_ROLES else floor_env,
            )
        took = wait_for(
            "the platform's /readyz",
            lambda: requests.get(self.base + "/readyz", timeout=10).ok,
            240,
            self.processes,
        )
        progress(f"platform ready after {took:.0f} s")
        wait_for(
            "the floor",
            lambda: requests.post(self.floor_base + "/post", json={}, timeout=10).status_code == 201,
            60,
            self.processes,
        )
        wait_for(
            "the floor with the guarantees",
            lambda: requests.post(self.kept_base + "/post", json={}, timeout=10).status_code == 201,
            60,
            self.processes,
        )

    def stop(self):
        progress("stopping every process; dropping the databases and vhosts")
        self.processes.stop()
        if self.sink is not None:
            self.sink.stop()
        for url in [*self.db_urls.values(), *(self.kept_db_prefix + role for role in KEPT_ROLES)]:
            with contextlib.suppress(Exception):
                drop_database(url)
        delete_vhost(VHOST)
        delete_vhost(FLOOR_VHOST)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- data --

    def setup(self):
        api = self.api = Api(self.base)
        admin = wait_until_token(api)
        progress("setting up through the API: bank, organisation, site, rate card, requirements, staff")
        bank = api.call("POST", "/v1/banks", {"name": "Bench Bank"}, admin)
        org = api.call(
            "POST",
            "/v1/organisations",
            {"bank_id": bank["id"], "name": "Bench Trust", "kind": "trust"},
            admin,
        )
        site = api.call(
            "POST",
            "/v1/sites",
            {
                "organisation_id": org["id"],
                "name": "Bench General",
                "latitude": SITE[0],
                "longitude": SITE[1],
            },
            admin,
        )
        tokens = {}
        for user, role, scope_type, scope_id in (
            ("bank_admin", "bank_admin", "bank", bank["id"]),
            ("coordinator", "rota_coordinator", "site", site["id"]),
            ("approver", "timesheet_approver", "site", site["id"]),
        ):
            email = f"bench.{user}@example.org"
            api.call(
                "POST",
                "/v1/users",
                {
                    "email": email,
                    "password": STAFF_PASSWORD,
                    "name": user,
                    "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}],
                },
                admin,
            )
            tokens[user] = api.token(email, STAFF_PASSWORD)
        api.call(
            "PUT",
            "/v1/rate-cards",
            {"bank_id": bank["id"], "staff_type": "doctor", "grade": "ST3", **CARD},
            tokens["bank_admin"],
        )
        kinds = ["identity", "dbs"]
        api.call(
            "PUT",
            "/v1/compliance-requirements",
            {"bank_id": bank["id"], "staff_type": "doctor", "kinds": kinds},
            tokens["bank_admin"],
        )
        self.ctx = {"bank": bank["id"], "site": site["id"], **tokens}
        progress(
            f"making {WORKERS} active workers and one reader (register, sign in, {len(kinds)} documents "
            "verified, wait for active)"
        )
        started = time.monotonic()
        done = Counter()

        def worker(n):
            near = n == WORKERS
            email = f"bench.worker{n}@example.org"
            where = SITE if near else FAR
            made = api.call(
                "POST",
                "/v1/workers",
                {
                    "bank_id": bank["id"],
                    "email": email,
                    "password": WORKER_PASSWORD,
                    "name": f"Worker {n}",
                    "staff_type": "doctor",
                    "grade": "ST3",
                    "latitude": where[0] + 0.02,
                    "longitude": where[1],
                    "max_travel_km": 50 if near else 5,
                },
            )
            token = api.token(email, WORKER_PASSWORD)
            expires = (date.today() + timedelta(days=365)).isoformat()
            for kind in kinds:
                document = api.call(
                    "POST",
                    f"/v1/workers/{made['id']}/documents",
                    {"kind": kind, "reference": f"{email}-{kind}", "expires_on": expires},
                    token,
                )
                api.call(
                    "POST",
                    f"/v1/documents/{document['id']}/verify",
                    {"outcome": "verified"},
                    tokens["bank_admin"],
                )
            deadline = time.monotonic() + 60
            while api.call("GET", f"/v1/workers/{made['id']}", token=token)["status"] != "active":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {n} never became active")
                time.sleep(0.2)
            done["n"] += 1
            if done["n"] % 16 == 0:
                progress(f"{done['n']}/{WORKERS + 1} workers active ({time.monotonic() - started:.0f} s)")
            return made["id"], token

        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(worker, range(WORKERS + 1)))
        self.workers, self.reader = made[:WORKERS], made[WORKERS]
        progress(
            f"{WORKERS + 1} workers active in {time.monotonic() - started:.0f} s; posting {WINDOW_SHIFTS} "
            "open shifts in the next 28 days for GET /v1/shifts/available"
        )

        def window_shift(i):
            day = date.today() + timedelta(days=1 + i % 27)
            starts = datetime(day.year, day.month, day.day, 7 + (i // 27) * 4, tzinfo=LONDON)
            api.call(
                "POST",
                "/v1/shifts",
                self.shift_body(
                    starts.isoformat(), (starts + timedelta(hours=3)).isoformat(), publish={"to": "bank"}
                ),
                self.ctx["coordinator"],
            )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(window_shift, range(WINDOW_SHIFTS)))
        deadline = time.monotonic() + 15
        while True:
            available = api.call("GET", "/v1/shifts/available", token=self.reader[1])["items"]
            if len(available) >= WINDOW_SHIFTS or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.notes.append(
            f"GET /v1/shifts/available lists {len(available)} open shifts for the reader (the default window)"
        )

    def shift_body(self, starts_at, ends_at, **extra):
        return {
            "site_id": self.ctx["site"],
            "staff_type": "doctor",
            "grade": "ST3",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "break_minutes": 0,
            **extra,
        }

    def next_post_items(self, n):
        """POST /v1/shifts items for the next n booking slots (open to the bank at once)."""
        while len(self.post_items) < self.post_next + n:
            j = len(self.post_items)
            starts_at, ends_at = slot_times(FUTURE_FIRST_DAY + slot_day(j // WORKERS))
            self.post_items.append(
                {
                    "method": "POST",
                    "path": "/v1/shifts",
                    "expect": [201],
                    "body": self.shift_body(starts_at, ends_at, publish={"to": "bank"}),
                    "token": self.ctx["coordinator"],
                    "worker": self.workers[j % WORKERS][0],
                }
            )
        return self.post_items[self.post_next : self.post_next + n]

    # -- running cells --

    def client(self, spec, label):
        """Run the load client process on `spec`; its result."""
        n = next(self.spec_counter)
        spec_path, out_path = self.tmp / f"spec-{n}.json", self.tmp / f"out-{n}.json"
        spec_path.write_text(json.dumps(spec))
        process = subprocess.run(
            [sys.executable, "-m", "benchmarks.load_client", str(spec_path), str(out_path)],
            cwd=ROOT,
            timeout=spec["duration"] + 120,
            capture_output=True,
            text=True,
        )
        if process.returncode != 0:
            raise SystemExit(f"load client for {label} failed:\n{process.stderr[-3000:]}")
        return json.loads(out_path.read_text())

    def quiet(self, names):
        """Wait (at most 45 s) until no queue of the platform's vhost holds a ready message and its
        processes use under 15% of a core."""
        started = time.monotonic()
        while time.monotonic() - started < 45:
            before = self.processes.cpu(names)
            time.sleep(0.5)
            busy = (self.processes.cpu(names) - before) / 0.5
            if busy < 0.15 and ready_messages(self.amqp, VHOST) == 0:
                return time.monotonic() - started
        self.notes.append("the platform was not quiet within 45 s before a cell")
        return time.monotonic() - started

    def cell(self, name, c, spec, settle=True):
        platform_names = [n for n, _ in SERVICES]
        if settle:
            self.quiet(platform_names)
        spec = {"base": self.base, "concurrency": c, "duration": self.args.duration, "warmup": 1.0, **spec}
        result = self.client(spec, f"{name} c={c}")
        cell = Cell(name, c, result)
        cell.load1 = os.getloadavg()[0]  # other work on the machine shows here
        self.cells[(name, c)] = cell
        print("  " + cell.line(), flush=True)
        if cell.errors:
            for error in result["errors"][:3]:
                print(f"      error: {error}", flush=True)
        return cell

    def floor_cells(self, c):
        for name, base, roles in (("floor POST /post", self.floor_base, BARE_ROLES),
                                  (KEPT_FLOOR, self.kept_base, KEPT_ROLES)):
            names = [f"floor-{role}" for role in roles]
            self.settle_floor(names)
            before = self.processes.cpu(names)
            cell = self.cell(
                name,
                c,
                {
                    "base": base,
                    "scenario": "requests",
                    "cycle": True,
                    "items": [
                        {
                            "method": "POST",
                            "path": "/post",
                            "expect": [201],
                            "body": self.shift_body("2026-01-01T10:00:00+00:00", "2026-01-01T11:00:00+00:00"),
                        }
                    ],
                },
            )
            self.settle_floor(names)  # the events its requests caused are consumed: their cost counts
            made = sum(cell.result["statuses"].values())
            cpu_ms = (self.processes.cpu(names) - before) * 1000 / max(1, made)
            self.floor_cpu.setdefault(name, {})[c] = cpu_ms
        self.cell(
            "floor GET /get",
            c,
            {
                "base": self.floor_base,
                "scenario": "requests",
                "cycle": True,
                "items": [{"method": "GET", "path": "/get", "expect": [200]}],
            },
        )

    def settle_floor(self, names):
        """Wait (at most 20 s) until the floor's processes use under 5% of a core."""
        started = time.monotonic()
        while time.monotonic() - started < 20:
            before = self.processes.cpu(names)
            time.sleep(0.5)
            if (self.processes.cpu(names) - before) / 0.5 < 0.05:
                return

    def post_cell(self, c, name="POST /v1/shifts", settle=True):
        items = self.next_post_items(max(600, 150 * self.args.duration))
        result_cell = self.cell(
            name,
            c,
            {
                "scenario": "requests",
                "keep": True,
                "items": [{k: v for k, v in item.items() if k != "worker"} for item in items],
            },
            settle=settle,
        )
        self.collect_posted(items, result_cell.result)
        return result_cell

    def collect_posted(self, items, result):
        kept = {int(k): v for k, v in result["kept"].items()}
        for i in range(result["consumed"]):
            if i in kept:
                self.posted.append((kept[i], items[i]["worker"]))
        self.post_next += result["consumed"]

    def ensure_posted(self, n):
        if len(self.posted) >= n:
            return
        missing = n - len(self.posted)
        progress(f"posting {missing} more open shifts to book (untimed)")
        items = self.next_post_items(missing)
        spec = {
            "base": self.base,
            "scenario": "requests",
            "keep": True,
            "concurrency": 10,
            "duration": 600,
            "warmup": 0,
            "items": [{k: v for k, v in item.items() if k != "worker"} for item in items],
        }
        self.collect_posted(items, self.client(spec, "posting"))

    def book_items(self, n):
        self.ensure_posted(n)
        taken, self.posted = self.posted[:n], self.posted[n:]
        return [
            {
                "method": "POST",
                "path": f"/v1/shifts/{shift_id}/book",
                "expect": [200],
                "body": {"worker_id": worker_id},
                "token": self.ctx["coordinator"],
            }
            for shift_id, worker_id in taken
        ]

    def bookings_needed(self, c):
        """Enough fresh shifts for a booking window at `c`: 1.6 times what the last booking window at
        this concurrency (or else the posting window) managed, so few are posted untimed."""
        rate = 0.0
        for name in ("POST /v1/shifts/{id}/book", "POST /v1/shifts"):
            cell = self.cells.get((name, c)) or self.cells.get((name, 10))
            if cell is not None and cell.rate == cell.rate:  # not NaN
                rate = cell.rate
                break
        return max(40, int(rate * (self.args.duration + 1) * 1.6) or 200)

    def book_cell(self, c, name="POST /v1/shifts/{id}/book", settle=True):
        items = self.book_items(self.bookings_needed(c))
        result_cell = self.cell(name, c, {"scenario": "requests", "items": items}, settle=settle)
        unused = items[result_cell.result["consumed"] :]
        # bookings not made go back to the front of the queue
        self.posted = [
            (item["path"].split("/")[3], item["body"]["worker_id"]) for item in unused
        ] + self.posted
        return result_cell

    def lifecycle_items(self, n):
        items = []
        for p in range(self.lifecycle_next, self.lifecycle_next + n):
            worker_id, token = self.workers[p % WORKERS]
            starts_at, ends_at = slot_times(-(PAST_FIRST_DAY + slot_day(p // WORKERS)))
            items.append(
                {
                    "shift": self.shift_body(starts_at, ends_at, worker_id=worker_id),
                    "coordinator": self.ctx["coordinator"],
                    "worker": token,
                    "approver": self.ctx["approver"],
                }
            )
        return items

    def lifecycle_cell(self, c, name="lifecycle", settle=True):
        items = self.lifecycle_items(max(300, 60 * self.args.duration))
        today = date.today()
        names = [n for n, _ in SERVICES]
        if settle:
            self.quiet(names)
        cpu_before = {n: self.processes.cpu([n]) for n in names}
        result_cell = self.cell(
            name,
            c,
            {
                "scenario": "lifecycle",
                "items": items,
                "pay_every": PAY_EVERY,
                "pay_run": {
                    "token": self.ctx["bank_admin"],
                    "body": {
                        "bank_id": self.ctx["bank"],
                        "period_start": (today - timedelta(days=400)).isoformat(),
                        "period_end": today.isoformat(),
                    },
                },
            },
            settle=False,
        )
        if settle:  # (a profile settles and counts CPU itself)
            self.quiet(names)  # the events its requests caused are consumed: their cost counts
        made = result_cell.result["consumed"]
        result_cell.cpu_by_process = {
            n: (self.processes.cpu([n]) - cpu_before[n]) * 1000 / max(1, made) for n in names
        }
        result_cell.cpu_ms = sum(result_cell.cpu_by_process.values())
        self.lifecycle_next += made
        steps = result_cell.result["steps"]
        result_cell.steps = {name: (len(v), statistics.median(v) * 1000) for name, v in steps.items() if v}
        return result_cell

    # -- profile --

    def profile(self, label, route, start_load):
        """py-spy on every platform process, and RPC timings from metrics, while `start_load` runs."""
        names = [n for n, _ in SERVICES]
        seconds = self.args.duration + 1
        before = {n: scrape(self.metrics[n]) for n in names}
        cpu_before, clock_before = {n: cpu_seconds(self.processes.pid(n)) for n in names}, time.monotonic()
        spies = {}
        for name in names:
            out = self.logs / f"profile-{label}-{name}.txt"
            spies[name] = (
                out,
                subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "-p",
                        str(self.processes.pid(name)),
                        "-d",
                        str(seconds),
                        "-r",
                        "100",
                        "--nonblocking",
                        "-f",
                        "raw",
                        "-o",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        time.sleep(0.5)
        sampler = PgSampler().start()
        load_cell = start_load()
        pg_activity = sampler.stop()
        # the share of a core: over the load window; the CPU per request: until the platform is quiet
        # again, so the events the requests caused and their consumers handled late count too
        cpu_window = {n: cpu_seconds(self.processes.pid(n)) - cpu_before[n] for n in names}
        wall = time.monotonic() - clock_before
        failures = {}
        for name, (_, spy) in spies.items():
            try:
                # py-spy falls behind its duration when two cores are saturated (eight of it, the
                # platform and the client): it is given time to finish rather than killed
                _, err = spy.communicate(timeout=45)
            except subprocess.TimeoutExpired:
                spy.kill()
                _, err = spy.communicate()
                err += " (py-spy did not finish on time: killed)"
            if spy.returncode != 0:
                failures[name] = err.strip()[-300:]
        self.quiet(names)
        after = {n: scrape(self.metrics[n]) for n in names}
        cpu = {n: cpu_seconds(self.processes.pid(n)) - cpu_before[n] for n in names}
        http_key = ("http", route, "POST")
        requests_made = after["gateway"].get(http_key, (0, 0))[0] - before["gateway"].get(http_key, (0, 0))[0]
        summary = {}
        for name, (out, _) in spies.items():
            rpc = rpc_deltas(before[name], after[name], requests_made)
            profile = summarise_profile(out, seconds, 100) if out.exists() else None
            summary[name] = {
                "profile": profile,
                "rpc": rpc,
                "error": failures.get(name),
                "cpu_share": cpu_window[name] / wall,
                "cpu_ms_per_request": cpu[name] * 1000 / max(1, requests_made),
            }
        self.profiles[label] = {
            "cell": load_cell, "processes": summary, "seconds": seconds, "pg": pg_activity
        }
        progress(
            f"profiled {label}: raw stacks in {self.logs.relative_to(ROOT)}/profile-{label}-*.txt"
            + (f"; py-spy failed for {', '.join(failures)}" if failures else "")
        )

    # -- the whole run --

    def run(self):
        concurrencies = self.args.concurrency
        self.start_platform()
        self.setup()
        me = [{"method": "GET", "path": "/v1/me", "token": self.ctx["coordinator"], "expect": [200]}]
        available = [
            {"method": "GET", "path": "/v1/shifts/available", "token": self.reader[1], "expect": [200]}
        ]
        print(
            f"\nLoad: a client process, C threads with a requests.Session each; {self.args.duration} s "
            "windows after 1 s of warm-up\n",
            flush=True,
        )
        progress("the bare floor (three nameko processes), then the floor with the guarantees (five)")
        for c in concurrencies:
            self.floor_cells(c)
        # Its connections, kept in five pools, would leave the platform short of PostgreSQL's 100.
        self.processes.stop([f"floor-{role}" for role in KEPT_ROLES])
        progress("GET /v1/me and GET /v1/shifts/available")
        for c in concurrencies:
            self.cell("GET /v1/me", c, {"scenario": "requests", "cycle": True, "items": me})
        for c in concurrencies:
            self.cell(
                "GET /v1/shifts/available", c, {"scenario": "requests", "cycle": True, "items": available}
            )
        progress("POST /v1/shifts (open to the bank at once)")
        for c in concurrencies:
            self.post_cell(c)
        if not self.args.no_profile:
            progress("profiling POST /v1/shifts at c=10 (py-spy on every platform process)")
            self.quiet([n for n, _ in SERVICES])
            self.profile(
                "post", "/v1/shifts", lambda: self.post_cell(10, "POST /v1/shifts (profiled)", settle=False)
            )
        progress("POST /v1/shifts/{id}/book (a fresh open shift each, for a worker free then)")
        for c in concurrencies:
            self.book_cell(c)
        if not self.args.no_profile:
            progress("profiling booking at c=10")
            self.ensure_posted(self.bookings_needed(10))
            self.quiet([n for n, _ in SERVICES])
            self.profile(
                "book",
                "/v1/shifts/{id}/book",
                lambda: self.book_cell(10, "POST /v1/shifts/{id}/book (profiled)", settle=False),
            )
        progress(f"the lifecycle (record a worked shift, timesheet, approve; a pay run every {PAY_EVERY})")
        for c in concurrencies:
            self.lifecycle_cell(c)
        if not self.args.no_profile:
            progress("profiling the lifecycle at c=10 (a request: a timesheet submitted, one a lifecycle)")
            self.quiet([n for n, _ in SERVICES])
            self.profile(
                "lifecycle",
                "/v1/timesheets",
                lambda: self.lifecycle_cell(10, "lifecycle (profiled)", settle=False),
            )
        self.connections = pg_connections()
        progress("the broker's floor with pika (persistent, publisher confirms, quorum queue)")
        from benchmarks.broker_floor import broker_floor

        self.broker = broker_floor(self.floor_amqp, seconds=min(4, self.args.duration))
        for line in self.broker:
            print(f"  {line['name']:<58} {line['rate']:8.0f} msg/s  {line.get('detail', '')}", flush=True)


def wait_until_token(api):
    deadline = time.monotonic() + 60
    while True:
        try:
            return api.token(ADMIN_EMAIL, ADMIN_PASSWORD)
        except (RuntimeError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def pg_connections():
    import psycopg2

    try:
        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        ) as conn:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE datname LIKE %s), count(*) FROM pg_stat_activity",
                    (DB_PREFIX + "%",),
                )
                return cursor.fetchone()
    except psycopg2.Error:
        return None


class PgSampler:
    """Samples pg_stat_activity every 50 ms while a load runs: how many of each platform database's
    sessions are running a statement, waiting on a lock, or idle inside an open transaction (the
    process doing something else, e.g. waiting on an RPC, while it holds a transaction)."""

    def __init__(self):
        import psycopg2

        self.conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        self.conn.autocommit = True
        self.counts, self.samples = Counter(), 0
        self.stopping = threading.Event()

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        with self.conn.cursor() as cursor:
            while not self.stopping.is_set():
                cursor.execute(
                    "SELECT datname, state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname LIKE %s AND state <> 'idle' AND pid <> pg_backend_pid()",
                    (DB_PREFIX + "%",),
                )
                for datname, state, wait_type, wait in cursor.fetchall():
                    service = datname[len(DB_PREFIX) :]
                    if state == "active" and wait_type in ("Lock", "LWLock", "IO"):
                        what = f"waiting on {wait_type}:{wait}"
                    elif state == "active":
                        what = "running a statement"
                    else:
                        what = state
                    self.counts[(service, what)] += 1
                self.samples += 1
                time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.conn.close()
        return {key: n / max(1, self.samples) for key, n in self.counts.items()}


# --- metrics ------------------------------------------------------------------------------------


def scrape(port):
    """{(method, outcome): (count, sum)} of staffbank_rpc_seconds, and the HTTP histogram, from a process."""
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except requests.RequestException:
        return {}
    values = defaultdict(lambda: [0.0, 0.0])
    for line in text.splitlines():
        for metric in (
            "staffbank_rpc_seconds",
            "staffbank_handler_seconds",
            "staffbank_http_request_seconds",
        ):
            for suffix, index in (("_count{", 0), ("_sum{", 1)):
                if line.startswith(metric + suffix):
                    labels, _, value = line[len(metric) + len(suffix) :].rpartition("} ")
                    key = (metric.split("_")[1],) + tuple(
                        sorted(
                            part.split("=", 1)[1].strip('"')
                            for part in labels.split(",")
                            if part.split("=", 1)[0] in ("method", "handler", "route", "outcome")
                        )
                    )
                    values[key][index] += float(value)
    return dict(values)


def rpc_deltas(before, after, requests_made):
    """Per entrypoint over the window: calls per request and mean milliseconds."""
    rows = []
    for key, (count, total) in after.items():
        c0, s0 = before.get(key, (0.0, 0.0))
        calls = count - c0
        if calls > 0:
            rows.append(
                {
                    "entrypoint": " ".join(key),
                    "calls": int(calls),
                    "per_request": calls / max(1, requests_made),
                    "mean_ms": (total - s0) / calls * 1000,
                }
            )
    return sorted(rows, key=lambda r: -r["calls"] * r["mean_ms"])


# --- the report ---------------------------------------------------------------------------------

WRITES = ("POST /v1/shifts", "POST /v1/shifts/{id}/book")
KEPT_FLOOR = "floor with guarantees POST /post"  # benchmarks/floor/kept.py
READS = ("GET /v1/me", "GET /v1/shifts/available")


def verdict(name, c, rate_ratio, p95_ratio, rate):
    if name in WRITES:
        if c == 1:
            return ""
        ok = rate_ratio <= 1.5 and p95_ratio <= 2
        return f"{'met' if ok else 'MISSED'} (<=1.5x, p95<=2x)"
    if name in READS:
        if c == 1:
            return ""
        return f"{'met' if rate_ratio <= 1.2 else 'MISSED'} (<=1.2x)"
    if name == "lifecycle":
        return f"{'met' if rate >= 40 else 'MISSED'} (>=40/s)"
    return ""


def table(bench):
    lines = [
        "| measure | c | req/s | p50 ms | p95 ms | p99 ms | n | errors | floor/this (rate) | "
        "p95 / floor p95 | target | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = ["floor POST /post", KEPT_FLOOR, "floor GET /get", *READS, *WRITES, "lifecycle"]
    for name in order:
        for c in bench.args.concurrency:
            cell = bench.cells.get((name, c))
            if cell is None:
                continue
            floor = bench.cells.get(("floor GET /get" if name in READS else "floor POST /post", c))
            ratio = p95_ratio = float("nan")
            bare = name.startswith("floor") and name != KEPT_FLOOR
            if floor is not None and not bare:
                ratio, p95_ratio = floor.rate / cell.rate, cell.p95 / floor.p95
            shown = "" if bare else f"{ratio:.2f}x"
            shown_p95 = "" if bare else f"{p95_ratio:.2f}x"
            lines.append(
                f"| {name} | {c} | {cell.rate:.1f} | {cell.p50:.1f} | {cell.p95:.1f} | {cell.p99:.1f} | "
                f"{cell.n} | {cell.errors} | {shown} | {shown_p95} | "
                f"{verdict(name, c, ratio, p95_ratio, cell.rate)} | {cell.load1:.1f} |"
            )
    return lines


def floor_costs(bench):
    """The two floors' CPU per request, and what the guarantees alone cap a write at."""
    if not bench.floor_cpu:
        return []
    cs = sorted({c for costs in bench.floor_cpu.values() for c in costs})
    out = [
        f"CPU per request of each floor, all its processes together, from /proc over the window until "
        f"its processes were idle again (so its events' consumers count), in ms; the cap is what that "
        f"cost alone allows on {os.cpu_count()} cores with nothing else running:",
        "",
        "| floor | " + " | ".join(f"c={c}" for c in cs) + " | cap at c=10 |",
        "|---|" + "---|" * (len(cs) + 1),
    ]
    for name, costs in bench.floor_cpu.items():
        cost = costs.get(10) or next(iter(costs.values()))
        out.append(f"| {name} | " + " | ".join(f"{costs[c]:.1f}" if c in costs else "" for c in cs)
                   + f" | {os.cpu_count() * 1000 / cost:.0f}/s |")
    out += [
        "",
        f"`{KEPT_FLOOR}` is benchmarks/floor/kept.py: the same write on the chassis every service runs "
        "on (an RPC through `ServiceRpc`, a `@domain_rpc` transaction writing a row and its event to "
        "the outbox with the result kept for redelivery, the relay publishing it with confirms, and "
        "three consumers each applying it once in its own transaction with its inbox claim), with "
        "nothing of any service's domain. Its ratio to the bare floor is what DESIGN.md's reliability "
        "rules alone cost here; a platform write adds authentication, its domain and its consumers' work.",
        "",
    ]
    for c in bench.args.concurrency:
        bare, kept = bench.cells.get(("floor POST /post", c)), bench.cells.get((KEPT_FLOOR, c))
        if c > 1 and bare is not None and kept is not None:
            ratio, p95_ratio = bare.rate / kept.rate, kept.p95 / bare.p95
            out.append(
                f"- c={c}: the guarantees alone make the write {ratio:.2f}x the bare floor's rate and "
                f"{p95_ratio:.2f}x its p95 (targets 1.5x and 2x): "
                + ("no write that keeps them can meet the targets here." if ratio > 1.5 or p95_ratio > 2
                   else "within the targets, so they leave room for a platform write.")
            )
    out += ["", "What each platform process adds, and why it stays: the profiles below and "
            "benchmarks/README.md (\"Why the write targets cannot be met here\").", ""]
    return out


def machine():
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
    }


def report(bench, started):
    m = machine()
    out = [
        "# Write-path benchmark results (issue 22)",
        "",
        f"Written by `make bench` (`benchmarks/write_path.py`) on {m['date']}: {m['nproc']} cores "
        f"({m['cpu']}), Python {m['python']}, Linux {m['kernel']}; the run took "
        f"{(time.monotonic() - started) / 60:.1f} minutes; {load_average()} at its end.",
        "",
        f"The platform ran as `make run` runs it (each of the {len(SERVICES)} processes its own "
        "`python -m chassis.runner`), on its own vhost and databases; the floor is benchmarks/floor (an "
        "@http gateway whose POST /post makes one RPC to a backend that dispatches one event to a "
        "listener; GET /get makes one RPC). One client process (C threads, each with its own "
        f"requests.Session) loads one endpoint at a time for {bench.args.duration} s after a 1 s warm-up, "
        "with the platform quiet before each window. `floor/this` is the floor's rate over the "
        "endpoint's (1.00x: as fast as the floor); reads are compared with the floor's GET /get, "
        "writes and the lifecycle with its POST /post. A lifecycle is one worked shift recorded "
        "(POST /v1/shifts with `worker_id`, start in the past: posted, booked and completed in one "
        "call), its timesheet submitted and approved, and every "
        f"{PAY_EVERY}th lifecycle of a client a pay run; its latency is the whole sequence.",
        "",
    ]
    out += table(bench)
    out += [""]
    out += floor_costs(bench)
    life = [bench.cells[("lifecycle", c)] for c in bench.args.concurrency if ("lifecycle", c) in bench.cells]
    if life:
        out += ["Lifecycle steps (median ms at each concurrency), and the CPU a lifecycle cost all the "
                "platform's processes together (/proc, from its window's start until the platform was quiet "
                "again, over the lifecycles begun):", ""]
        names = sorted({name for cell in life for name in getattr(cell, "steps", {})})
        out += ["| step | " + " | ".join(f"c={cell.c}" for cell in life) + " |", "|---|" + "---|" * len(life)]
        for name in names:
            out.append(
                f"| {name} | "
                + " | ".join(f"{cell.steps[name][1]:.1f}" if name in cell.steps else "" for cell in life)
                + " |"
            )
        costs = [f"{cell.cpu_ms:.1f}" if hasattr(cell, "cpu_ms") else "" for cell in life]
        out.append("| CPU per lifecycle, ms (all processes) | " + " | ".join(costs) + " |")
        out.append("")
        for cell in life:
            if hasattr(cell, "cpu_by_process"):
                split = ", ".join(f"{n} {ms:.1f}" for n, ms in sorted(cell.cpu_by_process.items(),
                                                                       key=lambda item: -item[1]))
                out.append(f"- c={cell.c}: {cell.cpu_ms:.1f} ms of CPU a lifecycle ({split}); at "
                           f"{os.cpu_count()} cores that alone caps it near "
                           f"{os.cpu_count() * 1000 / cell.cpu_ms:.0f}/s.")
        out.append("")
    if bench.broker:
        out += [
            "The broker's floor (pika 1.4, this RabbitMQ, persistent messages of 300 bytes into a durable "
            "quorum queue):",
            "",
            "| measure | msg/s | detail |",
            "|---|---|---|",
        ]
        out += [f"| {b['name']} | {b['rate']:.0f} | {b.get('detail', '')} |" for b in bench.broker]
        out.append("")
    if getattr(bench, "connections", None):
        out.append(
            f"PostgreSQL connections at the end: {bench.connections[0]} held by the benchmark's platform, "
            f"{bench.connections[1]} in all (max_connections 100)."
        )
    out += [f"Note: {note}." for note in bench.notes]
    out.append("")
    for label, data in bench.profiles.items():
        out += profile_section(label, data)
    return "\n".join(out) + "\n"


def profile_section(label, data):
    cell = data["cell"]
    what = {"post": "POST /v1/shifts", "book": "POST /v1/shifts/{id}/book",
            "lifecycle": "the lifecycle (a request: a lifecycle, counted by its POST /v1/timesheets)"}[label]
    out = [
        f"## Profile: {what} at c=10",
        "",
        "py-spy 0.4 (`record --nonblocking -r 100 -f raw`) on every platform process for "
        f"{data['seconds']} s "
        f"while the client made {cell.n} requests ({cell.rate:.1f}/s, p50 {cell.p50:.1f} ms, p95 "
        f"{cell.p95:.1f} ms). CPU is the share of one core the process used (active samples; eventlet's "
        "hub waiting in epoll is idle and not sampled). RPC entrypoints are from each process's "
        "Prometheus histograms over the same window (calls per HTTP request, mean ms inside the "
        "entrypoint). CPU per request is each process's CPU time (/proc) from the window's start "
        "until the platform was quiet again (so the events a request caused count too), over the "
        "requests made.",
        "",
    ]
    pg = data.get("pg") or {}
    if pg:
        by_service = defaultdict(list)
        for (service, what), mean in sorted(pg.items(), key=lambda item: -item[1]):
            by_service[service].append(f"{what} {mean:.2f}")
        out += [
            "PostgreSQL sessions over the window (pg_stat_activity every 50 ms; mean number of the "
            "service's connections in each state): "
            + "; ".join(f"{service}: {', '.join(parts)}" for service, parts in sorted(by_service.items()))
            + ".",
            "",
        ]
    processes = data["processes"]
    total = sum(info["cpu_ms_per_request"] for info in processes.values())
    out += [
        f"CPU per request, all {len(processes)} platform processes together: {total:.1f} ms ("
        + ", ".join(f"{name} {info['cpu_ms_per_request']:.1f}" for name, info in processes.items())
        + f"); at {os.cpu_count()} cores that alone caps this write near "
        f"{os.cpu_count() * 1000 / max(total, 0.1):.0f}/s with the machine to itself.",
        "",
    ]
    for name, info in data["processes"].items():
        profile = info["profile"]
        if profile is None:
            out += [f"### {name}", "", f"py-spy could not record: {info['error']}", ""]
            continue
        out += [
            f"### {name}: {info['cpu_ms_per_request']:.1f} ms of CPU per request, "
            f"{info['cpu_share']:.0%} of a core (/proc); py-spy: {profile['samples']} samples",
            "",
        ]
        if info["error"]:
            out += [f"py-spy: {info['error']}", ""]
        rpc = [r for r in info["rpc"] if r["calls"] >= 3][:8]
        if rpc:
            out.append(
                "Entrypoints: "
                + "; ".join(
                    f"{r['entrypoint']} {r['per_request']:.2f}/req {r['mean_ms']:.1f} ms" for r in rpc
                )
                + "."
            )
            out.append("")
        for title, shares, shown in (("By component (self time)", profile["categories"], 10),
                                     ("By stage (inclusive)", profile["stages"], 12)):
            if shares:
                listed = ", ".join(f"{name_} {share:.0%}" for name_, share in shares[:shown])
                out += [f"{title}: {listed}.", ""]
        out += ["| top self | % | top cumulative (own code) | % |", "|---|---|---|---|"]
        for (s_name, s_share), (c_name, c_share) in itertools.zip_longest(
            profile["self"][:8], profile["cumulative"][:8], fillvalue=("", 0)
        ):
            out.append(f"| {s_name} | {s_share:.1%} | {c_name} | {c_share:.1%} |")
        out.append("")
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.write_path", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--duration", type=int, default=6, help="seconds of load per cell (default 6)")
    parser.add_argument("--concurrency", default="1,10,32", help="client threads per cell (default 1,10,32)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--results", default=str(RESULTS), help="where to write the results (RESULTS.md)")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    lock = take_lock()
    started = time.monotonic()
    print(f"\nStaffbank write path against the nameko floor ({load_average()})", flush=True)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.stop()
        if lock is not None:
            lock.close()
    text = report(bench, started)
    print("\n" + "\n".join(table(bench)) + "\n", flush=True)
    for label, data in bench.profiles.items():
        for name, info in data["processes"].items():
            profile = info["profile"]
            if profile:
                top = ", ".join(f"{n} {s:.0%}" for n, s in profile["stages"][:4])
                print(
                    f"  profile {label:<4} {name:<13} {info['cpu_ms_per_request']:5.1f} ms CPU/request; "
                    + top,
                    flush=True,
                )
    Path(args.results).write_text(text)
    print(
        f"\nwritten to {args.results}"
        f" in {(time.monotonic() - started) / 60:.1f} minutes",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
