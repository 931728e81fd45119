"""`make soak`: the whole lifecycle under steady load while faults are injected, then a ledger.

    python -m deploy.soak              # 5 minutes of faults (--minutes N), then the ledger
    python -m deploy.soak --short      # about two minutes; what `make test` runs

What it runs. The platform exactly as `make run` does (`python -m deploy.run` in a subprocess,
every service and the gateway supervised and restarted when they exit), but on infrastructure of
its own, so that it can break that infrastructure without touching anybody else's:

- a private RabbitMQ node (`staffbank-soak-<pid>@localhost`, its own ports, data and Erlang
  cookie in a temporary directory, management plugin on), which it really stops and starts again
  for "restart RabbitMQ". The machine's shared broker (127.0.0.1:5672) serves other people's tests
  and a `make run` platform, so it is never restarted here. On a dedicated machine the shared
  broker could be the one restarted; the soak would only need the node name and `rabbitmqctl`.
- a private PostgreSQL cluster (initdb in a temporary directory, `max_connections` 300), holding
  `staffbank_soak_<service>`. A platform keeps up to 20 connections per process; the shared
  server allows 100 and others' platforms already hold most of them. `--database-url URL` uses a
  server you name instead (databases `staffbank_soak_<service>` on it, dropped before and after).
- a local SMTP server (notifications.testing.SmtpSink) catching every email, and the example HR
  consumer (examples/hr_consumer.py, a subprocess) reading `pay_run.closed` and
  `timesheet.approved` from the private broker into a JSON-lines file.
- a chassis.faults.FaultProxy in front of PostgreSQL for the services whose database is cut.

The load: a few client threads drive the lifecycle over the public HTTP API: register a worker,
upload and verify its documents (the bank requires two kinds, so onboarding is short), wait for
it to be `active`, put it in a priority group, post a draft shift starting a few seconds ahead,
release it to that group, book the worker, wait for the shifts timer to complete it, submit the
timesheet (a whole minute; over the --short version's 20 s shifts that trips the overpayment
guard, so a second approver approves too), approve it; pay runs close every few seconds. Every
create carries an Idempotency-Key and is retried with the same key on 503, timeouts and broken
connections; actions (publish, book, verify, approve) are retried and, after an unknown outcome,
read back. Every acknowledged (2xx) answer goes into the ledger with what it created.

The faults, one after another, each once the platform serves again: kill -9 of each service in
turn (deploy.run restarts it), the example HR consumer killed and restarted, RabbitMQ restarted
(stopped and started) and, in the full soak, also killed with -9 and started, and one service's
database cut (its proxy refuses and drops connections) for 30 s, a different service each time.
--short: kill -9 shifts and notifications, one RabbitMQ restart, payroll's database cut for 10 s.
Then the load drains, the soak waits for quiet (every outbox sent, every queue empty, emails due
sent), closes a last pay run for everything still unpaid, waits for quiet again and checks the
ledger against the API, every service's database, the HR consumer's file, the mailbox, the
outboxes, the queues, the dead letters, and deploy.run's log (no process may exit unless killed:
DESIGN.md rule 7). It prints what it injected (with the time until /readyz answers 200 again)
and each check (expected, found) and exits 1 on any difference. Logs are kept in .run/soak/ (the
platform's, the HR consumer's, the ledger as JSON); --keep keeps the temporary directory with
the broker's and PostgreSQL's data and logs.
"""

import argparse
import atexit
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import psycopg2
import requests

from chassis.faults import FaultProxy
from deploy.run import SERVICES, child_running

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / ".run" / "soak"
LONDON = ZoneInfo("Europe/London")
NAMES = [name for name, _ in SERVICES]  # the seven services and the gateway
ADMIN_EMAIL, ADMIN_PASSWORD = "soak-admin@example.org", "soak-admin-password"
STAFF_PASSWORD, WORKER_PASSWORD = "soak-staff-password", "soak-worker-password"
REQUIRED_KINDS = ("identity", "dbs")
CARD = {"day_rate": "50.00", "night_rate": "60.00", "weekend_rate": "70.00", "bank_holiday_rate": "90.00"}
WRITE_DEADLINE = 150  # seconds a client keeps retrying one write (beyond any outage injected)
RETRYABLE = {502, 503, 504}
RECOVERY_LIMIT = 10  # DESIGN.md rule 7: serving again within 10 s of the broker's or database's return


@dataclass
class Profile:
    duration: float  # seconds of load with faults
    post_until: float  # no new lifecycle starts after this
    rota_clients: int
    lead: float  # a shift starts this long after it is posted
    length: float  # and lasts this long
    pay_every: float
    cut_seconds: float
    faults: list  # (at seconds, kind, target); kind: kill | broker | db | hr
    gap: float = 0  # for the full soak: seconds between faults after recovery
    db_cut_services: tuple = ("payroll",)


def short_profile():
    return Profile(duration=42, post_until=22, rota_clients=2, lead=6, length=20, pay_every=6,
                   cut_seconds=10,
                   faults=[(2, "kill", "shifts"), (6, "kill", "notifications"), (10, "broker", None),
                           (28, "db", "payroll")])


def full_profile(minutes):
    duration = max(120, minutes * 60)
    order = ["identity", "compliance", "broker", "shifts", "db", "payroll", "matching", "hr", "notifications",
             "broker-crash", "db", "reporting", "gateway"]
    kinds = ("broker", "broker-crash", "db", "hr")
    faults = [(None, o if o in kinds else "kill", None if o in kinds else o) for o in order]
    return Profile(duration=duration, post_until=duration - 75, rota_clients=3, lead=30, length=60,
                   pay_every=20, cut_seconds=30, faults=faults, gap=8,
                   db_cut_services=("payroll", "shifts", "notifications", "identity"))


def shift_times(now, lead, length):
    """A shift starting at least `lead` seconds from now, `length` seconds long, with a whole minute
    inside it (so the worker can claim the minute before it: timesheets are in whole minutes)."""
    starts_at = now.replace(microsecond=0) + timedelta(seconds=lead)
    ends_at = starts_at + timedelta(seconds=length)
    if ends_at.replace(second=0) <= starts_at:
        starts_at = ends_at.replace(second=0) + timedelta(seconds=60 - length)
        ends_at = starts_at + timedelta(seconds=length)
    return starts_at, ends_at


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message):
    print(f"soak {time.strftime('%H:%M:%S')} {message}", flush=True)


def wait_until(predicate, seconds, what, interval=0.5):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - not there yet, whatever the reason
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(interval)


# --- private infrastructure ------------------------------------------------------------------

