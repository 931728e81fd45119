"""`make run`: every service and the gateway as local processes, supervised; ctrl-C stops all.

Each process is `python -m chassis.runner <module>:<Class>`, which creates and
migrates its own database first. Output is interleaved JSON lines, each prefixed
with the process name. A process that exits is started again after a backoff
(1 s, doubling to 30 s; back to 1 s once it has run for a minute), and the restart
is logged; only ctrl-C or SIGTERM stops everything, each process getting SIGTERM
and STOP_GRACE_SECONDS to finish (DESIGN.md rule 7). If TOKEN_SIGNING_KEY is unset
a random key is made once and kept in .run/token-signing-key (so tokens survive a
restart of `make run`); a key that is set is checked first (chassis.config.check_signing_key:
no placeholder, short or predictable key), and a process that exits because its
configuration is unusable (chassis.runner's EXIT_CONFIG) is not restarted: everything stops
with its reason.

Replicas: `python -m deploy.run --replicas matching=3 --replicas notifications=2` (or
`make run REPLICAS="matching=3 notifications=2"`) runs that many processes of a service, named
`matching`, `matching-2`, ...; they share its database and its queues as competing consumers
(nothing in a service needs a single instance: inbox claims, `SKIP LOCKED` relays and sender,
an advisory lock around migrations). The gateway listens on one port, so it runs once here;
run more behind a load balancer (docker-compose.yml, deploy/k8s).
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from chassis.config import ConfigError, check_signing_key

ROOT = Path(__file__).resolve().parents[1]
EXIT_CONFIG = 78  # chassis.runner.EXIT_CONFIG (not imported: that module monkey-patches with eventlet)
SERVICES = [
    ("identity", "identity.service:IdentityService"),
    ("compliance", "compliance.service:ComplianceService"),
    ("shifts", "shifts.service:ShiftsService"),
    ("payroll", "payroll.service:PayrollService"),
    ("matching", "matching.service:MatchingService"),
    ("notifications", "notifications.service:NotificationsService"),
    ("reporting", "reporting.service:ReportingService"),
    ("gateway", "gateway.service:GatewayService"),
]
STOP_GRACE_SECONDS = 10


def signing_key():
    """TOKEN_SIGNING_KEY if set, else the one kept in .run/token-signing-key (made at first use);
    ConfigError if it is not fit to sign tokens."""
    if os.environ.get("TOKEN_SIGNING_KEY"):
        return check_signing_key(os.environ["TOKEN_SIGNING_KEY"])
    path = ROOT / ".run" / "token-signing-key"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return check_signing_key(path.read_text().strip(), f"TOKEN_SIGNING_KEY (from {path})")


LOCAL_HOSTS = ("127.0.0.1", "localhost")


def listening(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def local_mailbox(env):
    """A local SMTP server keeping every email in .run/mail (one .eml file each, a line logged),
    started when SMTP_HOST is this machine and nothing answers on SMTP_PORT: without it a new
    user's `make run` would send no email at all. None when a mail server is already there."""
    host, port = env.get("SMTP_HOST", "127.0.0.1"), int(env.get("SMTP_PORT", "1025"))
    if host not in LOCAL_HOSTS or listening(host, port):
        return None
    from notifications.testing import SmtpSink

    def logged(message):
        print(f"staffbank: mail to {message['To']}: {message['Subject']} (in .run/mail)", flush=True)

    return SmtpSink(port=port, folder=ROOT / ".run" / "mail", on_message=logged).start()


