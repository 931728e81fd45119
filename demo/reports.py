"""The end of the demo: the platform's own reports (fill rate, sitrep, the fill-rate chart),
printed, and checked figure by figure against the ledger of what the demo sent.

Reports are derived views (API.md: they follow within seconds), so the check waits for them
to agree, up to `SETTLE_SECONDS`, before it names any difference. Without a reporting service
the demo stops here with `ReportsUnavailable`: it never prints figures the platform did not
compute."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from demo.client import ApiError

SETTLE_SECONDS = 60
GROUPS = ("site", "organisation", "staff_type")
CHART_PATH = "/v1/reports/fill-rate/chart"
FIGURES = ("posted", "filled", "cancelled", "agency")


class ReportsUnavailable(RuntimeError):
    pass


@dataclass
class Reports:
    fill_rate: dict = field(default_factory=dict)  # (bank key, group_by) -> items
    sitrep: dict = field(default_factory=dict)  # bank key -> items
    expected_fill_rate: dict = field(default_factory=dict)
    expected_sitrep: dict = field(default_factory=dict)
    differences: list = field(default_factory=list)
    checked: int = 0
    charts: list = field(default_factory=list)  # paths written
    waited: float = 0.0


def _get(caller, path, **params):
    try:
        return caller.get(path, **params)
    except ApiError as error:
        if error.status == 404 and isinstance(error.body, dict) and "No such path" in str(error.body):
            raise ReportsUnavailable(
                f"the platform has no reporting service: GET {path} answered 404 "
                f"({error.body.get('detail')}). "
                "The demo prints only figures the platform computes, so it stops before its reports; "
                "everything above was sent and answered.") from error
        raise


def fetch(handles, ledger, now_fn=lambda: datetime.now(UTC)):
    """Read every report until it agrees with the ledger (or SETTLE_SECONDS pass)."""
    reports = Reports()
    started = time.monotonic()
    while True:
        now = now_fn()
        reports.differences, reports.checked = [], 0
        for key, handle in handles.items():
            reader = handle.users["leadership"]
            for group_by in GROUPS:
                items = _get(reader, "/v1/reports/fill-rate", bank_id=handle.id, group_by=group_by)["items"]
                reports.fill_rate[(key, group_by)] = items
                expected = ledger.expected_fill_rate(key, group_by, handle.names)
                reports.expected_fill_rate[(key, group_by)] = expected
                _compare_fill_rate(reports, f"{handle.bank.name} by {group_by}", items, expected)
            items = _get(reader, "/v1/reports/sitrep", bank_id=handle.id)["items"]
            reports.sitrep[key] = items
            expected = ledger.expected_sitrep(key, handle.names, now)
            reports.expected_sitrep[key] = expected
            _compare_sitrep(reports, f"{handle.bank.name} sitrep", items, expected)
        reports.waited = time.monotonic() - started
        if not reports.differences or reports.waited > SETTLE_SECONDS:
            return reports
        time.sleep(2)


def write_charts(handles, out):
    """The fill-rate chart of each bank, as the platform draws it: `out` for the first bank,
    `out` with the bank's key before the suffix for the others."""
    out = Path(out)
    written = []
    for n, (key, handle) in enumerate(handles.items()):
        response = _get_raw(handle.users["leadership"], CHART_PATH, bank_id=handle.id, interval="week")
        kind = response.headers.get("Content-Type", "")
        suffix = ".png" if "png" in kind else ".svg" if "svg" in kind else out.suffix or ".out"
        path = out.with_suffix(suffix) if n == 0 else out.with_name(f"{out.stem}-{key}{suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(response.content)
        written.append(path)
    return written


def _get_raw(caller, path, **params):
    try:
        return caller.call("GET", path, params=params, raw=True)
    except ApiError as error:
        if error.status == 404:
            raise ReportsUnavailable(f"the platform draws no fill-rate chart: GET {path} answered 404 "
                                     f"({error.body}).") from error
        raise


# --- comparing ------------------------------------------------------------------------------

def _same_number(reported, expected, places=4):
    if expected is None or reported is None:
        return expected is None and reported is None
    if isinstance(reported, str):
        digits = len(reported.split(".", 1)[1]) if "." in reported else 0
        return Decimal(reported) == Decimal(str(expected)).quantize(Decimal(1).scaleb(-digits))
    return abs(float(reported) - float(expected)) < 10 ** -places


def _compare_fill_rate(reports, what, items, expected):
    seen = set()
    for item in items:
        key = item.get("key")
        seen.add(key)
        want = expected.get(key)
        if want is None:
            if item.get("posted"):
                reports.differences.append(f"{what}: {item.get('name')} ({key}) reported, but the demo sent "
                                           "nothing there")
            continue
        for figure in ("posted", "filled", "cancelled", "agency"):
            reports.checked += 1
            if item.get(figure) != want[figure]:
                reports.differences.append(f"{what}: {item.get('name')} {figure} {item.get(figure)} != "
                                           f"{want[figure]} sent")
        reports.checked += 2
        if not _same_number(item.get("fill_rate"), want["fill_rate"]):
            reports.differences.append(f"{what}: {item.get('name')} fill_rate {item.get('fill_rate')} != "
                                       f"{want['fill_rate']}")
        if not _same_number(item.get("hours_booked"), want["hours_booked"], places=2):
            reports.differences.append(f"{what}: {item.get('name')} hours_booked {item.get('hours_booked')} "
                                       f"!= {want['hours_booked']}")
    for key in expected.keys() - seen:
        reports.differences.append(f"{what}: {key} missing ({expected[key]['posted']} shifts sent)")


def _compare_sitrep(reports, what, items, expected):
    seen = set()
    for item in items:
        org = item.get("organisation_id")
        seen.add(org)
        want = expected.get(org)
        if want is None:
            reports.differences.append(f"{what}: {item.get('name')} is not an organisation the demo made")
            continue
        reports.checked += 3
        if item.get("rag") != want["rag"]:
            reports.differences.append(f"{what}: {item.get('name')} rag {item.get('rag')} != {want['rag']}")
        if not _same_number(item.get("coverage"), want["coverage"]):
            reports.differences.append(f"{what}: {item.get('name')} coverage {item.get('coverage')} != "
                                       f"{want['coverage']}")
        if item.get("open_gaps") != want["open_gaps"]:
            reports.differences.append(f"{what}: {item.get('name')} open_gaps {item.get('open_gaps')} != "
                                       f"{want['open_gaps']}")
    for org in expected.keys() - seen:
        reports.differences.append(f"{what}: organisation {org} missing")


# --- printing -----------------------------------------------------------------------------

def _pct(value):
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def print_reports(console, handles, reports):
    from rich.table import Table

    for key, handle in handles.items():
        bank = handle.bank
        console.rule(f"[bold]{bank.name}")
        primary = bank.kind == "primary"
        for group_by in ("organisation", "staff_type") if not primary else ("staff_type", "site"):
            items = reports.fill_rate[(key, group_by)]
            rows = sorted(items, key=lambda i: (-(i.get("posted") or 0), str(i.get("name"))))
            title = f"Fill rate by {group_by.replace('_', ' ')} (all time)"
            if primary and group_by == "site":
                rows = sorted(items, key=lambda i: (float(i["fill_rate"]) if i.get("fill_rate") is not None
                                                    else 2.0, str(i.get("name"))))[:10]
                title = f"Fill rate: the 10 lowest of {len(items)} practices"
            table = Table(title=title, title_justify="left")
            for column in ("name", "posted", "filled", "cancelled", "agency", "fill rate", "hours booked"):
                table.add_column(column, justify="left" if column == "name" else "right")
            for item in rows:
                table.add_row(str(item.get("name") or item.get("key")), str(item.get("posted")),
                              str(item.get("filled")), str(item.get("cancelled")), str(item.get("agency")),
                              _pct(item.get("fill_rate")), str(item.get("hours_booked")))
            if group_by != "site":
                total = {f: sum(i.get(f) or 0 for i in items) for f in FIGURES}
                hours = sum(Decimal(str(i.get("hours_booked") or 0)) for i in items)
                rate = (total["filled"] / (total["posted"] - total["cancelled"])
                        if total["posted"] > total["cancelled"] else None)
                table.add_row("[bold]all", *(str(total[f]) for f in FIGURES),
                              _pct(rate), str(hours))
            console.print(table)
        items = reports.sitrep[key]
        counts = {rag: sum(1 for i in items if i.get("rag") == rag) for rag in ("red", "amber", "green")}
        order = {"red": 0, "amber": 1, "green": 2}
        rows = sorted(items, key=lambda i: (order.get(i.get("rag"), 3), i.get("coverage") is None,
                                            i.get("coverage") or 0, str(i.get("name"))))
        if primary:
            rows = rows[:10]
        table = Table(title=f"Sitrep, next 14 days: {counts['red']} red, {counts['amber']} amber, "
                            f"{counts['green']} green" + (" (the 10 most pressed shown)" if primary else ""),
                      title_justify="left")
        for column in ("organisation", "rag", "coverage", "open gaps", "reasons"):
            table.add_column(column, justify="right" if column in ("coverage", "open gaps") else "left")
        colour = {"red": "red", "amber": "yellow", "green": "green"}
        for item in rows:
            rag = item.get("rag")
            reasons = item.get("reasons") or []
            text = (str(reasons[0]) if reasons else "") + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1
                                                          else "")
            table.add_row(str(item.get("name")), f"[{colour.get(rag, 'white')}]{rag}",
                          _pct(item.get("coverage")), str(item.get("open_gaps")), text)
        console.print(table)