class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory (as user postgres when root)."""

    def __init__(self, workdir):
        self.dir = Path(workdir) / "pg"
        self.port = free_port()
        self.bindir = self._bindir()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _bindir():
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
            candidate = Path(out.stdout.strip())
            if (candidate / "initdb").exists():
                return candidate
        except (OSError, subprocess.SubprocessError):
            pass
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self):
        self.dir.mkdir(parents=True)
        if self.as_postgres:
            self.dir.parent.chmod(0o711)  # user postgres reaches its directory, and nothing else
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   "-c fsync=off -c full_page_writes=off")  # the soak kills processes, not the machine
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "server.log"),
                  "-w", "start")
        return self

    def _run(self, program, *args):
        done = subprocess.run(self.as_postgres + [str(self.bindir / program), *args], capture_output=True,
                              text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def stop(self):
        if (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(self.as_postgres + [str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"),
                                               "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)


class PrivateRabbit:
    """A RabbitMQ node of its own: ports, data, logs and Erlang cookie in a temporary directory."""

    def __init__(self, workdir):
        self.dir = Path(workdir) / "rabbit"
        self.node = f"staffbank-soak-{os.getpid()}@localhost"
        self.port, self.api_port, self.dist_port = free_port(), free_port(), free_port()
        self.scripts = self._scripts()
        self.process = None
        self.log = None

    @staticmethod
    def _scripts():
        # The scripts themselves, not the /usr/sbin wrappers (which switch to the rabbitmq user and
        # its cookie, i.e. the shared node's).
        versions = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*/sbin"), reverse=True)
        for candidate in [Path("/usr/lib/rabbitmq/bin"), *versions]:
            if (candidate / "rabbitmq-server").exists():
                return candidate
        found = shutil.which("rabbitmq-server")
        if found:
            return Path(found).parent
        raise RuntimeError("no RabbitMQ server on this machine")

    @property
    def amqp_uri(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def api_uri(self):
        return f"http://guest:guest@127.0.0.1:{self.api_port}"

    def env(self):
        d = self.dir
        return dict(
            os.environ, HOME=str(d), RABBITMQ_CONF_ENV_FILE=str(d / "rabbitmq-env.conf"),
            RABBITMQ_NODENAME=self.node, RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"), RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
            RABBITMQ_LOG_BASE=str(d / "log"), RABBITMQ_PID_FILE=str(d / "rabbit.pid"),
            RABBITMQ_DIST_PORT=str(self.dist_port), ERL_EPMD_ADDRESS="127.0.0.1",
        )

    def start(self):
        d = self.dir
        if not d.exists():
            (d / "mnesia").mkdir(parents=True)
            (d / "log").mkdir()
            (d / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's (the shared node's name)
            (d / "enabled_plugins").write_text("[rabbitmq_management].\n")
            (d / "rabbitmq.conf").write_text(
                f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
                f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.api_port}\n"
                "collect_statistics_interval = 1000\n")
        self.log = open(d / "server.out", "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(self.scripts / "rabbitmq-server")], env=self.env(),
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.serving, 120, f"RabbitMQ node {self.node}")
        return self

    def serving(self):
        if self.process.poll() is not None:
            raise SystemExit(f"RabbitMQ node {self.node} exited; see {self.dir / 'server.out'}")
        return self.api("/api/overview").ok and _listening(self.port)

    def api(self, path, method="GET", **kwargs):
        return requests.request(method, f"http://127.0.0.1:{self.api_port}{path}", auth=("guest", "guest"),
                                timeout=10, **kwargs)

    def ctl(self, *args):
        return subprocess.run([str(self.scripts / "rabbitmqctl"), "-n", self.node, *args], env=self.env(),
                              capture_output=True, text=True, timeout=20)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.ctl("stop")  # the node halts gracefully, as `systemctl stop rabbitmq-server` does
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()

    def kill(self):
        """kill -9 the node and its helper processes: a crash, or the end of the run."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self.log is not None:
            self.log.close()

    def restart(self, crash=False):
        """Stop the node (or kill -9 it) and start it again: (seconds stopping, seconds starting)."""
        began = time.monotonic()
        if crash:
            self.kill()
        else:
            self.stop()
        stopped = time.monotonic()
        self.start()
        return stopped - began, time.monotonic() - stopped

    def queues(self, consumers=False):
        """{name: messages}, or {name: (messages, consumers)}."""
        response = self.api("/api/queues/%2F?columns=name,messages,consumers")
        response.raise_for_status()
        return {q["name"]: ((q.get("messages") or 0, q.get("consumers") or 0) if consumers
                            else q.get("messages") or 0) for q in response.json()}

    def peek(self, queue, count=50):
        """Messages in `queue`, left there (requeued)."""
        response = self.api(f"/api/queues/%2F/{quote(queue, safe='')}/get", method="POST", json={
            "count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 2000})
        response.raise_for_status()
        return response.json()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# --- the platform ------------------------------------------------------------------------------

class Platform:
    """`python -m deploy.run` on the private infrastructure; its output goes to a log file."""

    def __init__(self, env, logfile):
        self.env, self.logfile = env, logfile
        self.port = int(env["GATEWAY_PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.exits = []  # (monotonic time, name, code) from deploy.run's "exited with" lines
        self._reader = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(self.ready, 180, "the platform to be ready")

    def _read(self):
        with open(self.logfile, "w") as out:
            for line in iter(self.process.stdout.readline, ""):
                out.write(line)
                if line.startswith("staffbank: ") and " exited with " in line:
                    name, _, rest = line[len("staffbank: "):].partition(" exited with ")
                    self.exits.append((time.monotonic(), name, rest.split(";")[0]))

    def ready(self):
        if self.process.poll() is not None:
            raise SystemExit(f"deploy.run exited with {self.process.returncode}; see {self.logfile}")
        return requests.get(self.base + "/readyz", timeout=10).status_code == 200

    def child(self, name):
        """The pid of deploy.run's process running `name`, or None."""
        return child_running(self.process.pid, name)

    def kill(self, name):
        pid = self.child(name)
        if pid is None:
            raise RuntimeError(f"{name} is not running")
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self._reader is not None:
            self._reader.join(5)


class HrConsumer:
    """examples/hr_consumer.py as the outside system runs it, against the private broker."""

    def __init__(self, amqp_uri, output, logfile):
        self.amqp_uri, self.output, self.logfile = amqp_uri, output, logfile
        self.process = None

    def start(self):
        log_handle = open(self.logfile, "a")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "hr_consumer.py"), "--amqp-url", self.amqp_uri,
             "--queue", "hr.payroll", "--output", str(self.output)],
            stdout=log_handle, stderr=subprocess.STDOUT)
        log_handle.close()
        return self

    def kill(self):
        pid = self.process.pid
        self.process.kill()
        self.process.wait(10)
        return pid

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def events(self):
        if not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.strip()]


# --- the HTTP client and the ledger ---------------------------------------------------------

class Refused(Exception):
    """A 4xx the lifecycle cannot go on from (recorded, not a difference by itself)."""

    def __init__(self, label, response):
        self.status = response.status_code
        try:
            self.problem = response.json().get("type")
        except ValueError:
            self.problem = None
        super().__init__(f"{label}: {self.status} {response.text[:300]}")


class Unresolved(Exception):
    """A write whose outcome was still unknown when its deadline passed."""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = defaultdict(Counter)  # label -> status -> count
        self.unexpected = []  # (label, status, body) of 5xx other than 503, and other surprises

    def count(self, label, status, body=""):
        with self.lock:
            self.statuses[label][status] += 1
            if isinstance(status, int) and status >= 500 and status not in RETRYABLE:
                self.unexpected.append((label, status, body[:300]))


