"""`make demo` (demo/), small and seeded, on the whole platform over HTTP: every figure the
fill-rate and sitrep reports show equals a direct count of the shifts the demo sent (its
ledger), each pay run paid exactly the approved timesheets, the charts are written, and the same
seed replayed gives the same figures."""

import sys
from collections import defaultdict
from dataclasses import replace

import pytest
from rich.console import Console

from demo.__main__ import Options, run
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def figures(result):
    """What a run did, in the world's own terms (keys, not the platform's ids), so that two runs
    on one platform compare: per shift slot its status, worker and booking; refusals, counts,
    timesheets and pay runs; and the reported fill rate by site and the sitrep."""
    ledger, handles = result.ledger, result.handles
    site_key = {site_id: key for h in handles.values() for key, site_id in h.sites.items()}
    org_key = {org_id: key for h in handles.values() for key, org_id in h.orgs.items()}
    shifts = sorted((s.slot_key, s.status, s.worker_key, s.booked_by, s.late_cancellation)
                    for s in ledger.shifts.values())
    sheets = sorted((ledger.shifts[t.shift_id].slot_key, t.status, t.amount, t.hours)
                    for t in ledger.timesheets.values())
    pay = {key: (run["total"], len(run["lines"])) for key, run in ledger.pay_runs.items()}
    reported = {}
    for (bank, group_by), items in result.reports.fill_rate.items():
        for item in items:
            key = site_key.get(item["key"], org_key.get(item["key"], item["key"]))
            reported[(bank, group_by, key)] = {k: v for k, v in item.items() if k not in ("key", "name")}
    sitrep = {(bank, org_key[item["organisation_id"]]): (item["rag"], item["coverage"], item["open_gaps"])
              for bank, items in result.reports.sitrep.items() for item in items}
    return {"shifts": shifts, "timesheets": sheets, "pay": pay, "refusals": dict(ledger.refusals),
            "counts": {k: v for k, v in ledger.counts.items() if not k.startswith("seconds")},
            "fill_rate": reported, "sitrep": sitrep}


@pytest.mark.timeout(300)
def test_a_small_seeded_demo_reports_exactly_what_it_sent_and_replays_alike(platform, tmp_path):
    options = Options(gateway=platform.api.base_url, seed=11, size="small", out=str(tmp_path / "fill.svg"),
                      admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD, threads=8, progress=False)
    console = Console(file=sys.stdout, width=120)  # captured: shown if the test fails
    first = run(options, console)

    # The demo's own check: every reported figure against its ledger, none differing.
    assert first.reports.differences == [], first.reports.differences
    assert first.reports.checked >= 200
    assert first.pay_differences == []
    # And a count of our own, straight from the shifts sent: by site, posted / filled / cancelled.
    for key, handle in first.handles.items():
        counted = defaultdict(lambda: [0, 0, 0])
        for shift in first.ledger.of_bank(key):
            row = counted[handle.sites[shift.site_key]]
            row[0] += 1
            row[1] += shift.status in ("booked", "completed")
            row[2] += shift.status == "cancelled"
        reported = {i["key"]: [i["posted"], i["filled"], i["cancelled"]]
                    for i in first.reports.fill_rate[(key, "site")]}
        assert reported == dict(counted)
        paid = {line["timesheet_id"] for line in first.ledger.pay_runs[key]["lines"]}
        assert paid == {t.id for t in first.ledger.timesheets.values() if t.status == "approved"
                        and first.ledger.shifts[t.shift_id].bank_key == key}
    # It did what a demo should show: history worked and paid, live bookings, refusals named.
    counts = first.ledger.counts
    assert counts["history posted"] and counts["live posted"] and counts["applications"]
    assert counts["booked by coordinator"] and counts["booked by worker"]
    assert counts["timesheets approved"] and all(r["lines"] for r in first.ledger.pay_runs.values())
    assert first.ledger.refusals
    assert len(first.reports.charts) == 2
    assert all(b"<svg" in path.read_bytes()[:500] for path in first.reports.charts)

    # The same seed again, on the same platform (new banks, new names): the same figures.
    second = run(replace(options, out=str(tmp_path / "again.svg")), console)
    assert second.reports.differences == []
    assert figures(second) == figures(first)
