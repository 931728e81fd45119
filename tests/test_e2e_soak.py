"""`make soak`'s short version (deploy/soak.py --short): the whole lifecycle under load while two
services are killed with -9, RabbitMQ is restarted and payroll's database is cut for 10 s, then
the ledger: every acknowledged write reflected exactly once in every service, the HR consumer and
the mailbox, outboxes and queues empty, no dead letters.

The soak runs its own RabbitMQ node and PostgreSQL cluster (the shared ones are never restarted),
so it needs neither this test's vhost nor its databases; it takes about two and a half minutes here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(330)
def test_the_short_soak_reflects_every_acknowledged_write_exactly_once(tmp_path):
    output = tmp_path / "soak.out"
    with output.open("w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "deploy.soak", "--short"], cwd=ROOT,
                                   stdout=handle, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.terminate()  # the soak cleans up after itself on SIGTERM
                process.wait(timeout=60)
    text = output.read_text()
    assert process.returncode == 0, text
    for injected in ("kill -9 shifts", "kill -9 notifications", "restart RabbitMQ", "cut payroll's database"):
        assert injected in text, text
    assert "RESULT: PASS" in text, text
    assert "Traceback" not in text, text
