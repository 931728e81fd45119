"""Issue 17 "Reporting" over HTTP with the real platform: a bank of two trusts and an agency, shifts
posted, booked (one by an agency's worker), cancelled late, cascaded and above their rate, cover
recorded afterwards, timesheets approved and a pay run closed; then every report equals what the
test did, counted directly; the leader of one trust sees only its own part; CSV, the chart; a
rebuild from reporting's event log gives the same figures; and bad input is a 4xx problem."""

import csv
import io
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.clock import LONDON, london_date
from chassis.testing import poll
from compliance.domain import KINDS
from tests.test_e2e_pay import claim, retrospective, staff

TODAY = date.today()


def _at(days, hour):
    return datetime.combine(TODAY + timedelta(days=days), time(hour), LONDON)


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    assert response.json()["type"] == f"/problems/{name}", response.text


@pytest.fixture
def world(api, admin, hospital, active_worker, worker_payload):
    """North Bank: North Trust (North General) and East Trust (East Infirmary), an agency, three
    doctors (Ada of the bank, Ava supplied by the agency, Neo only registered, far away), and what
    happened to each shift, as the test did it."""
    ctx = hospital
    bank_id, north_site = ctx["bank"]["id"], ctx["site"]["id"]
    admin_token, coordinator = ctx["bank_admin"], ctx["coordinator"]
    east = api.created("/v1/organisations", {"bank_id": bank_id, "name": "East Trust", "kind": "trust"},
                       token=admin_token)
    east_site = api.created("/v1/sites", {"organisation_id": east["id"], "name": "East Infirmary",
                                          "latitude": 53.5, "longitude": -2.1}, token=admin_token)
    agency = api.created("/v1/organisations", {"bank_id": bank_id, "name": "Locums Ltd", "kind": "agency"},
                         token=admin_token)
    ada, ada_token = active_worker(ctx, "ada@example.org")
    ava, ava_token = active_worker(ctx, "ava@example.org")
    assert api.patch(f"/v1/workers/{ava['id']}", {"agency_id": agency["id"]}, token=admin_token).ok
    api.created("/v1/workers", worker_payload(bank_id, email="neo@example.org", registration_number="neo",
                                              latitude=53.95))
    approver = staff(api, admin, "sam@example.org", "timesheet_approver", "bank", bank_id)
    shifts = []  # (site_id, organisation_id, status, agency, hours, starts_at)

    def post(site_id, token, starts_at, hours=8, **extra):
        ends_at = starts_at + timedelta(hours=hours)
        body = {"site_id": site_id, "staff_type": "doctor", "grade": "ST3", "publish": {"to": "bank"},
                "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), **extra}
        return api.created("/v1/shifts", body, token=token)

    def book(shift, worker, token=coordinator):
        booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]}, token=token)
        assert booked.status_code == 200, booked.text
        return booked.json()

    def done(shift, status, agency_worker=False, hours=8):
        shifts.append((shift["site_id"], shift["organisation_id"], status, agency_worker, hours,
                       datetime.fromisoformat(shift["starts_at"])))

    # North General: booked to Ada; booked to Ava (agency); open; booked then cancelled by the site
    # inside 72 h (late); cover Ada and Ava worked, recorded afterwards (completed).
    done(book(post(north_site, coordinator, _at(5, 8)), ada), "booked")
    done(book(post(north_site, coordinator, _at(6, 8)), ava), "booked", agency_worker=True)
    done(post(north_site, coordinator, _at(7, 8)), "open")
    late = book(post(north_site, coordinator, _at(2, 8)), ada)
    cancelled = api.post(f"/v1/shifts/{late['id']}/cancel", {"reason": "ward closed"}, token=coordinator)
    assert cancelled.json()["late_cancellation"] is True and cancelled.json()["cancelled_by"] == "site"
    done(late, "cancelled")
    worked = retrospective(api, admin_token, north_site, ada["id"], _at(-3, 8), _at(-3, 16))
    done(worked, "completed")
    agency_worked = retrospective(api, admin_token, north_site, ava["id"], _at(-4, 8), _at(-4, 16))
    done(agency_worked, "completed", agency_worker=True)
    # East Infirmary: open and cascaded to agencies; posted above its rate (awaiting approval).
    cascaded = post(east_site["id"], admin_token, _at(4, 8))
    assert api.post(f"/v1/shifts/{cascaded['id']}/cascade", {"tier": 1}, token=admin_token).status_code == 200
    done(cascaded, "agency")
    violation = post(east_site["id"], admin_token, _at(4, 20), hourly_rate="80.00")
    assert violation["status"] == "pending_approval" and violation["rate_violation"] is True
    done(violation, "pending_approval")

    # Timesheets: both approved; a pay run over Ada's day pays hers alone.
    timesheets = {}
    for shift, token in ((worked, ada_token), (agency_worked, ava_token)):
        timesheet = api.created("/v1/timesheets", claim(shift), token=token)
        assert api.post(f"/v1/timesheets/{timesheet['id']}/approve", token=approver).status_code == 200
        timesheets[shift["id"]] = timesheet
    day = london_date(datetime.fromisoformat(worked["starts_at"])).isoformat()
    run = api.created("/v1/pay-runs", {"bank_id": bank_id, "period_start": day, "period_end": day},
                      token=admin_token)
    assert [line["timesheet_id"] for line in run["lines"]] == [timesheets[worked["id"]]["id"]]
    return {"ctx": ctx, "east": east, "east_site": east_site, "agency": agency, "shifts": shifts,
            "paid": timesheets[worked["id"]], "unpaid": timesheets[agency_worked["id"]],
            "late": late, "violation": violation}


