"""Reporting alone on a real database and broker, fed the events identity, compliance, shifts and
payroll would publish (published here as they would be, to their exchanges): each report's figures
from facts arriving late, out of order and twice; each caller's part of the bank; CSV and the
chart; and a rebuild from the event log that gives the same figures."""

import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from nameko.amqp.publish import Publisher

from chassis.clock import LONDON
from chassis.engines import engine_for
from chassis.errors import Forbidden, Invalid, NotFound
from chassis.events import events_exchange
from chassis.testing import poll
from compliance.domain import KINDS
from reporting.models import event_log
from reporting.service import ReportingService

BANK, OTHER_BANK = "bank-1", "bank-2"
ROYAL, PRACTICE, QUIET = "org-royal", "org-practice", "org-quiet"
MAIN, ANNEX, SURGERY = "site-main", "site-annex", "site-surgery"
SOURCES = {"organisation": "identity", "site": "identity", "worker": "identity", "compliance": "compliance",
           "shift": "shifts", "timesheet": "payroll", "pay_run": "payroll"}
READER = {"user_id": "leader", "capacities": ["reader"], "worker_id": None, "agency_ids": []}
EVERYTHING = {"bank": [BANK], "organisation": [], "site": []}


def _at(days, hour):
    day = date.today() + timedelta(days=days)
    return datetime.combine(day, time(hour), LONDON)


