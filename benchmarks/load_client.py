"""The load client of issue 22, run as a process of its own: `python -m benchmarks.load_client SPEC OUT`.

SPEC (JSON, written by benchmarks/write_path.py) names the gateway, the scenario, the concurrency C,
the load window and the items; C plain threads (no eventlet), each with its own requests.Session,
take items in order from one shared counter until the window closes (or, for items that may be used
once, until they run out). Requests started in the first `warmup` seconds are not counted.
OUT (JSON) gets, for every counted iteration, its start, end and whether it succeeded; the status
codes seen; the first few failures; the id each item created (`keep`); and per-step latencies.

Scenarios:
- `requests`: each item is one request `{method, path, body?, token?, expect}` (`cycle`: reuse them);
- `lifecycle`: each item is one shift's lifecycle as the platform runs it: a coordinator records a
  shift already worked (POST /v1/shifts with `worker_id` and a start in the past: posted, booked and
  completed in one call, by the same use cases as POST /v1/shifts and /book), the worker submits its
  timesheet, an approver approves it, and every `pay_every`-th lifecycle of a client closes a pay run
  (`pay_run`) for everything approved so far: the lifecycle's share of a pay run.
"""

import itertools
import json
import sys
import threading
import time
from collections import Counter

import requests

TIMEOUT_SECONDS = 30


class Failed(Exception):
    pass


def call(session, base, method, path, body=None, token=None, expect=(200, 201)):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = session.request(method, base + path, json=body, headers=headers, timeout=TIMEOUT_SECONDS)
    if response.status_code not in expect:
        raise Failed(f"{method} {path} -> {response.status_code} {response.text[:300]}")
    return response


class Load:
    def __init__(self, spec):
        self.spec = spec
        self.base = spec["base"]
        self.items = spec["items"]
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.samples = []  # (start, end, ok), relative to t0
        self.statuses = Counter()
        self.errors = []
        self.kept = {}
        self.steps = {}
        self.t0 = time.perf_counter()
        self.warm = self.t0 + spec.get("warmup", 1.0)
        self.deadline = self.warm + spec["duration"]

    def next_item(self):
        i = next(self.counter)
        if i >= len(self.items):
            if not self.spec.get("cycle"):
                return None, None
            return i, self.items[i % len(self.items)]
        return i, self.items[i]

    def record(self, started, ended, ok, status=None, error=None):
        with self.lock:
            if status is not None:
                self.statuses[str(status)] += 1
            if error is not None and len(self.errors) < 5:
                self.errors.append(error)
            if started >= self.warm:
                self.samples.append((started - self.t0, ended - self.t0, ok))

    def step(self, name, started, ended):
        if started >= self.warm:
            with self.lock:
                self.steps.setdefault(name, []).append(ended - started)

    def client(self):
        session = requests.Session()
        done = 0
        while time.perf_counter() < self.deadline:
            index, item = self.next_item()
            if item is None:
                return
            started = time.perf_counter()
            try:
                if self.spec["scenario"] == "lifecycle":
                    done += 1
                    self.lifecycle(session, item, pay=done % self.spec.get("pay_every", 20) == 0)
                    status = 200
                else:
                    response = call(session, self.base, item["method"], item["path"], item.get("body"),
                                    item.get("token"), tuple(item.get("expect", (200, 201))))
                    status = response.status_code
                    if self.spec.get("keep"):
                        with self.lock:
                            self.kept[index] = response.json()["id"]
                self.record(started, time.perf_counter(), True, status)
            except (Failed, requests.RequestException, ValueError, KeyError) as exc:
                self.record(started, time.perf_counter(), False, "failed", str(exc))

    def lifecycle(self, session, item, pay):
        base = self.base
        t = time.perf_counter()
        shift = call(session, base, "POST", "/v1/shifts", item["shift"], item["coordinator"], (201,)).json()
        if shift["status"] != "completed":
            raise Failed(f"recorded shift is {shift['status']}, not completed")
        t1 = time.perf_counter()
        self.step("POST /v1/shifts (worked: post+book+complete)", t, t1)
        sheet = call(session, base, "POST", "/v1/timesheets",
                     {"shift_id": shift["id"], "started_at": shift["starts_at"], "ended_at": shift["ends_at"],
                      "break_minutes": 0}, item["worker"], (201,)).json()
        t2 = time.perf_counter()
        self.step("POST /v1/timesheets", t1, t2)
        approved = call(session, base, "POST", f"/v1/timesheets/{sheet['id']}/approve", None,
                        item["approver"], (200,)).json()
        if approved["status"] != "approved":
            raise Failed(f"timesheet is {approved['status']} after one approval")
        t3 = time.perf_counter()
        self.step("POST /v1/timesheets/{id}/approve", t2, t3)
        if pay:
            run = self.spec["pay_run"]
            call(session, base, "POST", "/v1/pay-runs", run["body"], run["token"], (201,))
            self.step("POST /v1/pay-runs", t3, time.perf_counter())

    def run(self):
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.spec["concurrency"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"samples": self.samples, "statuses": dict(self.statuses), "errors": self.errors,
                "kept": self.kept, "steps": self.steps, "consumed": min(next(self.counter), len(self.items)),
                "warm": self.warm - self.t0, "deadline": self.deadline - self.t0}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as handle:
        spec = json.load(handle)
    result = Load(spec).run()
    with open(argv[1], "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