def _expected_fill_rate(shifts, names, key_of):
    groups = {}
    for shift in shifts:
        site_id, organisation_id, status, agency, hours, _ = shift
        key = key_of(shift)
        g = groups.setdefault(key, Counter())
        g["posted"] += 1
        g["filled"] += status in ("booked", "completed")
        g["cancelled"] += status == "cancelled"
        g["agency"] += agency and status in ("booked", "completed")
        g["hours"] += hours if status in ("booked", "completed") else 0
    return sorted(({"key": key, "name": names[key], "posted": g["posted"], "filled": g["filled"],
                    "cancelled": g["cancelled"], "agency": g["agency"],
                    "fill_rate": round(g["filled"] / (g["posted"] - g["cancelled"]), 4),
                    "hours_booked": f"{g['hours']:.2f}"} for key, g in groups.items()),
                  key=lambda item: item["name"])


def _reader(api, token, bank_id):
    """report(name, **query) -> the items of GET /v1/reports/<name>?bank_id=...&... as `token`."""
    def report(name, **query):
        response = api.get(f"/v1/reports/{name}", token=token, params={"bank_id": bank_id, **query})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    return report


def test_reports_equal_what_happened_and_survive_a_rebuild(platform, api, admin, world):
    ctx, shifts = world["ctx"], world["shifts"]
    bank_id = ctx["bank"]["id"]
    north, east = ctx["organisation"]["id"], world["east"]["id"]
    north_site, east_site = ctx["site"]["id"], world["east_site"]["id"]
    leader = staff(api, admin, "lee@example.org", "leadership", "bank", bank_id)
    report = _reader(api, leader, bank_id)

    site_names = {north_site: "North General", east_site: "East Infirmary"}
    by_site = _expected_fill_rate(shifts, site_names, lambda s: s[0])
    poll(lambda: report("fill-rate", group_by="site") == by_site, timeout=20,
         message="fill rate by site to equal what the test did")
    assert by_site[1]["agency"] == 2 and by_site[1]["fill_rate"] == 0.8  # North: 4 of 5, two by agency
    by_organisation = _expected_fill_rate(shifts, {north: "North Trust", east: "East Trust"}, lambda s: s[1])
    assert report("fill-rate", group_by="organisation") == by_organisation
    [doctors] = report("fill-rate", group_by="staff_type")
    assert (doctors["key"], doctors["posted"]) == ("doctor", len(shifts))
    future = [s for s in shifts if s[5] >= _at(1, 0)]
    [ahead] = report("fill-rate", group_by="staff_type", **{"from": (TODAY + timedelta(days=1)).isoformat()})
    assert ahead["posted"] == len(future) and ahead["filled"] == 2

    # Sitrep: every organisation of the bank, the agency too (no shifts: green).
    def expected_sitrep(organisation_id):
        window = [s for s in shifts if s[1] == organisation_id and s[2] != "cancelled" and s[5] >= _at(0, 0)]
        filled = sum(s[2] in ("booked", "completed") for s in window)
        return round(filled / len(window), 4), len(window) - filled

    sitrep = {i["name"]: i for i in report("sitrep")}
    assert sorted(sitrep) == ["East Trust", "Locums Ltd", "North Trust"]
    north_cover, east_cover = sitrep["North Trust"], sitrep["East Trust"]
    assert (north_cover["coverage"], north_cover["open_gaps"]) == expected_sitrep(north)
    assert north_cover["rag"] == "red"  # 2 of 3: below 0.7
    assert sum(r.startswith("Single booked clinician: North General") for r in north_cover["reasons"]) == 2
    assert (east_cover["coverage"], east_cover["open_gaps"]) == expected_sitrep(east)
    assert east_cover["rag"] == "red"
    assert sitrep["Locums Ltd"] == {"organisation_id": world["agency"]["id"], "name": "Locums Ltd",
                                    "rag": "green", "coverage": None, "open_gaps": 0, "reasons": []}

    # Spend: Ada's approved and paid, Ava's (the agency's) approved, not yet paid.
    paid, unpaid = world["paid"], world["unpaid"]
    total = Decimal(paid["amount"]) + Decimal(unpaid["amount"])
    expected_spend = [{"organisation_id": north, "name": "North Trust", "bank": paid["amount"],
                       "agency": unpaid["amount"], "total": f"{total:.2f}",
                       "hours": f"{Decimal(paid['hours']) + Decimal(unpaid['hours']):.2f}",
                       "paid": paid["amount"], "hours_paid": paid["hours"]}]
    poll(lambda: report("spend") == expected_spend, message="spend to equal the approved timesheets")

    # Utilisation: Ada and Ava may work at both sites today; Neo is only registered, and far away.
    neo = {f"missing:{kind}": 1 for kind in KINDS}
    assert report("utilisation") == [
        {"site_id": site, "name": name, "staff_type": "doctor", "registered": 3, "eligible": 2,
         "blocked_by": dict(sorted({**neo, "not-active": 1, "out-of-range": 1}.items()))}
        for site, name in ((east_site, "East Infirmary"), (north_site, "North General"))]

    violations = {i["key"]: i for i in report("rate-violations", group_by="organisation")}
    assert violations[east]["violations"] == 1 and violations[north]["violations"] == 0
    late = {i["key"]: i for i in report("late-cancellations")}[north_site]
    assert (late["cancelled"], late["late"], late["late_by_site"]) == (1, 1, 1)
    [waited] = report("time-to-fill")
    assert waited["key"] == north_site and waited["filled"] == 2  # the two booked before their start

    # The model holds each shift's story.
    with ServiceRpcProxy("reporting", platform.configs["reporting"]) as reporting:
        late_view = reporting.shift_view(world["late"]["id"])
        assert [h["status"] for h in late_view["history"]] == ["open", "booked", "cancelled"]
        assert late_view["late_cancellation"] is True and late_view["cancelled_by"] == "site"
        assert reporting.shift_view(world["violation"]["id"])["rate_violation"] is True

        # A rebuild from the event log gives the same figures.
        queries = [("fill-rate", {"group_by": g}) for g in ("site", "organisation", "staff_type")] + [
            (name, {}) for name in ("sitrep", "spend", "utilisation", "rate-violations", "time-to-fill",
                                    "late-cancellations", "fill-rate/series")]

        def everything():
            return {name + str(query): report(name, **query) for name, query in queries}

        before = everything()
        assert reporting.rebuild()["events"] > 30
        assert everything() == before