class Facts:
    """Publishes facts as their producers would, and reads what reporting made of them."""

    def __init__(self, config, reporting):
        self.publisher = Publisher(config["AMQP_URI"])
        self.reporting = reporting
        self.db_url = config["DB_URL"]

    def publish(self, event_type, data, occurred_at=None, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": event_type, "version": 1,
                    "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
                    "producer": SOURCES[event_type.split(".")[0]], "correlation_id": None, "data": data}
        self.publisher.publish(envelope, exchange=events_exchange(envelope["producer"]),
                               routing_key=event_type)
        return envelope

    # --- identity and compliance --------------------------------------------------------

    def organisation(self, organisation_id, name, bank_id=BANK, kind="trust"):
        return self.publish("organisation.created", {"organisation_id": organisation_id, "bank_id": bank_id,
                                                     "name": name, "kind": kind, "ods_code": None})

    def site(self, site_id, organisation_id, name, latitude=53.48, longitude=-2.24, bank_id=BANK):
        return self.publish("site.created", {"site_id": site_id, "organisation_id": organisation_id,
                                             "bank_id": bank_id, "name": name, "latitude": latitude,
                                             "longitude": longitude, "postcode": None})

    def registered(self, worker_id, occurred_at=None, **facts):
        data = {"agency_id": None, "worker_id": worker_id, "user_id": f"user-{worker_id}", "bank_id": BANK,
                "bank_number": "W000001", "name": worker_id.title(), "email": f"{worker_id}@example.org",
                "staff_type": "doctor", "grade": "ST3", "extra_grades": [], "specialty": None,
                "registration_body": None, "registration_number": None, "latitude": 53.45, "longitude": -2.2,
                "max_travel_km": 30.0, "opted_out_of_48h": False, "status": "applied", **facts}
        return self.publish("worker.registered", data, occurred_at)

    def status(self, worker_id, status, occurred_at=None):
        return self.publish(f"worker.{ {'active': 'activated', 'suspended': 'suspended'}[status]}",
                            {"worker_id": worker_id, "bank_id": BANK, "bank_number": "W000001",
                             "previous_status": "onboarding", "status": status, "reason": None}, occurred_at)

    def compliance(self, worker_id, version, status="cleared", missing=(), cleared_until=None):
        event_type = "compliance.cleared" if status == "cleared" else "compliance.uncleared"
        return self.publish(event_type, {"worker_id": worker_id, "bank_id": BANK, "status": status,
                                         "missing": list(missing), "version": version,
                                         "cleared_until": cleared_until})

    def verified(self, worker_id, kind, expires_on=None):
        return self.publish("compliance.document_verified", {
            "worker_id": worker_id, "bank_id": BANK, "document_id": f"{worker_id}-{kind}", "kind": kind,
            "status": "verified", "expires_on": expires_on.isoformat() if expires_on else None})

    def worker(self, worker_id, **facts):
        """Registered, active and cleared."""
        self.registered(worker_id, **facts)
        self.status(worker_id, "active")
        self.compliance(worker_id, 1)

    # --- shifts and pay -------------------------------------------------------------------

    @staticmethod
    def fact(shift_id, starts_at, status, site=MAIN, organisation=ROYAL, hours=8, worker_id=None,
             rate="50.00", standard="50.00", staff_type="doctor"):
        return {"shift_id": shift_id, "site_id": site, "organisation_id": organisation, "bank_id": BANK,
                "staff_type": staff_type, "grade": "ST3", "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(hours=hours)).isoformat(), "hourly_rate": rate,
                "standard_rate": standard, "status": status, "worker_id": worker_id}

    def shift(self, event, shift_id, starts_at, status, occurred_at=None, event_id=None, **facts):
        extra = {"shift.published": {"to": "bank", "priority_group_id": None},
                 "shift.cascaded": {"tier": facts.pop("tier", 1)},
                 "shift.cancelled": {"reason": "not needed", "cancelled_by": facts.pop("by", "site"),
                                     "late": facts.pop("late", False)}}.get(f"shift.{event}", {})
        return self.publish(f"shift.{event}", {**self.fact(shift_id, starts_at, status, **facts), **extra},
                            occurred_at, event_id)

    def approved(self, timesheet_id, shift_id, worker_id, amount, hours, site=MAIN, organisation=ROYAL):
        return self.publish("timesheet.approved", {
            "timesheet_id": timesheet_id, "shift_id": shift_id, "worker_id": worker_id, "bank_number": "W1",
            "bank_id": BANK, "organisation_id": organisation, "site_id": site, "hours": hours,
            "amount": amount, "approved_at": datetime.now(UTC).isoformat()})

    def pay_run(self, lines):
        return self.publish("pay_run.closed", {
            "pay_run_id": str(uuid.uuid4()), "bank_id": BANK, "period_start": "2026-01-01",
            "period_end": "2027-12-31", "total": "0.00", "closed_at": datetime.now(UTC).isoformat(),
            "lines": [{"timesheet_id": t, "shift_id": s, "worker_id": w, "bank_number": "W1",
                       "worker_name": w, "site_id": MAIN, "shift_starts_at": datetime.now(UTC).isoformat(),
                       "hours": h, "rate": "50.00", "amount": a, "pay_basis": "flat"}
                      for t, s, w, h, a in lines]})

    # --- reading --------------------------------------------------------------------------

    def report(self, report, scope_ids=None, actor=READER, **query):
        return self.reporting.report(report, {"bank_id": BANK, **query}, actor,
                                     EVERYTHING if scope_ids is None else scope_ids)["items"]

    def wait_for_shift(self, shift_id, **expected):
        def known():
            try:
                view = self.reporting.shift_view(shift_id)
            except NotFound:
                return None
            return view if all(view[k] == v for k, v in expected.items()) else None

        return poll(known, message=f"reporting to know {shift_id} as {expected}")

    def wait_applied(self, *envelopes):
        """Until reporting has applied these events (each is logged with its effect)."""
        wanted = [e["event_id"] for e in envelopes]

        def applied():
            with engine_for(self.db_url).connect() as conn:
                return conn.scalar(sa.select(sa.func.count()).select_from(event_log)
                                   .where(event_log.c.event_id.in_(wanted))) == len(wanted)

        poll(applied, message=f"reporting to apply {wanted}")

    def wait_for(self, report, predicate, **query):
        return poll(lambda: predicate(self.report(report, **query)), message=f"{report} to show it")


@pytest.fixture
def reporting_config(service_config):
    return service_config(ReportingService)


@pytest.fixture
def facts(reporting_config, run_service):
    return Facts(reporting_config, run_service(ReportingService, reporting_config))


@pytest.fixture
def bank(facts):
    """Two organisations with shifts (Royal: Main and Annex; a practice: Surgery) and one without."""
    facts.organisation(ROYAL, "Royal Trust")
    facts.organisation(PRACTICE, "Hill Practice", kind="practice")
    facts.organisation(QUIET, "Quiet Hub", kind="hub")
    facts.organisation("org-elsewhere", "Another Bank's Trust", bank_id=OTHER_BANK)
    facts.site(MAIN, ROYAL, "Main")
    facts.site(ANNEX, ROYAL, "Annex", latitude=53.40, longitude=-2.10)
    facts.site(SURGERY, PRACTICE, "Surgery", latitude=51.5, longitude=-0.12)
    facts.wait_for("sitrep", lambda items: len(items) == 3)
    return facts


def by_key(items):
    return {item["key"]: item for item in items}