class Client:
    """One thread's HTTP session with the gateway."""

    def __init__(self, base, stats):
        self.base, self.stats = base, stats
        self.session = requests.Session()

    def _send(self, method, path, body, token, key, label):
        headers = {"X-Request-Id": f"soak-{uuid.uuid4().hex[:12]}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = self.session.request(method, self.base + path, json=body, headers=headers, timeout=45)
        except requests.RequestException as exc:
            self.stats.count(label, type(exc).__name__)
            self.session = requests.Session()  # a broken pooled connection is not reused
            return None
        self.stats.count(label, response.status_code, response.text)
        return response

    def create(self, path, body, token, label, ok=(201,), method="POST", key=None, deadline=WRITE_DEADLINE):
        """A write with an Idempotency-Key, retried with the same key until it is acknowledged."""
        key = key or uuid.uuid4().hex
        end, delay = time.monotonic() + deadline, 0.3
        while True:
            response = self._send(method, path, body, token, key, label)
            if response is not None and response.status_code in ok:
                return response.json()
            if response is not None and not _retryable(response, keyed=True):
                raise Refused(label, response)
            if time.monotonic() > end:
                raise Unresolved(f"{label} with key {key}: no answer in {deadline} s")
            time.sleep(delay)
            delay = min(delay * 2, 3)

    def act(self, path, body, token, label, done, deadline=WRITE_DEADLINE, give_up=None):
        """An action without a key: retried; after an unknown outcome or a 409 it is read back
        (`done()` says whether it took effect)."""
        end, delay, unknown = time.monotonic() + deadline, 0.3, False
        while True:
            if give_up is not None and give_up():
                raise Unresolved(f"{label}: too late")
            if unknown and done():
                return "read back"
            response = self._send("POST", path, body, token, None, label)
            if response is not None and response.status_code == 200:
                return response.json()
            if response is not None and not _retryable(response, keyed=False):
                if 400 <= response.status_code < 500 and done():  # it took effect before (409, 403)
                    return "read back"
                raise Refused(label, response)
            unknown = True
            if time.monotonic() > end:
                raise Unresolved(f"{label}: no answer in {deadline} s")
            time.sleep(delay)
            delay = min(delay * 2, 3)

    def get(self, path, token, label, deadline=WRITE_DEADLINE):
        end, delay = time.monotonic() + deadline, 0.3
        while True:
            response = self._send("GET", path, None, token, None, label)
            if response is not None and response.status_code == 200:
                return response.json()
            if response is not None and not _retryable(response, keyed=False):
                raise Refused(label, response)
            if time.monotonic() > end:
                raise Unresolved(f"{label}: no answer in {deadline} s")
            time.sleep(delay)
            delay = min(delay * 2, 3)

    def token(self, email, password):
        body = self.create("/v1/auth/token", {"email": email, "password": password}, None,
                           "POST /v1/auth/token", ok=(200,))
        return body["access_token"]


def _retryable(response, keyed):
    if response.status_code in RETRYABLE or response.status_code >= 500:
        return True
    if response.status_code == 409 and keyed:
        try:  # the same key still in flight (or just released): retry, as API.md says
            return response.json().get("type") == "/problems/conflict"
        except ValueError:
            return False
    return False


@dataclass
class Ledger:
    """What the platform acknowledged, as the clients saw it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    workers: dict = field(default_factory=dict)  # id -> {email, documents: {id: kind}, verified: set}
    groups: dict = field(default_factory=dict)  # id -> worker id
    shifts: dict = field(default_factory=dict)  # id -> {worker, starts_at, ends_at, status}
    timesheets: dict = field(default_factory=dict)  # id -> {shift, worker, status, amount}
    pay_runs: dict = field(default_factory=dict)  # id -> {lines: [timesheet ids], total}
    abandoned: Counter = field(default_factory=Counter)  # why lifecycles stopped early
    unresolved: list = field(default_factory=list)  # writes never answered

    def note(self, why):
        with self.lock:
            self.abandoned[why] += 1

    def as_json(self):
        def plain(value):
            if isinstance(value, set):
                return sorted(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        return json.dumps({k: plain(getattr(self, k)) for k in (
            "workers", "groups", "shifts", "timesheets", "pay_runs", "abandoned", "unresolved")},
            indent=1, default=str)


# --- the load ---------------------------------------------------------------------------------

class Load:
    def __init__(self, base, profile, stats, ledger):
        self.base, self.profile, self.stats, self.ledger = base, profile, stats, ledger
        self.ctx = {}
        self.counter = iter(range(1, 1_000_000))
        self.counter_lock = threading.Lock()
        self.worked = []  # (ends_at, shift id, worker id, worker token, shift) to complete and pay
        self.worked_lock = threading.Condition()
        self.posting = threading.Event()  # cleared: no new lifecycle starts
        self.rota_done = threading.Event()
        self.timesheets_done = threading.Event()
        self.pay_stop = threading.Event()
        self.threads = []
        self.errors = []

    # setup: a bank, its organisation and site, a rate card, two required documents, staff
    def setup(self, admin_email, admin_password):
        c = Client(self.base, self.stats)
        admin = c.token(admin_email, admin_password)
        bank = c.create("/v1/banks", {"name": "Soak Bank"}, admin, "setup")
        org = c.create("/v1/organisations", {"bank_id": bank["id"], "name": "Soak Trust", "kind": "trust"},
                       admin, "setup")
        site = c.create("/v1/sites", {"organisation_id": org["id"], "name": "Soak General",
                                      "latitude": 53.48, "longitude": -2.24}, admin, "setup")
        tokens = {}
        staff = (("admin", "bank_admin", "bank", bank["id"]),
                 ("coordinator", "rota_coordinator", "site", site["id"]),
                 ("approver", "timesheet_approver", "site", site["id"]),
                 ("second_approver", "timesheet_approver", "bank", bank["id"]))
        for user, role, scope_type, scope_id in staff:
            email = f"soak.{user}@example.org"
            c.create("/v1/users", {"email": email, "password": STAFF_PASSWORD, "name": user.replace("_", " "),
                                   "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}]},
                     admin, "setup")
            tokens[user] = c.token(email, STAFF_PASSWORD)
        c.create("/v1/rate-cards", {"bank_id": bank["id"], "staff_type": "doctor", "grade": "ST3", **CARD},
                 tokens["admin"], "setup", ok=(200,), method="PUT")
        c.create("/v1/compliance-requirements", {"bank_id": bank["id"], "staff_type": "doctor",
                                                 "kinds": list(REQUIRED_KINDS)},
                 tokens["admin"], "setup", ok=(200,), method="PUT")
        self.ctx = {"bank": bank["id"], "organisation": org["id"], "site": site["id"], **tokens}

    def start(self):
        self.posting.set()
        rota = [self._thread(self._rota, f"rota-{i}") for i in range(self.profile.rota_clients)]
        self.threads += rota
        self.threads.append(self._thread(self._timesheets, "timesheets"))
        self.threads.append(self._thread(self._pay, "pay"))

        def watch_rota():
            for thread in rota:
                thread.join()
            self.rota_done.set()
            with self.worked_lock:
                self.worked_lock.notify_all()
        threading.Thread(target=watch_rota, daemon=True).start()

    def _thread(self, target, name):
        def run():
            try:
                target()
            except Exception:  # noqa: BLE001 - a bug in the soak itself: reported, fails the run
                self.errors.append(f"{name}: {traceback.format_exc()}")
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _rota(self):
        c = Client(self.base, self.stats)
        while self.posting.is_set():
            with self.counter_lock:
                n = next(self.counter)
            try:
                self._lifecycle(c, n)
            except Refused as exc:
                self.ledger.note(f"refused: {exc}")
            except Unresolved as exc:
                self.ledger.note(f"unresolved: {exc}")
                with self.ledger.lock:
                    self.ledger.unresolved.append(str(exc))

    def _lifecycle(self, c, n):
        ctx, ledger = self.ctx, self.ledger
        email = f"soak-worker-{n}@example.org"
        worker = c.create("/v1/workers", {
            "bank_id": ctx["bank"], "email": email, "password": WORKER_PASSWORD, "name": f"Soak Worker {n}",
            "staff_type": "doctor", "grade": "ST3", "latitude": 53.45, "longitude": -2.2,
            "max_travel_km": 50}, None, "POST /v1/workers")
        wid = worker["id"]
        with ledger.lock:
            ledger.workers[wid] = {"email": email, "documents": {}, "verified": set()}
        token = c.token(email, WORKER_PASSWORD)
        expires = (date.today() + timedelta(days=365)).isoformat()
        for kind in REQUIRED_KINDS:
            document = c.create(f"/v1/workers/{wid}/documents", {
                "kind": kind, "reference": f"{email}-{kind}", "expires_on": expires}, token,
                "POST /v1/workers/{id}/documents")
            with ledger.lock:
                ledger.workers[wid]["documents"][document["id"]] = kind

            def verified(document_id=document["id"]):
                items = c.get(f"/v1/workers/{wid}/documents?limit=50", ctx["admin"],
                              "GET /v1/workers/{id}/documents")["items"]
                return any(d["id"] == document_id and d["status"] == "verified" for d in items)
            c.act(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"}, ctx["admin"],
                  "POST /v1/documents/{id}/verify", verified)
            with ledger.lock:
                ledger.workers[wid]["verified"].add(document["id"])
        deadline = time.monotonic() + WRITE_DEADLINE
        while c.get(f"/v1/workers/{wid}", ctx["admin"], "GET /v1/workers/{id}")["status"] != "active":
            if time.monotonic() > deadline:
                self.ledger.note("worker never became active")
                return
            time.sleep(0.3)
        group = c.create("/v1/priority-groups", {
            "organisation_id": ctx["organisation"], "name": f"Soak {n}", "worker_ids": [wid]},
            ctx["admin"], "POST /v1/priority-groups")
        with ledger.lock:
            ledger.groups[group["id"]] = wid
        starts_at, ends_at = shift_times(datetime.now(UTC), self.profile.lead, self.profile.length)
        shift = c.create("/v1/shifts", {
            "site_id": ctx["site"], "staff_type": "doctor", "grade": "ST3",
            "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "break_minutes": 0},
            ctx["coordinator"], "POST /v1/shifts")
        sid = shift["id"]
        with ledger.lock:
            ledger.shifts[sid] = {"worker": wid, "starts_at": starts_at.isoformat(),
                                  "ends_at": ends_at.isoformat(), "status": shift["status"]}

        def too_late():
            return datetime.now(UTC) > starts_at - timedelta(seconds=1)

        def shift_status():
            return c.get(f"/v1/shifts/{sid}", ctx["coordinator"], "GET /v1/shifts/{id}")

        try:
            c.act(f"/v1/shifts/{sid}/publish", {"to": "priority", "priority_group_id": group["id"],
                                                "priority_minutes": 60},
                  ctx["coordinator"], "POST /v1/shifts/{id}/publish",
                  lambda: shift_status()["status"] == "open", give_up=too_late)
            with ledger.lock:
                ledger.shifts[sid]["status"] = "open"
            c.act(f"/v1/shifts/{sid}/book", {"worker_id": wid}, ctx["coordinator"],
                  "POST /v1/shifts/{id}/book", lambda: shift_status()["worker_id"] == wid, give_up=too_late)
        except Unresolved:
            # Too close to the start: what happened is read back for the ledger.
            now = shift_status()
            with ledger.lock:
                ledger.shifts[sid]["status"] = now["status"]
                ledger.shifts[sid]["worker"] = now["worker_id"] or wid
            self.ledger.note(f"shift not booked before its start ({now['status']})")
            if now["status"] != "booked":
                return
        with ledger.lock:
            ledger.shifts[sid]["status"] = "booked"
        with self.worked_lock:
            self.worked.append((ends_at, sid, wid, token, starts_at))
            self.worked_lock.notify_all()

    def _timesheets(self):
        c = Client(self.base, self.stats)
        ctx, ledger = self.ctx, self.ledger
        while True:
            with self.worked_lock:
                while not self.worked and not self.rota_done.is_set():
                    self.worked_lock.wait(1)
                if not self.worked:
                    break
                self.worked.sort()
                ends_at, sid, wid, token, starts_at = self.worked.pop(0)
            try:
                wait = (ends_at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    time.sleep(wait)
                deadline = time.monotonic() + WRITE_DEADLINE
                while c.get(f"/v1/shifts/{sid}", ctx["coordinator"],
                            "GET /v1/shifts/{id}")["status"] != "completed":
                    if time.monotonic() > deadline:
                        ledger.note("shift never completed")
                        raise Unresolved(f"shift {sid} never completed")
                    time.sleep(1)
                with ledger.lock:
                    ledger.shifts[sid]["status"] = "completed"
                # Claims are whole minutes: the minute ending at the boundary inside the shift. For a
                # shift shorter than a minute (--short) that is over the overpayment guard, so two
                # approvers approve it.
                claimed_to = ends_at.replace(second=0)
                claimed_from = claimed_to - timedelta(minutes=1)
                sheet = c.create("/v1/timesheets", {"shift_id": sid, "started_at": claimed_from.isoformat(),
                                                    "ended_at": claimed_to.isoformat(), "break_minutes": 0},
                                 token, "POST /v1/timesheets")
                tid = sheet["id"]
                with ledger.lock:
                    ledger.shifts[sid]["timesheet"] = tid
                    ledger.timesheets[tid] = {"shift": sid, "worker": wid, "status": "submitted",
                                              "amount": sheet["amount"],
                                              "two_approvals": sheet["second_approval_required"]}
                approvers = ["approver"] + (["second_approver"] if sheet["second_approval_required"] else [])
                for i, approver in enumerate(approvers):
                    def approved(tid=tid, final=i == len(approvers) - 1):
                        view = c.get(f"/v1/timesheets/{tid}", ctx["approver"], "GET /v1/timesheets/{id}")
                        return view["status"] == "approved" or (not final and view["awaiting"] != "approval")
                    c.act(f"/v1/timesheets/{tid}/approve", None, ctx[approver],
                          "POST /v1/timesheets/{id}/approve", approved)
                with ledger.lock:
                    ledger.timesheets[tid]["status"] = "approved"
            except Refused as exc:
                ledger.note(f"refused: {exc}")
            except Unresolved as exc:
                with ledger.lock:
                    ledger.unresolved.append(str(exc))
        self.timesheets_done.set()

    def _pay(self):
        c = Client(self.base, self.stats)
        while not self.pay_stop.wait(self.profile.pay_every):
            today = datetime.now(LONDON).date()
            self.pay_run(c, today - timedelta(days=1), today + timedelta(days=1))

    def pay_run(self, c, start, end):
        try:
            body = {"bank_id": self.ctx["bank"], "period_start": start.isoformat(),
                    "period_end": end.isoformat()}
            run = c.create("/v1/pay-runs", body, self.ctx["admin"], "POST /v1/pay-runs")
        except (Refused, Unresolved) as exc:
            with self.ledger.lock:
                self.ledger.unresolved.append(str(exc))
            return None
        with self.ledger.lock:
            self.ledger.pay_runs[run["id"]] = {"lines": [line["timesheet_id"] for line in run["lines"]],
                                               "total": run["total"]}
        return run

    def drain(self, seconds):
        """Stop starting lifecycles; wait for those under way to be paid for (timesheets approved)."""
        self.posting.clear()
        self.timesheets_done.wait(seconds)
        self.pay_stop.set()
        for thread in self.threads:
            thread.join(60)
        return self.timesheets_done.is_set()


# --- faults -----------------------------------------------------------------------------------

@dataclass
class Injected:
    at: float  # seconds since the load began
    what: str
    detail: str = ""
    back_after: float | None = None  # seconds from the fault's end to serving again
    limit: float | None = None  # the most back_after may be


class Faults:
    def __init__(self, profile, platform, rabbit, proxies, hr, began):
        self.profile, self.platform, self.rabbit = profile, platform, rabbit
        self.proxies, self.hr, self.began = proxies, hr, began
        self.injected = []
        self.stop = threading.Event()
        self.thread = None
        self.db_round = 0

    def start(self):
        self.thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self.thread.start()

    def _now(self):
        return time.monotonic() - self.began

    def _run(self):
        plan = self.profile.faults
        i = 0
        while not self.stop.is_set():
            at, kind, target = plan[i % len(plan)]
            if at is None:  # the full soak: one after another, each after the platform recovered
                if self.stop.wait(self.profile.gap):
                    return
            else:
                if i >= len(plan):
                    return
                if self.stop.wait(max(0, at - self._now())):
                    return
            if at is None and self._now() > self.profile.duration - (
                    self.profile.cut_seconds + 10 if kind == "db" else 10):
                return
            try:
                self.inject(kind, target)
            except Exception as exc:  # noqa: BLE001 - recorded and shown; the run goes on
                self.injected.append(Injected(self._now(), f"{kind} {target or ''}", f"FAILED: {exc}"))
            i += 1

    def _back(self, since, limit=None, seconds=120):
        try:
            wait_until(self.platform.ready, seconds, "the platform to serve again", interval=0.25)
        except RuntimeError:
            return None
        return time.monotonic() - since

    def inject(self, kind, target):
        at = self._now()
        if kind == "kill":
            pid = self.platform.kill(target)
            log(f"kill -9 {target} (pid {pid})")
            record = Injected(at, f"kill -9 {target}", f"pid {pid}")
            killed = time.monotonic()
            wait_until(lambda: self.platform.child(target) not in (None, pid), 60, f"{target} restarted")
            record.back_after = self._back(killed)
        elif kind == "hr":
            pid = self.hr.kill()
            log(f"kill -9 the HR consumer (pid {pid}); started again in 2 s")
            time.sleep(2)
            self.hr.start()
            record = Injected(at, "kill -9 HR consumer", f"pid {pid}, restarted after 2 s")
        elif kind in ("broker", "broker-crash"):
            crash = kind == "broker-crash"
            log(f"{'kill -9 and start' if crash else 'restarting'} RabbitMQ ({self.rabbit.node})")
            stopping, starting = self.rabbit.restart(crash=crash)
            returned = time.monotonic()
            record = Injected(at, "kill -9 RabbitMQ, start it" if crash else "restart RabbitMQ",
                              f"stop {stopping:.1f} s, start {starting:.1f} s", limit=RECOVERY_LIMIT)
            record.back_after = self._back(returned)
            log(f"RabbitMQ back; platform serving {record.back_after or -1:.1f} s later")
        elif kind == "db":
            name = target or self.profile.db_cut_services[self.db_round % len(self.profile.db_cut_services)]
            self.db_round += 1
            proxy = self.proxies[name]
            log(f"cutting {name}'s database connections for {self.profile.cut_seconds:g} s")
            proxy.cut()
            self.stop.wait(self.profile.cut_seconds)
            proxy.restore()
            returned = time.monotonic()
            record = Injected(at, f"cut {name}'s database", f"{self.profile.cut_seconds:g} s",
                              limit=RECOVERY_LIMIT)
            record.back_after = self._back(returned)
        else:
            raise ValueError(kind)
        self.injected.append(record)

    def finish(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(180)


# --- quiet and the ledger's checks ----------------------------------------------------------

class Databases:
    def __init__(self, server_url, names):
        self.server_url = server_url.rstrip("/")
        self.names = names

    def dsn(self, service):
        return f"{self.server_url}/{self.names[service]}"

    def rows(self, service, sql, *args):
        with contextlib.closing(psycopg2.connect(self.dsn(service), connect_timeout=10)) as conn:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()

    def has_table(self, service, table):
        return bool(self.rows(service, "SELECT 1 FROM information_schema.tables WHERE table_name = %s",
                              table))

    def outbox_backlog(self):
        return {name: self.rows(name, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
                for name in self.names if self.has_table(name, "outbox")}


def busy_queues(rabbit):
    """Queues with messages that should drain: not dead letters, not events nobody binds, and not
    the reply queue of a process killed with -9 (nobody consumes it: it holds the answers to what
    that process asked just before it died, and the broker deletes it 5 minutes after its last
    consumer left, nameko's x-expires)."""
    busy, orphans = {}, {}
    for name, (count, consumers) in rabbit.queues(consumers=True).items():
        if not count or name.endswith(".dead-letter") or name.endswith(".events.unrouted"):
            continue
        (orphans if name.startswith("rpc.reply-") and not consumers else busy)[name] = count
    return busy, orphans


def wait_for_quiet(rabbit, databases, seconds):
    """Every outbox sent and every queue empty (outbound email due too), twice 3 s apart."""
    deadline, calm, last = time.monotonic() + seconds, 0, None
    while time.monotonic() < deadline:
        try:
            backlog = {k: v for k, v in databases.outbox_backlog().items() if v}
            queues, _ = busy_queues(rabbit)
            due = databases.rows("notifications", "SELECT count(*) FROM deliveries WHERE status = 'pending' "
                                 "AND channel <> 'in_app' AND next_attempt_at <= now()")[0][0]
            last = (backlog, queues, due)
        except Exception as exc:  # noqa: BLE001 - still recovering
            last = (f"unreadable: {exc}",)
            calm = 0
            time.sleep(1)
            continue
        calm = calm + 1 if not backlog and not queues and not due else 0
        if calm >= 2:
            return True, last
        time.sleep(3)
    return False, last


class Checks:
    def __init__(self):
        self.rows = []  # (name, expected, found, ok, note)

    def add(self, name, expected, found, ok=None, note=""):
        ok = (expected == found) if ok is None else ok
        self.rows.append((name, expected, found, ok, note))
        return ok

    def same(self, name, expected, found, ok_also=True, note=""):
        """Two sets of ids: counted, and what is missing or extra named."""
        expected, found = set(expected), set(found)
        return self.add(name, len(expected), len(found & expected), ok=expected == found and ok_also,
                        note="; ".join(filter(None, [_diff(expected, found), note])))

    def counted(self, name, expected, counts):
        """Each of `expected` seen exactly once in `counts`, and nothing else."""
        expected = set(expected)
        twice = {k: n for k, n in counts.items() if n > 1}
        return self.add(name, len(expected), sum(1 for k in expected if counts.get(k) == 1),
                        ok=set(counts) == expected and not twice,
                        note="; ".join(filter(None, [_diff(expected, set(counts)),
                                                     f"more than once: {twice}"[:300] if twice else ""])))

    def failures(self):
        return [row for row in self.rows if not row[3]]


def check_ledger(ledger, load, databases, rabbit, hr, smtp, stats, platform, killed):
    """The ledger against the API, every service's database, the HR consumer's file, the mailbox,
    the outboxes, the queues and the dead letters."""
    checks, ctx, bank = Checks(), load.ctx, load.ctx["bank"]
    c = Client(load.base, stats)
    q = databases.rows

    # Identity and compliance: every registration and document once; verified workers active.
    workers = dict(q("identity", "SELECT id, status FROM workers WHERE bank_id = %s", bank))
    checks.same("workers registered (identity), each once", set(ledger.workers), set(workers))
    ready = [w for w, info in ledger.workers.items() if len(info["verified"]) == len(REQUIRED_KINDS)]
    inactive = {w: workers.get(w) for w in ready if workers.get(w) != "active"}
    checks.add("workers with every document verified are active", len(ready), len(ready) - len(inactive),
               note=_shown(inactive))
    documents = {d: status for d, status in q(
        "compliance", "SELECT id, status FROM documents WHERE worker_id = ANY(%s)", list(ledger.workers))}
    uploaded = {d for info in ledger.workers.values() for d in info["documents"]}
    checks.same("documents uploaded (compliance), each once", uploaded, set(documents))
    verified = {d for info in ledger.workers.values() for d in info["verified"]}
    checks.add("documents verified (compliance)", len(verified),
               sum(1 for d in verified if documents.get(d) == "verified"))

    # Shifts: every post once; each booking once, to its worker; ended bookings completed.
    shifts = {row[0]: tuple(row[1:]) for row in q(
        "shifts", "SELECT id, status, worker_id FROM shifts WHERE bank_id = %s", bank)}
    checks.same("shifts posted (shifts), each once", set(ledger.shifts), set(shifts))
    booked = {s for s, info in ledger.shifts.items() if info["status"] in ("booked", "completed")}
    as_booked = {s for s, (status, worker) in shifts.items()
                 if status in ("booked", "completed") and worker == ledger.shifts.get(s, {}).get("worker")}
    checks.same("shifts booked, to their worker (shifts)", booked, as_booked)
    steps = Counter(s for (s,) in q("shifts", "SELECT shift_id FROM shift_steps WHERE step = 'booked' "
                                              "AND shift_id = ANY(%s)", list(shifts)))
    doubled = {s: n for s, n in steps.items() if n > 1}
    checks.add("shifts booked more than once (shift_steps)", 0, len(doubled), note=_shown(doubled))
    cutoff = datetime.now(UTC) - timedelta(seconds=20)  # the shifts timer runs every 15 s
    ended = {s for s in booked if datetime.fromisoformat(ledger.shifts[s]["ends_at"]) < cutoff}
    checks.same("booked shifts that ended are completed (timer)", ended,
                {s for s in ended if shifts.get(s, ("",))[0] == "completed"})
    disagree = {}
    for s in ledger.shifts:  # the API says what the database says
        view = c.get(f"/v1/shifts/{s}", ctx["coordinator"], "check GET /v1/shifts/{id}")
        if (view["status"], view["worker_id"]) != shifts.get(s):
            disagree[s] = ((view["status"], view["worker_id"]), shifts.get(s))
    checks.add("shifts where the API and shifts' database differ", 0, len(disagree), note=_shown(disagree))

    # The read models hold each released shift once, as shifts has it.
    released = {s for s, info in ledger.shifts.items() if info["status"] != "draft"}
    for model in ("reporting", "matching"):
        rows = {row[0]: tuple(row[1:]) for row in q(
            model, "SELECT shift_id, status, worker_id FROM shifts WHERE bank_id = %s", bank)}
        checks.same(f"released shifts in {model}, as shifts has them", released,
                    {s for s in rows if rows[s] == shifts.get(s)})

    # Timesheets and pay: one timesheet per shift, each approved one paid in exactly one run.
    sheets = {row[0]: tuple(row[1:]) for row in q(
        "payroll", "SELECT id, shift_id, status FROM timesheets WHERE bank_id = %s", bank)}
    checks.same("timesheets submitted (payroll), each once", set(ledger.timesheets), set(sheets))
    per_shift = {s: n for s, n in Counter(shift for shift, _ in sheets.values()).items() if n > 1}
    checks.add("shifts with more than one timesheet", 0, len(per_shift), note=_shown(per_shift))
    approved = {t for t, info in ledger.timesheets.items() if info["status"] == "approved"}
    checks.same("timesheets approved (payroll)", approved,
                {t for t, (_, status) in sheets.items() if status == "approved"})
    runs = dict(q("payroll", "SELECT id, total::text FROM pay_runs WHERE bank_id = %s", bank))
    checks.same("pay runs closed (payroll), each once", set(ledger.pay_runs), set(runs))
    lines = q("payroll", "SELECT pay_run_id, timesheet_id FROM pay_run_lines WHERE pay_run_id = ANY(%s)",
              list(runs))
    paid = Counter(t for _, t in lines)
    told_paid = Counter(t for run in ledger.pay_runs.values() for t in run["lines"])
    checks.same("approved timesheets paid exactly once (pay run lines)", approved,
                {t for t in paid if paid[t] == 1 and told_paid[t] == 1},
                ok_also=set(paid) == set(told_paid) == approved)
    as_told = {r for r, run in ledger.pay_runs.items()
               if sorted(run["lines"]) == sorted(t for rr, t in lines if rr == r)
               and runs.get(r) == run["total"]}
    checks.same("pay runs' lines and totals as acknowledged", set(ledger.pay_runs), as_told)
    def lines_shown(run):
        view = c.get(f"/v1/pay-runs/{run}", ctx["admin"], "check GET /v1/pay-runs/{id}")
        return [line["timesheet_id"] for line in view["lines"]]
    views = {r for r in ledger.pay_runs if ledger.pay_runs[r]["lines"] == lines_shown(r)}
    checks.same("pay runs as the API shows them, as acknowledged", set(ledger.pay_runs), views)
    reported = {t for (t,) in q("reporting", "SELECT timesheet_id FROM timesheets WHERE bank_id = %s", bank)}
    checks.same("approved timesheets in reporting", approved, reported)
    payments = dict(q("reporting", "SELECT timesheet_id, pay_run_id FROM payments "
                                   "WHERE timesheet_id = ANY(%s)", list(sheets)))
    expected = {t: r for r, t in lines}
    checks.same("payments in reporting, as pay runs have them", set(expected.items()), set(payments.items()))

    # Notifications: in the worker's inbox one shift.booked per booking and one timesheet.approved
    # per approval; each booking's email sent, and received by the SMTP server.
    users = dict(q("notifications", "SELECT worker_id, user_id FROM recipients WHERE worker_id = ANY(%s)",
                   list(ledger.workers)))
    told = Counter()
    for user, kind, data in q("notifications", "SELECT user_id, type, data::text FROM notifications "
                                               "WHERE type IN ('shift.booked', 'timesheet.approved')"):
        data = json.loads(data)
        told[(user, kind, data.get("timesheet_id" if kind == "timesheet.approved" else "shift_id"))] += 1
    wanted = {(users.get(ledger.shifts[s]["worker"]), "shift.booked", s) for s in booked}
    checks.counted("shift.booked notifications, one per booking", wanted,
                   Counter({k: n for k, n in told.items() if k[1] == "shift.booked"}))
    wanted = {(users.get(ledger.timesheets[t]["worker"]), "timesheet.approved", t) for t in approved}
    checks.counted("timesheet.approved notifications, one per approval", wanted,
                   Counter({k: n for k, n in told.items() if k[1] == "timesheet.approved"}))
    emails = {json.loads(data).get("shift_id"): (delivery, status) for delivery, status, data in q(
        "notifications", "SELECT d.id, d.status, n.data::text FROM deliveries d JOIN notifications n "
                         "ON n.id = d.notification_id WHERE d.channel = 'email' AND d.type = 'shift.booked'")}
    checks.same("booking emails sent (delivery log)", booked,
                {s for s in booked if emails.get(s, (None, None))[1] == "sent"})
    received = Counter(str(m["Message-ID"]).strip("<>").split("@")[0] for m in list(smtp.messages))
    got = {s: received[emails[s][0]] for s in booked if s in emails}
    twice = sum(1 for n in got.values() if n > 1)
    checks.same("booking emails received by the SMTP server", booked, {s for s, n in got.items() if n},
                note=f"{twice} received more than once (email is at least once: a kill between the SMTP "
                     "server's acceptance and the commit sends it again)" if twice else "")

    # The HR system: every pay_run.closed and timesheet.approved once.
    events = hr.events()
    checks.counted("pay_run.closed received by the HR consumer, each once", set(ledger.pay_runs),
                   Counter(e["data"]["pay_run_id"] for e in events if e["type"] == "pay_run.closed"))
    checks.counted("timesheet.approved received by the HR consumer, each once", approved,
                   Counter(e["data"]["timesheet_id"] for e in events if e["type"] == "timesheet.approved"))
    checks.add("HR consumer's file: event ids more than once", 0,
               len(events) - len({e["event_id"] for e in events}))

    # The machinery: outboxes, queues, dead letters, processes, answers.
    backlog = {k: v for k, v in databases.outbox_backlog().items() if v}
    checks.add("outbox rows unsent (every service)", 0, sum(backlog.values()), note=_shown(backlog))
    busy, orphans = busy_queues(rabbit)
    orphaned = (f"not counted: {sum(orphans.values())} replies in {len(orphans)} reply queues of killed "
                "processes (deleted 5 min after)") if orphans else ""
    checks.add("messages left in queues", 0, sum(busy.values()),
               note="; ".join(filter(None, [_shown(busy), orphaned])))
    dead = {name: count for name, count in rabbit.queues().items() if name.endswith(".dead-letter") and count}
    checks.add("dead letters", 0, sum(dead.values()), note="\n".join(
        describe_dead_letter(name, message) for name in dead for message in rabbit.peek(name)))
    checks.add("platform processes running", len(NAMES),
               sum(1 for n in NAMES if platform.child(n) is not None))
    exits, asked = Counter(name for _, name, _ in platform.exits), Counter(killed)
    unasked = {name: n - asked[name] for name, n in exits.items() if n > asked[name]}
    checks.add("processes that exited unasked", 0, sum(unasked.values()), note=_shown(unasked))
    checks.add("answers 5xx other than 503 (any request)", 0, len(stats.unexpected),
               note="; ".join(f"{label} {status} {body[:120]}"
                              for label, status, body in stats.unexpected[:5]))
    whole = sum(1 for t in approved if paid[t] == 1)
    checks.add("lifecycles paid end to end (at least one)", ">0", whole, ok=whole > 0)
    return checks


def describe_dead_letter(queue, message):
    headers = message.get("properties", {}).get("headers") or {}
    try:
        body = json.loads(message.get("payload") or "{}")
    except ValueError:
        body = {}
    error = headers.get("x-staffbank-error") or headers.get("x-death")
    return (f"{queue}: {body.get('type')} {body.get('event_id')} attempts "
            f"{headers.get('x-staffbank-attempt')}: {error}")


def _shown(mapping):
    return str(mapping)[:300] if mapping else ""


def _diff(expected, found, detail=None):
    missing, extra = set(expected) - set(found), set(found) - set(expected)
    parts = []
    if missing:
        parts.append(f"missing {len(missing)}: {sorted(map(str, missing))[:3]}")
    if extra:
        parts.append(f"extra {len(extra)}: {sorted(map(str, extra))[:3]}")
    if detail:
        parts.append(f"e.g. {list(detail.items())[:2]}")
    return "; ".join(parts)


# --- the report -------------------------------------------------------------------------------

def report(profile_name, faults, stats, ledger, checks, load_errors, quiet):
    out = []
    out.append("")
    out.append(f"==== Staffbank soak ({profile_name}) ====")
    out.append("")
    out.append("INJECTED                                              serving again")
    for fault in faults:
        back = "-" if fault.back_after is None and fault.limit is None else (
            "never" if fault.back_after is None else f"{fault.back_after:5.1f} s")
        limit = f" (limit {fault.limit:g} s)" if fault.limit else ""
        out.append(f"  t+{fault.at:6.1f} s  {fault.what:<28} {fault.detail:<24} {back}{limit}")
    out.append("")
    out.append("REQUESTS (status: count)")
    for label in sorted(stats.statuses):
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses[label].items(), key=str))
        out.append(f"  {label:<40} {counts}")
    out.append("")
    shifts = Counter(s["status"] for s in ledger.shifts.values())
    sheets = Counter(t["status"] for t in ledger.timesheets.values())
    out.append(f"LEDGER  workers {len(ledger.workers)}, shifts {len(ledger.shifts)} (booked "
               f"{shifts['booked'] + shifts['completed']}, completed {shifts['completed']}), timesheets "
               f"{len(ledger.timesheets)} (approved {sheets['approved']}, two approvers "
               f"{sum(1 for t in ledger.timesheets.values() if t['two_approvals'])}), pay runs "
               f"{len(ledger.pay_runs)} (lines {sum(len(r['lines']) for r in ledger.pay_runs.values())})")
    for why, n in ledger.abandoned.most_common():
        out.append(f"  lifecycle stopped early x{n}: {why[:140]}")
    for what in ledger.unresolved:
        out.append(f"  UNRESOLVED: {what[:160]}")
    out.append(f"  quiet reached: {quiet[0]} {'' if quiet[0] else quiet[1]}")
    out.append("")
    out.append(f"{'CHECKS':<60} {'expected':>9} {'found':>9}")
    for name, expected, found, ok, note in checks.rows:
        out.append(f"  {name:<58} {str(expected):>9} {str(found):>9}  {'ok' if ok else 'DIFFERENT'}")
        for line in (note or "").splitlines():
            out.append(f"      {line[:200]}")
    for error in load_errors:
        out.append(f"  LOAD ERROR {error}")
    failures = len(checks.failures()) + len(load_errors) + len(ledger.unresolved) + (0 if quiet[0] else 1)
    failures += sum(1 for f in faults if f.limit and (f.back_after is None or f.back_after > f.limit))
    failures += sum(1 for f in faults if f.detail.startswith("FAILED"))
    out.append("")
    out.append("RESULT: " + ("PASS, every acknowledged write reflected exactly once" if not failures
                             else f"FAIL, {failures} difference(s)"))
    print("\n".join(out), flush=True)
    return failures


