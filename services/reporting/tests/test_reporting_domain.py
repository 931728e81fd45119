"""Reporting's pure rules: fill rate, the sitrep's coverage, RAG and reasons, what keeps a worker
from a site (utilisation), spend, time to fill, late cancellations, and the CSV table."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from chassis.clock import LONDON
from compliance.domain import KINDS, Document
from reporting import domain
from reporting.domain import CoverShift, PoolWorker

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def test_fill_rate_is_filled_over_posted_less_cancelled_and_none_when_nothing_is_left():
    assert domain.fill_rate(posted=10, filled=6, cancelled=2) == 0.75
    assert domain.fill_rate(posted=3, filled=2, cancelled=0) == 0.6667
    assert domain.fill_rate(posted=2, filled=0, cancelled=2) is None
    assert domain.fill_rate(posted=0, filled=0, cancelled=0) is None
    item = domain.fill_rate_item("site-1", "Main", 4, 2, 1, 1, Decimal("45000"))
    assert item == {"key": "site-1", "name": "Main", "posted": 4, "filled": 2, "cancelled": 1, "agency": 1,
                    "fill_rate": 0.6667, "hours_booked": "12.50"}
    assert domain.fill_rate_item("nurse", "nurse", 1, 0, 0, 0, None)["hours_booked"] == "0.00"


def test_a_status_is_taken_only_over_an_earlier_one():
    rank = domain.STATUS_RANK
    assert rank["draft"] < rank["pending_approval"] < rank["open"] < rank["agency"] < rank["booked"]
    assert rank["booked"] < rank["completed"] == rank["cancelled"]
    assert domain.FILLED == ("booked", "completed")


def test_money_and_hours_are_decimal_strings_rounded_half_up_once():
    assert domain.decimal_text(Decimal("10.005")) == "10.01"
    assert domain.decimal_text(Decimal("10.004")) == "10.00"
    assert domain.decimal_text(None) == "0.00"
    assert domain.hours_text(27_018) == "7.51"  # 7.505 h
    assert domain.hours_text(1.5) == "0.00"


# --- sitrep ------------------------------------------------------------------------------

def cover(hours_from_now, status="open", site="site-1", worker=None, length=8, org="org-1"):
    starts = NOW + timedelta(hours=hours_from_now)
    return CoverShift(org, site, {"site-1": "Main", "site-2": "Annex"}[site], "doctor", "ST3", starts,
                      starts + timedelta(hours=length), status, worker)


@pytest.mark.parametrize(("coverage", "unfilled_soon", "rag"), [
    (None, False, "green"),  # nothing posted
    (domain.RED_BELOW - Fraction(1, 1000), False, "red"),
    (domain.RED_BELOW, False, "amber"),
    (domain.AMBER_BELOW - Fraction(1, 1000), False, "amber"),
    (domain.AMBER_BELOW, False, "green"),
    (Fraction(1), True, "amber"),  # covered, but a shift in the next 24 h is unfilled
    (Fraction(1, 2), True, "red"),
])
def test_rag_thresholds(coverage, unfilled_soon, rag):
    assert domain.rag(coverage, unfilled_soon) == rag


def test_sitrep_counts_the_next_14_days_and_names_gaps_within_48_hours_and_lone_clinicians():
    shifts = [
        cover(-2, "open"),  # started already: not in the window
        cover(14 * 24 + 1, "open"),  # after the window
        cover(30, "open"),  # a gap in the next 48 h
        cover(60, "agency"),  # a gap, but after 48 h
        cover(72, "cancelled"),  # left out of coverage
        cover(26, "booked", worker="w1"),  # Wednesday: w1 alone at Main
        cover(28, "booked", worker="w1"),
        cover(26, "booked", site="site-2", worker="w2"),  # Wednesday: w2 and w3 at Annex
        cover(27, "completed", site="site-2", worker="w3"),
        cover(100, "booked", worker="w4"),
        cover(101, "booked", worker="w5"),
    ]
    item = domain.sitrep_item("org-1", "Royal", shifts, NOW)
    # posted 9 in the window (the two outside it left out), 1 cancelled: 6 filled of 8
    assert item["coverage"] == 0.75 and item["rag"] == "amber" and item["open_gaps"] == 2
    first = NOW + timedelta(hours=30)
    assert item["reasons"] == [
        f"Open gap in the next 48 h: Main, {first.astimezone(LONDON):%a %d %b %H:%M}–"
        f"{(first + timedelta(hours=8)).astimezone(LONDON):%H:%M}, doctor ST3 (open)",
        "Single booked clinician: Main on Wed 02 Dec 2026",
    ]


def test_sitrep_lists_every_organisation_green_when_nothing_is_posted_and_red_below_70_percent():
    shifts = [cover(30, "booked", worker="w1", org="org-2"), cover(40, org="org-2"), cover(50, org="org-2")]
    items = domain.sitrep([("org-1", "Quiet Practice"), ("org-2", "Busy Trust")], shifts, NOW)
    assert [(i["name"], i["rag"], i["coverage"], i["open_gaps"]) for i in items] == [
        ("Quiet Practice", "green", None, 0, ), ("Busy Trust", "red", 0.3333, 2)]
    assert items[0]["reasons"] == []
    soon = domain.sitrep_item("org-1", "Royal", [cover(23), *[cover(30 + i, "booked", worker=f"w{i}")
                                                             for i in range(20)]], NOW)
    assert soon["coverage"] == 0.9524 and soon["rag"] == "amber"  # 20 of 21, one unfilled in 23 h


# --- utilisation -------------------------------------------------------------------------

TODAY = date(2026, 12, 1)


def pool(worker_id="w", status="active", compliance_status="cleared", missing=(), cleared_until=None, **kw):
    facts = {"staff_type": "doctor", "latitude": 53.45, "longitude": -2.2, "max_travel_km": 30.0, **kw}
    return PoolWorker(worker_id, facts["staff_type"], status, facts["latitude"], facts["longitude"],
                      facts["max_travel_km"], compliance_status, tuple(missing), cleared_until)


def doc(kind, status="verified", expires_on=None):
    return Document(kind, status, expires_on)


def test_compliance_blockers_name_missing_and_expired_kinds():
    lapsed = doc("dbs", expires_on=TODAY - timedelta(days=1))
    # Cleared and covered today: nothing. Cleared, but a document ran out since (sweep not yet run).
    assert domain.compliance_blockers(pool(cleared_until=TODAY), [], TODAY) == []
    assert domain.compliance_blockers(pool(cleared_until=TODAY - timedelta(days=1)), [lapsed], TODAY) == \
        ["expired:dbs"]
    # Not cleared: the kinds compliance said were missing, expired if a verified one lapsed.
    worker = pool(compliance_status="expired", missing=["dbs", "references"])
    assert domain.compliance_blockers(worker, [doc("dbs", "expired", TODAY - timedelta(days=3))], TODAY) == \
        ["expired:dbs", "missing:references"]
    # A kind covered since then (no status change published) no longer blocks.
    assert domain.compliance_blockers(worker, [doc("references")], TODAY) == ["missing:dbs"]
    # Never cleared (compliance published no status): every kind of the default requirement.
    never = pool(compliance_status=None)
    assert domain.compliance_blockers(never, [doc("identity"), doc("dbs", expires_on=TODAY)], TODAY) == [
        f"missing:{kind}" for kind in KINDS if kind not in ("identity", "dbs")]


def test_utilisation_counts_who_could_work_at_each_site_today_and_why_not():
    workers = [
        pool("ok"),
        pool("far", latitude=53.95),  # ~55 km from Main, travels 30
        pool("idle", status="suspended", compliance_status="expired", missing=["dbs"], latitude=53.95),
        pool("new", status="applied", compliance_status=None),
        pool("nurse", staff_type="nurse", max_travel_km=None),  # default 50 km
    ]
    documents = {"idle": [doc("dbs", expires_on=TODAY - timedelta(days=10))],
                 "new": [doc(kind) for kind in KINDS if kind != "references"]}
    sites = [("site-1", "Main", 53.48, -2.24), ("site-2", "Far Away", 51.5, -0.12)]
    items = domain.utilisation(sites, workers, documents, TODAY)
    assert items == [
        {"site_id": "site-1", "name": "Main", "staff_type": "doctor", "registered": 4, "eligible": 1,
         "blocked_by": {"expired:dbs": 1, "missing:references": 1, "not-active": 2, "out-of-range": 2}},
        {"site_id": "site-1", "name": "Main", "staff_type": "nurse", "registered": 1, "eligible": 1,
         "blocked_by": {}},
        {"site_id": "site-2", "name": "Far Away", "staff_type": "doctor", "registered": 4, "eligible": 0,
         "blocked_by": {"expired:dbs": 1, "missing:references": 1, "not-active": 2, "out-of-range": 4}},
        {"site_id": "site-2", "name": "Far Away", "staff_type": "nurse", "registered": 1, "eligible": 0,
         "blocked_by": {"out-of-range": 1}},
    ]


# --- spend, time to fill, late cancellations ----------------------------------------------

def test_spend_splits_bank_and_agency_by_organisation_with_what_is_paid():
    rows = [("org-2", "West", False, Decimal("100.00"), Decimal("8.00"), None, None),
            ("org-1", "East", False, Decimal("250.50"), Decimal("7.50"), Decimal("250.50"), Decimal("7.50")),
            ("org-1", "East", True, Decimal("400.00"), Decimal("8.00"), None, None)]
    assert domain.spend_items(rows) == [
        {"organisation_id": "org-1", "name": "East", "bank": "250.50", "agency": "400.00", "total": "650.50",
         "hours": "15.50", "paid": "250.50", "hours_paid": "7.50"},
        {"organisation_id": "org-2", "name": "West", "bank": "100.00", "agency": "0.00", "total": "100.00",
         "hours": "8.00", "paid": "0.00", "hours_paid": "0.00"}]


def test_time_to_fill_runs_from_first_posting_for_cover_to_booking_before_the_start():
    posted, starts = NOW, NOW + timedelta(days=3)
    assert domain.time_to_fill_seconds(posted, posted + timedelta(hours=5), starts) == 5 * 3600
    # booked after it started: cover recorded afterwards
    assert domain.time_to_fill_seconds(posted, starts + timedelta(hours=1), starts) is None
    assert domain.time_to_fill_seconds(None, posted, starts) is None  # never posted for cover
    items = domain.time_to_fill_items([("s1", "Main", 3600), ("s1", "Main", 7200), ("s1", "Main", 36000),
                                       ("s2", "Annex", 1800)])
    assert items == [
        {"key": "s2", "name": "Annex", "filled": 1, "mean_hours": "0.50", "median_hours": "0.50",
         "max_hours": "0.50"},
        {"key": "s1", "name": "Main", "filled": 3, "mean_hours": "4.33", "median_hours": "2.00",
         "max_hours": "10.00"}]


def test_late_cancellations_count_by_side_with_the_median_notice():
    starts = NOW + timedelta(days=2)
    rows = [("s1", "Main", True, "worker", starts, starts - timedelta(hours=10)),
            ("s1", "Main", True, "site", starts, starts - timedelta(hours=30)),
            ("s1", "Main", False, "site", starts, starts - timedelta(days=5)),
            ("s2", "Annex", False, "worker", starts, starts - timedelta(days=9))]
    assert domain.late_cancellation_items(rows) == [
        {"key": "s2", "name": "Annex", "cancelled": 1, "late": 0, "late_by_site": 0, "late_by_worker": 0,
         "median_notice_hours": None},
        {"key": "s1", "name": "Main", "cancelled": 3, "late": 2, "late_by_site": 1, "late_by_worker": 1,
         "median_notice_hours": "20.00"}]


def test_rate_violation_premium_and_share():
    item = domain.rate_violation_item("doctor", "doctor", 4, 1, 1, 0, Decimal("80.004"))
    assert item["violation_rate"] == 0.25 and item["premium"] == "80.00"


# --- downloads ---------------------------------------------------------------------------

def test_a_report_becomes_a_table_with_a_column_per_reason_and_reasons_joined():
    columns, rows = domain.table([
        {"site_id": "s1", "registered": 2, "blocked_by": {"not-active": 1}, "reasons": ["a", "b"]},
        {"site_id": "s2", "registered": 1, "blocked_by": {"missing:dbs": 1}, "reasons": []},
    ])
    assert columns == ["site_id", "registered", "blocked_by:missing:dbs", "blocked_by:not-active", "reasons"]
    assert rows == [["s1", 2, 0, 1, "a | b"], ["s2", 1, 1, 0, ""]]