def test_fill_rate_from_facts_arriving_out_of_order_and_twice(bank):
    facts = bank
    facts.worker("ada")
    facts.worker("ava", agency_id="agency-1")  # supplied by an agency
    start = _at(5, 8)
    early = datetime.now(UTC) - timedelta(hours=1)
    # s1: published, then booked to ada; the booking arrives first, the publication (older) later.
    facts.shift("booked", "s1", start, "booked", worker_id="ada", occurred_at=early + timedelta(minutes=30))
    published = facts.shift("published", "s1", start, "open", occurred_at=early)
    # s2: booked to ava (agency) and completed (two days ago); its completion arrives twice.
    done = _at(-2, 8)
    completed = facts.shift("completed", "s2", done, "completed", worker_id="ava", site=ANNEX)
    facts.shift("completed", "s2", done, "completed", worker_id="ava", site=ANNEX,
                event_id=completed["event_id"])
    facts.shift("booked", "s2", done, "booked", worker_id="ava", site=ANNEX, occurred_at=early)
    # s3: open, cascaded to agencies; s4: posted above its rate, then cancelled late by the worker.
    facts.shift("published", "s3", start, "open")
    facts.shift("cascaded", "s3", start, "agency", tier=2)
    facts.shift("rate_violation", "s4", start, "pending_approval", rate="70.00")
    facts.shift("cancelled", "s4", start, "cancelled", rate="70.00", by="worker", late=True)
    # s5: a nurse shift at the practice, 12 hours, booked.
    facts.shift("booked", "s5", start, "booked", site=SURGERY, organisation=PRACTICE, worker_id="ada",
                staff_type="nurse", hours=12)
    facts.publish("shift.published", published["data"], event_id=published["event_id"])  # redelivered

    facts.wait_for_shift("s1", status="booked", worker_id="ada")
    # shift_view reads the shift, then its history, each as committed when read: wait until both
    # show the publication (it may commit between the two reads)
    view = poll(lambda: (v := facts.reporting.shift_view("s1"))["posted_at"] and v,
                message="s1's publication applied")
    assert [h["type"] for h in view["history"]] == ["shift.published", "shift.booked"]
    assert datetime.fromisoformat(view["posted_at"]) == early and view["hours_booked"] == "8.00"
    facts.wait_for_shift("s2", status="completed", worker_id="ava", agency_id="agency-1")
    facts.wait_for_shift("s3", status="agency", agency_tier=2)
    s4 = facts.wait_for_shift("s4", status="cancelled", cancelled_by="worker", late_cancellation=True)
    assert s4["rate_violation"] is True
    facts.wait_for_shift("s5", status="booked")

    sites = by_key(facts.report("fill_rate", group_by="site"))
    assert sites[MAIN] == {"key": MAIN, "name": "Main", "posted": 3, "filled": 1, "cancelled": 1, "agency": 0,
                           "fill_rate": 0.5, "hours_booked": "8.00"}
    assert sites[ANNEX] == {"key": ANNEX, "name": "Annex", "posted": 1, "filled": 1, "cancelled": 0,
                            "agency": 1, "fill_rate": 1.0, "hours_booked": "8.00"}
    assert [i["name"] for i in facts.report("fill_rate", group_by="site")] == ["Annex", "Main", "Surgery"]
    organisations = by_key(facts.report("fill_rate", group_by="organisation"))
    assert organisations[ROYAL]["posted"] == 4 and organisations[ROYAL]["fill_rate"] == 0.6667
    assert organisations[PRACTICE]["hours_booked"] == "12.00"
    types = by_key(facts.report("fill_rate", group_by="staff_type"))
    assert types["nurse"]["name"] == "nurse" and types["doctor"]["posted"] == 4
    # from/to: days of shift start in London, inclusive.
    day = _at(5, 0).date()
    upcoming = facts.report("fill_rate", group_by="organisation", **{"from": day, "to": day})
    assert {i["key"]: i["posted"] for i in upcoming} == {ROYAL: 3, PRACTICE: 1}
    assert facts.report("fill_rate", **{"from": date.today() + timedelta(days=6)}) == []

    violations = by_key(facts.report("rate_violations", group_by="organisation"))[ROYAL]
    assert (violations["violations"], violations["cancelled"], violations["premium"]) == (1, 1, "0.00")
    late = by_key(facts.report("late_cancellations", group_by="site"))[MAIN]
    assert (late["cancelled"], late["late"], late["late_by_worker"], late["late_by_site"]) == (1, 1, 1, 0)
    waited = by_key(facts.report("time_to_fill", group_by="site"))
    assert waited[MAIN]["filled"] == 1 and waited[MAIN]["median_hours"] == "0.50"
    assert ANNEX not in waited  # s2 was never posted for cover before its booking was recorded