def child_running(parent_pid, service):
    """The pid of the runner's (`parent_pid`) child process running `service`, or None: for the
    tools and tests that kill one on purpose (deploy/soak.py, tests/test_e2e_make_run.py)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent_pid and f"{service}.service:" in cmdline:
            return int(entry.name)
    return None


def pump(name, stream):
    width = max(len(n) for n, _ in SERVICES) + 3  # "-NN" of a replica
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:<{width}} | {line}")
        sys.stdout.flush()


RESTART_BACKOFF_SECONDS = (1, 30)  # first delay, ceiling
HEALTHY_AFTER_SECONDS = 60  # a process that ran this long restarts with the first delay again


class Supervised:
    """One service process, started again with backoff whenever it exits."""

    def __init__(self, name, spec, env):
        self.name, self.spec, self.env = name, spec, env
        self.process = None
        self.started_at = 0.0
        self.delay = RESTART_BACKOFF_SECONDS[0]
        self.restart_at = None
        self.refused = False  # exited because its configuration is unusable: not started again

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chassis.runner", self.spec], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.started_at, self.restart_at = time.monotonic(), None
        threading.Thread(target=pump, args=(self.name, self.process.stdout), daemon=True).start()

    def watch(self):
        """Schedule a restart if the process has exited; start it when its time has come."""
        now = time.monotonic()
        if self.refused:
            return
        if self.restart_at is None and self.process.poll() is not None:
            if self.process.returncode == EXIT_CONFIG:
                self.refused = True
                print(f"staffbank: {self.name} cannot start with this configuration (its reason is "
                      "above); not restarting it", flush=True)
                return
            if now - self.started_at >= HEALTHY_AFTER_SECONDS:
                self.delay = RESTART_BACKOFF_SECONDS[0]
            self.restart_at = now + self.delay
            print(f"staffbank: {self.name} exited with {self.process.returncode}; "
                  f"restarting in {self.delay:g} s", flush=True)
            self.delay = min(self.delay * 2, RESTART_BACKOFF_SECONDS[1])
        elif self.restart_at is not None and now >= self.restart_at:
            print(f"staffbank: restarting {self.name}", flush=True)
            self.start()


SINGLE_INSTANCE = {"gateway"}  # listens on GATEWAY_PORT


def replica_counts(specs):
    """{service: processes} from "name=N" items (each service once by default); ValueError with
    the reason for an unknown service, a count under 1, or a second gateway."""
    names = [name for name, _ in SERVICES]
    counts = dict.fromkeys(names, 1)
    for spec in specs:
        name, _, count = spec.partition("=")
        if name not in counts:
            raise ValueError(f"no service named {name!r} (services: {', '.join(names)})")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{spec!r}: give a whole number of processes, 1 or more")
        if name in SINGLE_INSTANCE and int(count) != 1:
            raise ValueError(f"the {name} listens on one port here: run more behind a load balancer")
        counts[name] = int(count)
    return counts


DEFAULT_METRICS_PORT = 9400


def supervised_processes(counts, env):
    """One Supervised per process: `name` for the first of a service, `name-2`, ... for the rest,
    each serving its metrics on its own port from METRICS_PORT (9400) on, in this order."""
    first_port = int(env.get("METRICS_PORT") or DEFAULT_METRICS_PORT)
    processes = [(name if n == 1 else f"{name}-{n}", spec, n) for name, spec in SERVICES
                 for n in range(1, counts[name] + 1)]
    return [Supervised(name, spec, dict(env, SERVICE_REPLICA=str(n), METRICS_PORT=str(first_port + i)))
            for i, (name, spec, n) in enumerate(processes)]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m deploy.run", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", action="append", default=[], metavar="SERVICE=N",
                        help="run N processes of SERVICE (repeatable); also REPLICAS=\"a=2 b=3\"")
    args = parser.parse_args(argv)
    try:
        args.counts = replica_counts(os.environ.get("REPLICAS", "").split() + args.replicas)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        env = dict(os.environ, TOKEN_SIGNING_KEY=signing_key(), PYTHONUNBUFFERED="1")
    except ConfigError as exc:
        print(f"staffbank: cannot start: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    mailbox = local_mailbox(env)
    if mailbox is not None:
        print(f"staffbank: email goes to a local SMTP server on 127.0.0.1:{mailbox.port}, kept in "
              ".run/mail", flush=True)
    supervised = supervised_processes(args.counts, env)
    for service in supervised:
        service.start()

    port = env.get("GATEWAY_PORT", "8080")
    print(f"staffbank: {len(supervised)} processes starting; gateway on http://127.0.0.1:{port} "
          "(ctrl-C stops all)", flush=True)
    print("staffbank: metrics on " + ", ".join(
        f"{service.name} :{service.env['METRICS_PORT']}" for service in supervised), flush=True)
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for service in supervised:
                service.watch()
            if any(service.refused for service in supervised):
                print("staffbank: stopping everything: fix the configuration and start again", flush=True)
                break
            time.sleep(0.2)
    finally:
        processes = [s.process for s in supervised]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        if mailbox is not None:
            mailbox.stop()
    if any(service.refused for service in supervised):
        return EXIT_CONFIG
    return 1 if any(p.returncode not in (0, -signal.SIGTERM) for p in processes) else 0


if __name__ == "__main__":
    sys.exit(main())