# --- main -------------------------------------------------------------------------------------

class Cleanup:
    """Everything started, undone in reverse order, once, even on failure or a signal."""

    def __init__(self):
        self.steps = []

    def push(self, what, step):
        self.steps.append((what, step))

    def run(self):
        while self.steps:
            what, step = self.steps.pop()
            began = time.monotonic()
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                print(f"soak: cleanup of {what} failed: {exc}", file=sys.stderr, flush=True)
            if time.monotonic() - began > 3:
                log(f"stopping {what} took {time.monotonic() - began:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deploy.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5, help="minutes of load with faults (default 5)")
    parser.add_argument("--short", action="store_true", help="the short version `make test` runs (~2 min)")
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of a private one")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (broker and database)")
    args = parser.parse_args(argv)
    profile = short_profile() if args.short else full_profile(args.minutes)
    name = "short" if args.short else f"{profile.duration / 60:g} minutes"

    LOGS.mkdir(parents=True, exist_ok=True)
    lock = open(LOGS / "lock", "w")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("soak: another soak is running on this machine (.run/soak/lock); not starting", file=sys.stderr)
        return 2
    cleanup = Cleanup()
    atexit.register(cleanup.run)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    workdir = Path(tempfile.mkdtemp(prefix="staffbank-soak-"))
    if args.keep:
        log(f"keeping {workdir}")
    else:
        cleanup.push("temporary directory", lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        return run(profile, name, args, workdir, cleanup)
    finally:
        cleanup.run()


def run(profile, name, args, workdir, cleanup):
    started = time.monotonic()
    log(f"soak ({name}): starting a private RabbitMQ node and PostgreSQL; logs in {LOGS}")
    rabbit = PrivateRabbit(workdir)
    rabbit_thread = threading.Thread(target=rabbit.start, daemon=True)
    rabbit_thread.start()
    cleanup.push("RabbitMQ node", rabbit.kill)
    names = {service: f"staffbank_soak_{service}" for service in NAMES}
    if args.database_url:
        server = args.database_url.rstrip("/")
        drop = lambda: _drop_databases(server, names.values())  # noqa: E731
        drop()
        cleanup.push("databases", drop)
    else:
        postgres = PrivatePostgres(workdir)
        cleanup.push("PostgreSQL", postgres.stop)
        postgres.start()
        server = postgres.url
    databases = Databases(server, names)
    proxies = {}
    parts = urlsplit(server)
    for service in profile.db_cut_services:
        proxies[service] = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
        cleanup.push(f"{service} database proxy", proxies[service].stop)

    from notifications.testing import SmtpSink  # aiosmtpd: a test and make-run dependency
    smtp = SmtpSink().start()
    cleanup.push("SMTP server", smtp.stop)
    rabbit_thread.join(150)
    if rabbit.process is None or not rabbit.serving():
        raise SystemExit("the private RabbitMQ node did not start; see " + str(rabbit.dir / "server.out"))
    log(f"RabbitMQ {rabbit.node} on :{rabbit.port} (management :{rabbit.api_port}); PostgreSQL {server}")

    urls = {service: f"{server}/{db}" for service, db in names.items()}
    for service, proxy in proxies.items():
        urls[service] = proxy.uri(urls[service])
    env = dict(os.environ, AMQP_URI=rabbit.amqp_uri, RABBIT_API_URI=rabbit.api_uri,
               **{f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()},
               GATEWAY_PORT=str(free_port()), GATEWAY_HOST="127.0.0.1",
               BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
               TOKEN_SIGNING_KEY=secrets.token_urlsafe(48), SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port),
               PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    platform = Platform(env, LOGS / "platform.log")
    cleanup.push("platform", platform.stop)
    platform.start()
    log(f"platform ready on {platform.base} after {time.monotonic() - started:.0f} s")

    stats, ledger = Stats(), Ledger()
    load = Load(platform.base, profile, stats, ledger)
    wait_until(lambda: requests.post(platform.base + "/v1/auth/token", json={
        "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=10).ok, 60, "the bootstrap admin")
    load.setup(ADMIN_EMAIL, ADMIN_PASSWORD)
    hr_output = LOGS / "hr-events.jsonl"
    hr_output.unlink(missing_ok=True)
    (LOGS / "hr-consumer.log").unlink(missing_ok=True)
    hr = HrConsumer(rabbit.amqp_uri, hr_output, LOGS / "hr-consumer.log").start()
    cleanup.push("HR consumer", hr.stop)
    wait_until(lambda: "hr.payroll" in rabbit.queues(), 30, "the HR consumer's queue")

    log(f"load: {profile.rota_clients} lifecycle clients, a timesheet client, a pay-run client, "
        f"{profile.duration:g} s with faults")
    began = time.monotonic()
    load.start()
    faults = Faults(profile, platform, rabbit, proxies, hr, began)
    faults.start()
    while time.monotonic() - began < profile.post_until:
        time.sleep(0.5)
    load.posting.clear()
    while time.monotonic() - began < profile.duration:
        time.sleep(0.5)
    faults.finish()
    log("faults over; draining the load")
    drained = load.drain(profile.lead + profile.length + WRITE_DEADLINE)
    if not drained:
        ledger.unresolved.append("the load did not drain")
    log("waiting for quiet")
    first_quiet = wait_for_quiet(rabbit, databases, 240)
    log("closing a last pay run for everything approved and unpaid")
    final = load.pay_run(Client(platform.base, stats), date(2000, 1, 1), date(2100, 12, 31))
    if final is None:
        ledger.unresolved.append("the last pay run was not acknowledged")
    quiet = wait_for_quiet(rabbit, databases, 240)
    if not first_quiet[0]:
        quiet = (False, first_quiet[1])
    (LOGS / "ledger.json").write_text(ledger.as_json())
    killed = [f.what.removeprefix("kill -9 ") for f in faults.injected if f.what.startswith("kill -9 ")]
    checks = check_ledger(ledger, load, databases, rabbit, hr, smtp, stats, platform, killed)
    failures = report(name, faults.injected, stats, ledger, checks, load.errors, quiet)
    log(f"done in {time.monotonic() - started:.0f} s; logs in {LOGS}")
    return 1 if failures else 0


def _drop_databases(server, names):
    with contextlib.closing(psycopg2.connect(f"{server}/postgres", connect_timeout=10)) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            for database in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