def test_sitrep_lists_every_organisation_of_the_bank(bank):
    facts = bank
    for name in ("ada", "bob", "cy"):
        facts.worker(name)
    # Royal: 10 live shifts in the next 14 days, 8 filled: 0.8, amber. Practice: 1 of 3: red.
    for i in range(10):
        worker = ("ada", "bob")[i % 2] if i < 8 else None
        event, status = ("booked", "booked") if worker else ("published", "open")
        facts.shift(event, f"r{i}", _at(3 + i, 8), status, worker_id=worker)
    facts.shift("cancelled", "r-cancelled", _at(4, 8), "cancelled")
    facts.shift("booked", "p1", _at(2, 8), "booked", site=SURGERY, organisation=PRACTICE, worker_id="cy")
    facts.shift("published", "p2", datetime.now(UTC) + timedelta(hours=20), "open", site=SURGERY,
                organisation=PRACTICE)
    facts.shift("published", "p3", _at(12, 8), "open", site=SURGERY, organisation=PRACTICE)
    facts.shift("published", "far", _at(20, 8), "open")  # beyond 14 days
    expected = [("Hill Practice", "red", 0.3333, 2), ("Quiet Hub", "green", None, 0),
                ("Royal Trust", "amber", 0.8, 2)]
    items = facts.wait_for("sitrep", lambda items: items if [
        (i["name"], i["rag"], i["coverage"], i["open_gaps"]) for i in items] == expected else None)
    practice = items[0]
    assert practice["reasons"][0].startswith("Open gap in the next 48 h: Surgery")
    assert practice["reasons"][1].startswith("Single booked clinician: Surgery on ")
    assert all(r.startswith("Single booked clinician: Main") for r in items[2]["reasons"])


def test_spend_and_hours_paid_from_approved_timesheets_and_pay_runs(bank):
    facts = bank
    facts.worker("ada")
    facts.worker("ava", agency_id="agency-1")
    for shift_id, worker, site, organisation in (("w1", "ada", MAIN, ROYAL), ("w2", "ava", ANNEX, ROYAL),
                                                 ("w3", "ada", SURGERY, PRACTICE)):
        facts.shift("completed", shift_id, _at(-3, 8), "completed", worker_id=worker, site=site,
                    organisation=organisation)
    facts.approved("t1", "w1", "ada", "375.00", "7.50")
    facts.approved("t2", "w2", "ava", "400.00", "8.00", site=ANNEX)
    facts.approved("t3", "w3", "ada", "300.50", "6.00", site=SURGERY, organisation=PRACTICE)
    facts.pay_run([("t1", "w1", "ada", "7.50", "375.00")])
    facts.wait_for_shift("w1", hours_paid="7.50", amount_approved="375.00")
    expected = [
        {"organisation_id": PRACTICE, "name": "Hill Practice", "bank": "300.50", "agency": "0.00",
         "total": "300.50", "hours": "6.00", "paid": "0.00", "hours_paid": "0.00"},
        {"organisation_id": ROYAL, "name": "Royal Trust", "bank": "375.00", "agency": "400.00",
         "total": "775.00", "hours": "15.50", "paid": "375.00", "hours_paid": "7.50"}]
    facts.wait_for("spend", lambda items: items == expected)
    assert facts.report("spend", **{"from": date.today()}) == []


