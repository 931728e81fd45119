"""`make run`: every service and the gateway as local processes, ctrl-C stops all.

Each process is `python -m chassis.runner <module>:<Class>`, which creates and
migrates its own database first. Output is interleaved JSON lines, each prefixed
with the process name. If TOKEN_SIGNING_KEY is unset a random key is made once
and kept in .run/token-signing-key (so tokens survive a restart of `make run`).
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [
    ("identity", "identity.service:IdentityService"),
    ("compliance", "compliance.service:ComplianceService"),
    ("shifts", "shifts.service:ShiftsService"),
    ("payroll", "payroll.service:PayrollService"),
    ("gateway", "gateway.service:GatewayService"),
]
STOP_GRACE_SECONDS = 15


def signing_key():
    if os.environ.get("TOKEN_SIGNING_KEY"):
        return os.environ["TOKEN_SIGNING_KEY"]
    path = ROOT / ".run" / "token-signing-key"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def pump(name, stream):
    width = max(len(n) for n, _ in SERVICES)
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:<{width}} | {line}")
        sys.stdout.flush()


def main():
    env = dict(os.environ, TOKEN_SIGNING_KEY=signing_key(), PYTHONUNBUFFERED="1")
    processes = []
    for name, spec in SERVICES:
        process = subprocess.Popen(
            [sys.executable, "-m", "chassis.runner", spec], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=pump, args=(name, process.stdout), daemon=True).start()
        processes.append((name, process))

    port = env.get("GATEWAY_PORT", "8080")
    print(f"staffbank: {len(processes)} processes starting; gateway on http://127.0.0.1:{port} "
          "(ctrl-C stops all)", flush=True)
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"staffbank: {name} exited with {process.returncode}; stopping all", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _, process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    return 1 if any(p.returncode not in (0, -signal.SIGTERM) for _, p in processes) else 0


if __name__ == "__main__":
    sys.exit(main())
