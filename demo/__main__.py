"""python -m demo [--seed N] [--size small|default|full|<scale>] [--gateway URL] [--out FILE]

See demo/__init__.py for what it does and why."""

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from demo import reports as report_step
from demo.client import Api, ApiError
from demo.ledger import Ledger
from demo.seed import seed
from demo.simulate import Simulation
from demo.world import LONDON, demand, make_world, size_from

README_ADMIN = ("admin@example.org", "change-me-now")


@dataclass
class Options:
    gateway: str = "http://127.0.0.1:8080"
    seed: int = 1
    size: str = "default"
    out: str = ".run/demo/fill-rate.svg"
    admin_email: str = README_ADMIN[0]
    admin_password: str = README_ADMIN[1]
    threads: int = 16
    tag: str | None = None
    progress: bool = True


@dataclass
class Result:
    world: object = None
    ledger: Ledger = field(default_factory=Ledger)
    handles: dict = field(default_factory=dict)
    reports: object = None
    timings: list = field(default_factory=list)  # (phase, seconds)
    today: object = None
    pay_differences: list = field(default_factory=list)


class Progress:
    """Progress bars (rich), or nothing."""

    def __init__(self, console, enabled):
        self.bars = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bars = Progress(TextColumn("{task.description:<52}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)

    def __enter__(self):
        if self.bars:
            self.bars.start()
        return self

    def __exit__(self, *exc):
        if self.bars:
            self.bars.stop()

    def task(self, description, total):
        if not self.bars:
            return lambda n=1: None
        task_id = self.bars.add_task(description, total=total)
        return lambda n=1: self.bars.advance(task_id, n)


class Phases:
    def __init__(self, console, result):
        self.console, self.result = console, result

    def __call__(self, name):
        phases = self

        class Timed:
            def __enter__(self):
                phases.console.print(f"[bold cyan]== {name}")
                self.started = time.monotonic()

            def __exit__(self, *exc):
                seconds = time.monotonic() - self.started
                phases.result.timings.append((name, seconds))
                phases.console.print(f"[dim]   {name}: {seconds:.1f} s")

        return Timed()


def run(options, console=None, result=None):
    """The whole demo; returns what it sent, what the platform answered and the reports (in
    `result`, filled as it goes). Raises report_step.ReportsUnavailable if the platform has no
    reporting service."""
    from rich.console import Console

    console = console or Console()
    result = result if result is not None else Result()
    phase = Phases(console, result)
    api = Api(options.gateway, threads=options.threads)
    _wait_until_ready(options.gateway)
    admin = api.user(options.admin_email, options.admin_password)
    try:
        admin.login()
    except ApiError as error:
        raise SystemExit(f"demo: the bootstrap admin {options.admin_email} cannot sign in ({error.status}). "
                         "Run `make run` and `make demo` with the same BOOTSTRAP_ADMIN_EMAIL and "
                         "BOOTSTRAP_ADMIN_PASSWORD.") from error
    size = size_from(options.size)
    tag = options.tag or f"s{options.seed}-{uuid.uuid4().hex[:6]}"
    result.today = today = datetime.now(LONDON).date()
    world = result.world = make_world(options.seed, size, tag)
    slots = demand(world, today)
    console.print(f"Staffbank demo: seed {options.seed}, size {size.name} "
                  f"({sum(len(b.workers) for b in world.banks)} workers, "
                  f"{sum(len(b.sites) for b in world.banks)} sites, {len(slots)} shifts over "
                  f"{size.history_days} past and {size.horizon_days} coming days), gateway {options.gateway}")
    with Progress(console, options.progress) as progress:
        with phase("seed: banks, sites, staff, workers onboarded"):
            result.handles = handles = seed(api, admin, world, today, progress)
        simulation = Simulation(api, world, handles, result.ledger, today, slots, progress)
        with phase("history: the past weeks' cover recorded"):
            simulation.history()
        with phase("coming weeks: posting, release, applications, booking"):
            simulation.live()
        with phase("timesheets, approvals and pay runs"):
            simulation.timesheets_and_pay()
    result.pay_differences = check_pay(result.ledger)
    print_summary(console, result, api)
    with phase("reports"):
        result.reports = report_step.fetch(handles, result.ledger)
        report_step.print_reports(console, handles, result.reports)
        result.reports.charts = report_step.write_charts(handles, options.out)
    return result


def _wait_until_ready(gateway, seconds=60):
    """The platform must answer /readyz (a minute's grace for one still starting)."""
    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            response = requests.get(gateway.rstrip("/") + "/readyz", timeout=5)
            if response.status_code == 200:
                return
            problem = f"/readyz answered {response.status_code}: {response.text[:200]}"
        except requests.RequestException as exc:
            problem = f"nothing answers ({exc.__class__.__name__})"
            if isinstance(exc, requests.ConnectionError):
                raise SystemExit(f"demo: no platform at {gateway}: {problem}. Start it with `make run` "
                                 "(same BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD) first.") from exc
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: the platform at {gateway} is not ready: {problem}")
        time.sleep(2)


def check_pay(ledger):
    """Each bank's pay run paid exactly its approved timesheets, at the amounts they were priced."""
    differences = []
    for key, run in ledger.pay_runs.items():
        approved = {t.id: t for t in ledger.timesheets.values()
                    if t.status == "approved" and ledger.shifts[t.shift_id].bank_key == key}
        paid = {line["timesheet_id"]: line for line in run["lines"]}
        if set(paid) != set(approved):
            differences.append(f"{key}: pay run paid {len(paid)} timesheets, {len(approved)} were approved")
        total = sum((Decimal(t.amount) for t in approved.values()), Decimal(0))
        if Decimal(run["total"]) != total:
            differences.append(f"{key}: pay run total {run['total']} != {total} approved")
    return differences


def print_summary(console, result, api):
    from rich.table import Table

    ledger = result.ledger
    table = Table(title="What the demo sent (its ledger)", title_justify="left")
    table.add_column("")
    for handle in result.handles.values():
        table.add_column(handle.bank.name.split(" (")[0], justify="right")

    def row(label, fn):
        table.add_row(label, *(str(fn(h)) for h in result.handles.values()))

    row("organisations / sites", lambda h: f"{len(h.orgs)} / {len(h.sites)}")
    row("workers registered", lambda h: len(h.workers))
    row("  cleared and active", lambda h: sum(1 for w in h.bank.workers if w.cleared))
    row("  still onboarding or applied", lambda h: sum(1 for w in h.bank.workers if not w.cleared))
    for phase in ("history", "live"):
        row(f"{phase} shifts posted", lambda h, p=phase: sum(1 for s in ledger.of_bank(h.bank.key)
                                                              if s.phase == p))
        row("  filled", lambda h, p=phase: sum(1 for s in ledger.of_bank(h.bank.key)
                                               if s.phase == p and s.filled))
        row("  cancelled (late)", lambda h, p=phase: "{} ({})".format(
            sum(1 for s in ledger.of_bank(h.bank.key) if s.phase == p and s.status == "cancelled"),
            sum(1 for s in ledger.of_bank(h.bank.key) if s.phase == p and s.late_cancellation)))
    row("cascaded to agency / booked there", lambda h: "{} / {}".format(
        sum(1 for s in ledger.of_bank(h.bank.key) if s.cascaded),
        sum(1 for s in ledger.of_bank(h.bank.key) if s.booked_by == "agency" and s.filled)))
    row("rate violations (approved)", lambda h: sum(1 for s in ledger.of_bank(h.bank.key)
                                                    if s.rate_violation))
    row("timesheets approved", lambda h: sum(1 for t in ledger.timesheets.values() if t.status == "approved"
                                             and ledger.shifts[t.shift_id].bank_key == h.bank.key))
    row("pay run: lines, total", lambda h: "{} lines, £{}".format(
        len(ledger.pay_runs[h.bank.key]["lines"]), ledger.pay_runs[h.bank.key]["total"]))
    console.print(table)
    activity = Table(title="Activity", title_justify="left")
    activity.add_column("what")
    activity.add_column("count", justify="right")
    for what, count in sorted(ledger.counts.items()):
        activity.add_row(what, str(count))
    for what, count in sorted(ledger.notifications.items()):
        activity.add_row(f"notifications: {what}", str(count))
    activity.add_row("HTTP requests (retried after 503 or a dropped connection)",
                     f"{api.requests} ({api.retries})")
    console.print(activity)
    refusals = Table(title="Refusals the platform answered (409, by the first rule named)",
                     title_justify="left")
    refusals.add_column("when")
    refusals.add_column("rule")
    refusals.add_column("count", justify="right")
    for (when, rule), count in sorted(ledger.refusals.items()):
        refusals.add_row(when, rule, str(count))
    console.print(refusals)
    if ledger.rules_broken:
        console.print("Every rule named in those refusals: " + ", ".join(
            f"{rule} {count}" for rule, count in ledger.rules_broken.most_common()))
    for difference in result.pay_differences:
        console.print(f"[bold red]pay run check: {difference}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="the random seed (same seed, same figures)")
    parser.add_argument("--size", default="default",
                        help="small, default (1/8 of full, under ten minutes here), full (2,800 doctors, "
                             "400 practices, 1,000 workers) or a scale factor of full, e.g. 0.25")
    parser.add_argument("--gateway", default=os.environ.get("DEMO_GATEWAY", "http://127.0.0.1:8080"))
    parser.add_argument("--out", default=".run/demo/fill-rate.svg",
                        help="where to write the fill-rate chart (SVG); the second bank's gets its key")
    parser.add_argument("--threads", type=int, default=16, help="concurrent requests")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    from rich.console import Console

    console = Console()
    options = Options(
        gateway=args.gateway, seed=args.seed, size=args.size, out=args.out, threads=args.threads,
        admin_email=os.environ.get("BOOTSTRAP_ADMIN_EMAIL") or README_ADMIN[0],
        admin_password=os.environ.get("BOOTSTRAP_ADMIN_PASSWORD") or README_ADMIN[1],
        progress=not args.no_progress)
    started = time.monotonic()
    result = Result()
    status = 0
    try:
        run(options, console, result)
    except report_step.ReportsUnavailable as error:
        console.print(f"[bold red]demo: {error}")
        status = 2
    finally:
        _print_timings(console, result, started)
    if status:
        return status
    reports = result.reports
    if reports.differences or result.pay_differences:
        console.print(f"[bold red]{len(reports.differences)} reported figures differ from what the demo "
                      "sent:")
        for difference in reports.differences[:40]:
            console.print(f"[red]  {difference}")
        return 1
    console.print(f"[bold green]Every reported figure ({reports.checked}) matches what the demo sent.")
    for path in reports.charts:
        console.print(f"Fill-rate chart written to {path}")
    return 0


def _print_timings(console, result, started):
    if not result.timings:
        return
    console.print("Phase timings: " + "; ".join(f"{name.split(':')[0]} {seconds:.0f} s"
                                                 for name, seconds in result.timings)
                  + f"; total {time.monotonic() - started:.0f} s ({datetime.now(UTC):%H:%M} UTC)")


if __name__ == "__main__":
    sys.exit(main())