def test_utilisation_says_who_could_work_at_each_site_today(bank):
    facts = bank
    facts.worker("ada")
    facts.worker("far", latitude=53.95)  # ~55 km from Main, travels 30
    facts.registered("new")  # applied, nothing verified: every kind missing
    facts.registered("lapsed")
    facts.status("lapsed", "suspended")
    facts.verified("lapsed", "dbs", date.today() - timedelta(days=1))
    facts.compliance("lapsed", 3, status="expired", missing=["dbs"])
    facts.registered("nia", staff_type="nurse")
    facts.status("nia", "active")
    facts.compliance("nia", 1, cleared_until=(date.today() - timedelta(days=1)).isoformat())
    facts.verified("nia", "identity", date.today() - timedelta(days=1))  # ran out yesterday, not yet swept

    new_missing = {f"missing:{kind}": 1 for kind in KINDS}
    doctors = {"site_id": MAIN, "name": "Main", "staff_type": "doctor", "registered": 4, "eligible": 1,
               "blocked_by": dict(sorted({**new_missing, "expired:dbs": 1, "not-active": 2,
                                          "out-of-range": 1}.items()))}
    nurses = {"site_id": MAIN, "name": "Main", "staff_type": "nurse", "registered": 1, "eligible": 0,
              "blocked_by": {"expired:identity": 1}}
    items = facts.wait_for("utilisation",
                           lambda items: items if doctors in items and nurses in items else None)
    # Older facts of Lapsed's arriving late change nothing: active an hour ago, cleared at version 2.
    facts.wait_applied(facts.status("lapsed", "active", occurred_at=datetime.now(UTC) - timedelta(hours=1)),
                       facts.compliance("lapsed", 2))
    assert facts.report("utilisation") == items
    surgery = {i["staff_type"]: i for i in items if i["site_id"] == SURGERY}
    assert surgery["doctor"]["eligible"] == 0 and surgery["doctor"]["blocked_by"]["out-of-range"] == 4
    assert [i["site_id"] for i in items] == [ANNEX, ANNEX, MAIN, MAIN, SURGERY, SURGERY]


def test_each_caller_sees_its_own_part_of_the_bank(bank):
    facts = bank
    facts.worker("ada")
    facts.shift("booked", "m1", _at(4, 8), "booked", worker_id="ada")
    facts.shift("published", "a1", _at(4, 8), "open", site=ANNEX)
    facts.shift("published", "s1", _at(4, 8), "open", site=SURGERY, organisation=PRACTICE)
    facts.wait_for("fill_rate", lambda items: len(items) == 3)

    royal = {"bank": [], "organisation": [ROYAL], "site": []}
    assert [i["key"] for i in facts.report("fill_rate", royal)] == [ANNEX, MAIN]
    assert [i["organisation_id"] for i in facts.report("sitrep", royal)] == [ROYAL]
    assert {i["site_id"] for i in facts.report("utilisation", royal)} == {MAIN, ANNEX}
    annex_only = {"bank": [], "organisation": [], "site": [ANNEX]}
    assert [i["key"] for i in facts.report("fill_rate", annex_only, group_by="organisation")] == [ROYAL]
    assert by_key(facts.report("fill_rate", annex_only, group_by="organisation"))[ROYAL]["posted"] == 1
    [sitrep] = facts.report("sitrep", annex_only)
    assert sitrep["organisation_id"] == ROYAL and sitrep["coverage"] == 0.0
    assert len(facts.report("fill_rate", None, group_by="organisation")) == 2  # the whole bank
    platform = facts.reporting.report("fill_rate", {"bank_id": BANK}, READER, None)["items"]
    assert len(platform) == 3

    with pytest.raises(Forbidden):  # grants elsewhere only
        facts.report("fill_rate", {"bank": [OTHER_BANK], "organisation": [], "site": []})
    with pytest.raises(Forbidden):  # no reader capacity
        facts.report("fill_rate", actor={**READER, "capacities": []})
    with pytest.raises(Forbidden):  # no caller at all: never read as anyone
        facts.reporting.report("fill_rate", {"bank_id": BANK}, None, None)


def test_bad_queries_are_refused(facts):
    for query in ({}, {"bank_id": BANK, "group_by": "colour"}, {"bank_id": BANK, "from": "2026-13-01"},
                  {"bank_id": BANK, "from": "2026-12-05", "to": "2026-12-01"}, {"bank_id": BANK, "extra": 1},
                  {"bank_id": BANK, "format": "xml"}, {"bank_id": "\x00"}):
        with pytest.raises(Invalid):
            facts.reporting.report("fill_rate", query, READER, EVERYTHING)
    with pytest.raises(NotFound):
        facts.reporting.report("secrets", {"bank_id": BANK}, READER, EVERYTHING)


