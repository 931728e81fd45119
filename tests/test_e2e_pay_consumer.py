"""The example HR consumer (examples/hr_consumer.py), run as its own process against the platform:
killed mid-stream (events delivered but unacknowledged, a line half written) and restarted, it
records every pay_run.closed exactly once, also one the broker delivers twice."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from kombu import Connection, Exchange

from chassis.testing import poll

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hr_consumer.py"
QUEUE = "hr.payroll"


def recorded(output):
    if not output.exists():
        return []
    complete = output.read_text().split("\n")[:-1]  # not a line still being written
    return [json.loads(line) for line in complete if line.strip()]


def queue_state(url):
    """(ready, unacked) of the consumer's queue, or None before it exists."""
    with Connection(url) as connection:
        channel = connection.channel()
        try:
            _, ready, consumers = channel.queue_declare(QUEUE, passive=True)
            return ready, consumers
        except Exception:
            return None
        finally:
            if channel.is_open:
                channel.close()


@pytest.fixture
def run_consumer(platform, tmp_path):
    url = platform.configs["payroll"]["AMQP_URI"]
    processes = []

    def start():
        log = open(tmp_path / f"consumer-{len(processes)}.log", "w")  # noqa: SIM115 - closed at teardown
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--amqp-url", url, "--queue", QUEUE, "--output",
             str(tmp_path / "events.jsonl"), "--delay", "0.2"],
            stdout=log, stderr=subprocess.STDOUT)
        processes.append((process, log))
        return process

    yield start
    for process, log in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_the_hr_consumer_sees_every_pay_run_once_across_a_restart(platform, api, make_bank, tmp_path,
                                                                  run_consumer):
    url = platform.configs["payroll"]["AMQP_URI"]
    output = tmp_path / "events.jsonl"
    north = make_bank("North")

    def pay_run(day):
        body = {"bank_id": north["bank"]["id"], "period_start": f"2026-11-{day:02d}",
                "period_end": f"2026-11-{day:02d}"}
        return api.created("/v1/pay-runs", body, token=north["bank_admin"])["id"]

    first = run_consumer()
    poll(lambda: queue_state(url) is not None and queue_state(url)[1] == 1, message="the consumer's queue")
    runs = [pay_run(day) for day in range(1, 6)]
    poll(lambda: len(recorded(output)) >= 2, message="the first events recorded")
    first.kill()  # mid-stream: some events recorded, the rest delivered but not yet acknowledged
    first.wait()
    assert len(recorded(output)) < len(runs)
    with output.open("a") as file:  # as if it had died half-way through writing a line
        file.write('{"event_id": "0000')
    runs += [pay_run(day) for day in range(6, 9)]  # published while it is down: kept in its queue

    # The relay publishes at least once: the same event again must not be recorded twice.
    again = recorded(output)[0]
    with Connection(url) as connection:
        connection.Producer().publish(
            {**{k: again[k] for k in ("event_id", "type", "version", "occurred_at", "data")},
             "producer": "payroll", "correlation_id": None},
            exchange=Exchange("payroll.events", type="topic", passive=True), routing_key="pay_run.closed",
            serializer="json")

    second = run_consumer()
    poll(lambda: len(recorded(output)) >= len(runs), timeout=20, message="every pay run recorded")
    poll(lambda: queue_state(url) == (0, 1), message="the queue drained")
    second.terminate()  # SIGTERM: a clean stop
    assert second.wait(timeout=10) == 0

    events = recorded(output)
    assert Counter(e["data"]["pay_run_id"] for e in events) == Counter({run_id: 1 for run_id in runs})
    assert len({e["event_id"] for e in events}) == len(events)
    assert {e["type"] for e in events} == {"pay_run.closed"}
    assert events[0]["data"]["bank_id"] == north["bank"]["id"] and events[0]["data"]["total"] == "0.00"