def test_each_leader_sees_its_own_part_and_downloads(api, admin, world):
    ctx = world["ctx"]
    bank_id, north, north_site = ctx["bank"]["id"], ctx["organisation"]["id"], ctx["site"]["id"]
    trust_leader = staff(api, admin, "tia@example.org", "leadership", "organisation", north)
    report = _reader(api, trust_leader, bank_id)
    poll(lambda: len(_reader(api, ctx["bank_admin"], bank_id)("fill-rate")) == 2, timeout=20,
         message="both sites reported")

    # The leader of North Trust: its own site and organisation only, in every report.
    assert [i["key"] for i in report("fill-rate")] == [north_site]
    assert [i["key"] for i in report("fill-rate", group_by="organisation")] == [north]
    assert [i["organisation_id"] for i in report("sitrep")] == [north]
    assert {i["site_id"] for i in report("utilisation")} == {north_site}
    assert [i["key"] for i in report("rate-violations")] == [north_site]
    poll(lambda: report("spend"), message="spend")
    assert {i["organisation_id"] for i in report("spend")} == {north}
    reports = "/v1/reports"

    # Another bank's leader, a coordinator, nobody: refused.
    south = api.created("/v1/banks", {"name": "South Bank"}, token=admin)
    outsider = staff(api, admin, "out@example.org", "leadership", "bank", south["id"])
    _problem(api.get(f"{reports}/fill-rate", token=outsider, params={"bank_id": bank_id}), 403, "forbidden")
    coordinator = ctx["coordinator"]
    _problem(api.get(f"{reports}/sitrep", token=coordinator, params={"bank_id": bank_id}), 403, "forbidden")
    _problem(api.get(f"{reports}/sitrep", params={"bank_id": bank_id}), 401, "unauthorized")
    # Out of scope is 403 whatever else is wrong with the query; an unknown bank is 422.
    _problem(api.get(f"{reports}/fill-rate", token=outsider, params={"bank_id": bank_id, "group_by": "x"}),
             403, "forbidden")
    _problem(api.get(f"{reports}/fill-rate", token=trust_leader, params={"bank_id": "no-such-bank"}),
             422, "validation-error")

    # CSV by ?format=csv or Accept: text/csv; the chart as SVG.
    response = api.get(f"{reports}/fill-rate", token=trust_leader,
                       params={"bank_id": bank_id, "format": "csv"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="fill-rate-')
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["key"] == north_site and row["name"] == "North General" and row["posted"] == "6"
    accepted = api.get(f"{reports}/utilisation", token=trust_leader, params={"bank_id": bank_id},
                       headers={"Accept": "text/csv"})
    assert accepted.headers["Content-Type"].startswith("text/csv")
    assert accepted.text.splitlines()[0].startswith("site_id,name,staff_type,registered,eligible,blocked_by:")
    sitrep = api.get(f"{reports}/sitrep", token=trust_leader, params={"bank_id": bank_id, "format": "csv"})
    assert sitrep.text.splitlines()[0] == "organisation_id,name,rag,coverage,open_gaps,reasons"
    chart = api.get(f"{reports}/fill-rate/chart", token=trust_leader, params={"bank_id": bank_id})
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in chart.text and "North General" in chart.text and "East Infirmary" not in chart.text

    openapi = api.get("/v1/openapi.json").json()["paths"]
    assert {"/v1/reports/fill-rate", "/v1/reports/sitrep", "/v1/reports/spend", "/v1/reports/utilisation",
            "/v1/reports/fill-rate/chart", "/v1/reports/rate-violations", "/v1/reports/time-to-fill",
            "/v1/reports/late-cancellations", "/v1/reports/fill-rate/series"} <= set(openapi)


@pytest.mark.parametrize("query", [
    "", "group_by=colour", "from=2026-13-01", "from=2026-12-05&to=2026-12-01", "format=xml", "colour=red",
    "from=1850-01-01", "from=2026-12-01%00", "bank_id=b%00", "bank_id=%ED%A0%80", "bank_id=", "limit=5",
])
def test_bad_input_is_a_4xx_problem_never_a_500(api, hospital, query):
    token, bank_id = hospital["bank_admin"], hospital["bank"]["id"]
    given = query if query.startswith("bank_id=") else f"bank_id={bank_id}&{query}" if query else ""
    for path in ("/v1/reports/fill-rate", "/v1/reports/fill-rate/chart", "/v1/reports/late-cancellations",
                 "/v1/reports/sitrep"):
        response = api.get(f"{path}?{given}", token=token)
        assert 400 <= response.status_code < 500, (path, given, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