def test_csv_downloads_and_the_chart(bank):
    facts = bank
    facts.worker("ada")
    facts.shift("booked", "c1", _at(-10, 8), "booked", worker_id="ada")
    facts.shift("published", "c2", _at(-9, 8), "open")
    facts.shift("published", "c3", _at(-2, 8), "open", site=ANNEX)
    facts.wait_for("fill_rate", lambda items: len(items) == 2)

    export = facts.reporting.export_csv("fill_rate", {"bank_id": BANK, "format": "csv"}, READER, EVERYTHING)
    rows = list(csv.DictReader(io.StringIO(export["content"])))
    assert export["content"].startswith("key,name,posted,filled,cancelled,agency,fill_rate,hours_booked\r\n")
    assert [(r["name"], r["posted"], r["fill_rate"]) for r in rows] == [("Annex", "1", "0.0"),
                                                                        ("Main", "2", "0.5")]
    assert export["filename"].startswith("fill-rate-")
    utilisation = facts.reporting.export_csv("utilisation", {"bank_id": BANK}, READER, EVERYTHING)["content"]
    assert utilisation.splitlines()[0] == \
        "site_id,name,staff_type,registered,eligible,blocked_by:out-of-range"
    assert utilisation.splitlines()[1:] == [f"{ANNEX},Annex,doctor,1,1,0", f"{MAIN},Main,doctor,1,1,0",
                                            f"{SURGERY},Surgery,doctor,1,0,1"]
    sitrep = facts.reporting.export_csv("sitrep", {"bank_id": BANK}, READER, EVERYTHING)["content"]
    assert sitrep.splitlines()[0] == "organisation_id,name,rag,coverage,open_gaps,reasons"

    series = facts.report("fill_rate_series", interval="day")
    assert [(i["period_start"], i["name"], i["fill_rate"]) for i in series] == [
        (_at(-10, 0).date().isoformat(), "Main", 1.0), (_at(-9, 0).date().isoformat(), "Main", 0.0),
        (_at(-2, 0).date().isoformat(), "Annex", 0.0)]
    chart = facts.reporting.fill_rate_chart({"bank_id": BANK, "interval": "week"}, READER, EVERYTHING)
    assert chart["content"].startswith("<?xml") and "<svg" in chart["content"]
    assert "Main" in chart["content"] and "Annex" in chart["content"]
    assert facts.reporting.fill_rate_chart({"bank_id": BANK, "interval": "week"}, READER, EVERYTHING) == chart
    empty = facts.reporting.fill_rate_chart({"bank_id": BANK, "from": "2030-01-01"}, READER, EVERYTHING)
    assert "No shifts posted in this period" in empty["content"]


def test_a_rebuild_from_the_event_log_gives_the_same_figures(bank):
    facts = bank
    facts.worker("ada")
    facts.worker("ava", agency_id="agency-1")
    facts.registered("new")
    facts.shift("booked", "b1", _at(2, 8), "booked", worker_id="ada", occurred_at=datetime.now(UTC))
    facts.shift("published", "b1", _at(2, 8), "open", occurred_at=datetime.now(UTC) - timedelta(hours=2))
    facts.shift("published", "b2", _at(1, 8), "open", site=ANNEX)
    facts.shift("rate_violation", "b3", _at(3, 8), "pending_approval", rate="65.00", site=SURGERY,
                organisation=PRACTICE)
    facts.shift("completed", "b4", _at(-4, 8), "completed", worker_id="ava")
    facts.shift("cancelled", "b5", _at(1, 20), "cancelled", worker_id="ada", by="site", late=True)
    facts.approved("t4", "b4", "ava", "400.00", "8.00")
    facts.pay_run([("t4", "b4", "ava", "8.00", "400.00")])
    facts.wait_for_shift("b4", hours_paid="8.00", amount_approved="400.00")
    facts.wait_for_shift("b1", status="booked")
    facts.wait_for("utilisation", lambda items: sum(i["registered"] for i in items) == 9)
    facts.wait_for("fill_rate", lambda items: sum(i["posted"] for i in items) == 5)

    def everything():
        reports = {name: facts.report(name, group_by=group) for name, group in (
            ("fill_rate", "site"), ("rate_violations", "organisation"), ("time_to_fill", "site"),
            ("late_cancellations", "worker"))}
        for name in ("spend", "sitrep", "utilisation", "fill_rate_series"):
            reports[name] = facts.report(name)
        reports["fill_rate_by_type"] = facts.report("fill_rate", group_by="staff_type")
        reports["shifts"] = [facts.reporting.shift_view(s) for s in ("b1", "b2", "b3", "b4", "b5")]
        return reports

    before = everything()
    assert by_key(before["late_cancellations"])["ada"]["name"] == "Ada"
    assert before["spend"][0]["agency"] == "400.00"
    result = facts.reporting.rebuild()
    assert result["events"] >= 20
    assert everything() == before
    facts.shift("completed", "b1", _at(2, 8), "completed", worker_id="ada")  # and it carries on
    facts.wait_for_shift("b1", status="completed")
