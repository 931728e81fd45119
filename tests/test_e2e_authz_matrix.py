"""The authorisation matrix (tests/authz_table.py) played against the real platform: every gateway
route x every role x own scope / another organisation of the bank / another bank, and the token
faults on every route that needs a token. One world is built once and every cell is played in it;
every mismatching cell is reported at once.

Refused cells share their target; a cell that is let through and may use its target up (publish a
draft, book a shift) gets a fresh one, so no cell's answer depends on the cells played before it."""

import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from inspect import getmembers

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler

from chassis.testing import poll
from gateway.openapi import build_spec
from gateway.service import GatewayService
from tests import authz_table as table
from tests.conftest import CARD
from tests.test_e2e_security import _forged_tokens

PASSWORD = "staff-password-1"
W1_EMAIL, WORKER_PASSWORD = "w1.matrix@example.org", "worker-password-1"
FAULTS = {"expired": "expired", "wrong signature": "other key", "alg none": "alg none"}


def gateway_routes():
    """Every (method, path) the gateway serves, from its HTTP entrypoints, paths as OpenAPI writes them."""
    found = set()
    for _, member in getmembers(GatewayService):
        for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, HttpRequestHandler):
                path = entrypoint.url.replace("<", "{").replace(">", "}")
                found |= {(method.strip(), path) for method in entrypoint.method.split(",")}
    return found


def test_the_table_covers_every_route_of_the_gateway():
    served = {f"{method} {path}" for method, path in gateway_routes()}
    documented = {f"{method.upper()} {path}" for path, operations in build_spec()["paths"].items()
                  for method in operations}
    keys = [row.key for row in table.ROWS]
    assert len(keys) == len(set(keys)), "a route appears twice in the table"
    assert documented <= served, f"documented but not served: {sorted(documented - served)}"
    uncovered, gone = sorted(served - set(keys)), sorted(set(keys) - served)
    assert not uncovered, f"routes tests/authz_table.py does not cover (add a row for each): {uncovered}"
    assert not gone, f"rows of tests/authz_table.py for routes the gateway no longer has: {gone}"
    for row in table.ROWS:
        assert set(row.cells) == set(table.ROLES), row.key
        assert row.public or row.target is not None or "{id}" not in row.path, row.key


@dataclass
class Place:
    """Where a scope's requests act."""

    bank: str
    org: str
    site: str
    worker: str
    worker_token: str
    poster: str  # a bank admin of the place's bank who is none of the callers: posts and books shifts


class World:
    """Bank North (organisations A and B, an agency), bank South, a caller per role, and the resources
    each scope's requests act on (tests/authz_table.py KINDS)."""

    def __init__(self, api, admin):
        self.api, self.admin = api, admin
        self.future, self.past = itertools.count(2, 2), itertools.count(2, 2)  # days: no two shifts meet
        self.uids = itertools.count(1)
        self.shared = {}

    # --- building -----------------------------------------------------------------------------

    def account(self, email, role, scope_type, scope_id, login=True):
        body = {"email": email, "password": PASSWORD, "name": email.split("@")[0],
                "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}]}
        user = self.api.created("/v1/users", body, token=self.admin)
        return self.api.token(email, PASSWORD) if login else user["id"]

    def build(self, make_bank, active_worker):
        api, admin = self.api, self.admin
        north, south = make_bank("North"), make_bank("South")
        N, S = north["bank"]["id"], south["bank"]["id"]
        for ctx in (north, south):
            card = api.put("/v1/rate-cards", {"bank_id": ctx["bank"]["id"], "staff_type": "doctor",
                                              "grade": "ST3", **CARD}, token=ctx["bank_admin"])
            assert card.status_code == 200, card.text

        def org(bank_id, name, kind, token):
            return api.created("/v1/organisations", {"bank_id": bank_id, "name": name, "kind": kind},
                               token=token)

        org_b = org(N, "Bravo Trust", "trust", north["bank_admin"])
        site_b = api.created("/v1/sites", {"organisation_id": org_b["id"], "name": "Bravo Infirmary",
                                           "latitude": 53.47, "longitude": -2.25}, token=north["bank_admin"])
        agency, agency_2 = (org(N, name, "agency", north["bank_admin"])
                            for name in ("Alpha Locums", "Second Locums"))
        south_agency = org(S, "South Locums", "agency", south["bank_admin"])
        for ctx, agency_org in ((north, agency), (south, south_agency)):
            placed = api.put(f"/v1/agencies/{agency_org['id']}/tier", {"tier": 1}, token=ctx["bank_admin"])
            assert placed.status_code == 200, placed.text
        self.agency_orgs = {"own": agency["id"], "other_org": agency_2["id"],
                            "other_bank": south_agency["id"]}

        site_a, org_a = north["site"]["id"], north["organisation"]["id"]
        self.tokens = {
            "platform_admin": admin, "bank_admin": north["bank_admin"],
            "rota_coordinator": north["coordinator"],
            "timesheet_approver": self.account("approver.matrix@example.org", "timesheet_approver", "site",
                                               site_a),
            "leadership": self.account("leader.matrix@example.org", "leadership", "organisation", org_a),
            "agency": self.account("agency.matrix@example.org", "agency", "organisation", agency["id"]),
            "hr_system": self.account("hr.matrix@example.org", "hr_system", "bank", N),
        }
        poster = self.account("poster.matrix@example.org", "bank_admin", "bank", N)

        w1, w1_token = active_worker(north, W1_EMAIL)
        w2, w2_token = active_worker(north, "w2.matrix@example.org")
        self.agency_worker, _ = active_worker(north, "wa.matrix@example.org")
        ws, ws_token = active_worker(south, "ws.matrix@example.org")
        linked = api.patch(f"/v1/workers/{self.agency_worker['id']}", {"agency_id": agency["id"]},
                           token=north["bank_admin"])
        assert linked.status_code == 200, linked.text
        self.tokens["worker"] = w1_token
        self.w1 = w1["id"]

        self.places = {
            "own": Place(N, org_a, site_a, w1["id"], w1_token, poster),
            "other_org": Place(N, org_b["id"], site_b["id"], w2["id"], w2_token, poster),
            "other_bank": Place(S, south["organisation"]["id"], south["site"]["id"], ws["id"], ws_token,
                                south["bank_admin"]),
        }
        self.places["-"] = self.places["own"]

        scopes = table.TREE
        self.users = {s: self.account(f"user.{s}@example.org", "leadership", "organisation",
                                      self.places[s].org, login=False) for s in scopes}
        self.leavers = {s: self.account(f"leaver.{s}@example.org", "leadership", "organisation",
                                        self.places[s].org, login=False) for s in scopes}
        self.open = {s: self.shift(s, publish={"to": "bank"})["id"] for s in scopes}
        self.violations = {s: self.shift(s, hourly_rate="95.00", publish={"to": "bank"})["id"]
                           for s in scopes}
        self.cascaded = {s: self.cascaded_shift(s)["id"] for s in scopes}
        self.worked, self.timesheets = {}, {}
        for s in scopes:
            self.worked[s] = self.retrospective(s)
            self.timesheets[s] = self.timesheet(s, self.worked[s])["id"]
        self.pay_runs = {}
        for s, ctx in (("own", north), ("other_bank", south)):
            self.pay_runs[s] = api.created("/v1/pay-runs", {"bank_id": ctx["bank"]["id"],
                                                            "period_start": "2019-01-01",
                                                            "period_end": "2019-01-31"},
                                           token=ctx["bank_admin"])["id"]
        # Something of each place in every report: bookings (time to fill) and cancellations.
        for s in scopes:
            self.shared["cancellable", s, True] = (self.booked_shift(s)["id"], None)  # a worker's booking
            cancelled = self.api.post(f"/v1/shifts/{self.shift(s, publish={'to': 'bank'})['id']}/cancel",
                                      {"reason": "no longer needed"}, token=self.places[s].poster)
            assert cancelled.status_code == 200, cancelled.text
        self.markers_of_part = {"own": ["North"], "other_org": ["Bravo"], "other_bank": ["South"]}
        # Derived views (notifications and their deliveries) follow within seconds.
        self.notifications = {}
        inboxes = {"bank_admin": self.tokens["bank_admin"], "leadership": self.tokens["leadership"],
                   "worker": w1_token, "other_org": w2_token, "other_bank": ws_token}
        for name, token in inboxes.items():
            self.notifications[name] = poll(lambda token=token: self.first(
                "/v1/notifications", token), message=f"a notification for {name}")
        self.deliveries = {
            s: poll(lambda s=s: self.first(f"/v1/notification-deliveries?bank_id={self.places[s].bank}",
                                           admin), message=f"a delivery in {s}")
            for s in ("own", "other_bank")}
        return self

    def first(self, path, token):
        response = self.api.get(path, token=token)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items[0]["id"] if items else None

    def slot(self, past=False):
        days = -next(self.past) if past else next(self.future)
        day = date.today() + timedelta(days=days)
        starts = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        return {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=4)).isoformat()}

    def shift(self, scope, past=False, **extra):
        place = self.places[scope]
        return self.api.created("/v1/shifts", {"site_id": place.site, "staff_type": "doctor", "grade": "ST3",
                                               **self.slot(past), "break_minutes": 30, **extra},
                                token=place.poster)

    def cascaded_shift(self, scope):
        """Open to the bank, instant-book, cascaded to agency tier 1 (asked by its poster, approved by
        another: API.md separation of duties)."""
        shift = self.shift(scope, publish={"to": "bank"}, instant_book=True)
        asked = self.api.post(f"/v1/shifts/{shift['id']}/cascade", {"tier": 1},
                              token=self.places[scope].poster)
        assert asked.status_code == 200, asked.text
        approved = self.api.post(f"/v1/shifts/{shift['id']}/approve", {"reason": "no cover"},
                                 token=self.admin)
        assert approved.status_code == 200 and approved.json()["status"] == "agency", approved.text
        return approved.json()

    def booked_shift(self, scope):
        """A future shift booked to the scope's worker."""
        place = self.places[scope]
        shift = self.shift(scope, publish={"to": "bank"})
        booked = self.api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": place.worker},
                               token=place.poster)
        assert booked.status_code == 200, booked.text
        return booked.json()

    def retrospective(self, scope):
        """A shift the scope's worker has worked: booked and completed at once."""
        shift = self.shift(scope, past=True, worker_id=self.places[scope].worker)
        assert shift["status"] == "completed", shift
        return shift

    def timesheet(self, scope, shift):
        return self.api.created("/v1/timesheets", claim(shift), token=self.places[scope].worker_token)

    # --- targets ------------------------------------------------------------------------------

    def target(self, kind, scope, role, fresh):
        """(id or None, the resource or None) that a cell of `kind` acts on."""
        variant = {"cancellable": role == "worker", "bookable": role == "agency",
                   "notification": role if scope == "own" else None}.get(kind)
        key = (kind, scope, variant)
        if fresh and kind in table.CONSUMED:
            return self.make(kind, scope, variant)
        if key not in self.shared:
            self.shared[key] = self.make(kind, scope, variant)
        return self.shared[key]

    def make(self, kind, scope, variant):
        place = self.places[scope]
        fixed = {
            "bank": place.bank, "organisation": place.org, "site": place.site, "worker": place.worker,
            "user": self.users.get(scope), "leaver": self.leavers.get(scope),
            "agency_org": self.agency_orgs.get(scope), "pay_run": self.pay_runs.get(scope),
            "delivery": self.deliveries.get(scope), "timesheet": self.timesheets.get(scope),
            "open_shift": self.open.get(scope),
        }
        if kind in fixed:
            return fixed[kind], None
        if kind == "worked_shift":
            return self.worked[scope]["id"], self.worked[scope]
        if kind == "notification":
            return self.notifications.get(variant if scope == "own" else scope), None
        if kind == "document":
            document = self.api.created(f"/v1/workers/{place.worker}/documents",
                                        {"kind": "references", "reference": f"matrix-{next(self.uids)}"},
                                        token=place.worker_token)
            return document["id"], document
        if kind == "submitted_timesheet":
            timesheet = self.timesheet(scope, self.retrospective(scope))
            return timesheet["id"], timesheet
        if kind == "unclaimed_shift":
            shift = self.retrospective(scope)
            return shift["id"], shift
        made = {
            "fresh_open_shift": lambda: self.shift(scope, publish={"to": "bank"}),
            "draft_shift": lambda: self.shift(scope),
            "pending_shift": lambda: self.shift(scope, hourly_rate="95.00", publish={"to": "bank"}),
            "cancellable": lambda: self.booked_shift(scope) if variant else self.shift(
                scope, publish={"to": "bank"}),
            "bookable": lambda: self.cascaded_shift(scope) if variant else self.shift(
                scope, publish={"to": "bank"}, instant_book=True),
        }.get(kind)
        if made is not None:
            shift = made()
            return shift["id"], shift
        return None, None  # a list, or a scope-free route

    def markers(self, kind, scope):
        """What the scope holds that a list of `kind` may show (tests/authz_table.py KINDS)."""
        return {
            "workers_list": lambda: ([self.places["own"].worker, self.places["other_org"].worker]
                                     if scope == "own" else [self.places[scope].worker]),
            "users_list": lambda: [self.users[scope]],
            "pay_run_list": lambda: [self.pay_runs[scope]],
            "timesheet_list": lambda: [self.timesheets[scope]],
            "shift_list": lambda: [self.open[scope], self.worked[scope]["id"]],
            "available": lambda: [self.open[scope]],
            "agency_list": lambda: [self.cascaded[scope]],
            "violation_list": lambda: [self.violations[scope]],
            "bank_report": lambda: self.markers_of_part[scope],
        }.get(kind, list)()


def claim(shift):
    return {"shift_id": shift["id"], "started_at": shift["starts_at"], "ended_at": shift["ends_at"],
            "break_minutes": shift["break_minutes"]}


class Cell:
    """What a row's query and body builders see of the cell being played (`c` in authz_table.py)."""

    def __init__(self, world, role, scope, target_id, resource):
        place = world.places[scope]
        self.world, self.role, self.scope, self.target = world, role, scope, target_id
        self.bank, self.org, self.site, self.worker = place.bank, place.org, place.site, place.worker
        self.uid = next(world.uids)
        self.login = {"email": W1_EMAIL, "password": WORKER_PASSWORD}
        self.card = CARD
        self.today = date.today().isoformat()
        self.in_a_year = (date.today() + timedelta(days=365)).isoformat()
        self.claim = claim(resource) if resource and "starts_at" in resource else None
        self.bookee = (world.agency_worker["id"] if role == "agency"
                       else world.w1 if role == "worker" else place.worker)

    def next_slot(self):
        return self.world.slot()


def judge(expected, response, markers):
    """None if `response` is what the cell expects, else what is wrong with it."""
    status = response.status_code
    if expected == table.OK:
        return None if status not in (401, 403, 404) and status < 500 else "refused or failed"
    if expected in (table.SEES, table.BLIND, table.PUBLIC):
        if status != 200:
            return "not 200"
        shown = [marker for marker in markers if marker in response.text]
        if expected == table.SEES and len(shown) != len(markers):
            return f"misses {sorted(set(markers) - set(shown))}"
        if expected == table.BLIND and shown:
            return f"shows another scope's {shown}"
        if expected == table.PUBLIC and {"email", "latitude", "longitude"} & set(response.json()):
            return "shows more than the public part (email, home)"
        return None
    if status != expected:
        return "status"
    if expected in table.REFUSALS:
        is_problem = response.headers.get("Content-Type") == "application/problem+json"
        problem = response.json() if is_problem else {}
        if problem.get("type") != f"/problems/{table.REFUSALS[expected]}":
            return "not the problem type API.md names"
    return None


def play(api, row, cell, token):
    """One request of `row` as `cell` (redirects are answers too); returns the response."""
    path = row.path.replace("{id}", str(cell.target))
    if row.public:
        path = re.sub(r"\{[^}]+\}", row.fill, row.path)
    body = row.body(cell) if row.body else None
    params = row.query(cell) if row.query else None
    return api.request(row.method, path, json=body, token=token, params=params, allow_redirects=False)


def describe(row, who, scope, expected, response, problem):
    try:
        answer = response.json()
        text = json.dumps(answer.get("detail", answer) if isinstance(answer, dict) else answer)
    except ValueError:
        text = response.headers.get("Content-Type", "")
    text = text[:160]
    return (f"{row.key:44} {who:18} {scope:10} expected {expected!s:6} got {response.status_code} "
            f"({problem}): {text}")


@pytest.mark.timeout(300)
def test_every_cell_of_the_authorisation_matrix(api, admin, make_bank, active_worker):
    world = World(api, admin).build(make_bank, active_worker)
    me = api.get("/v1/me", token=admin).json()["id"]
    forged = _forged_tokens(me)
    faults = {name: forged[key] for name, key in FAULTS.items()}
    failures, played = [], 0

    for row in table.ROWS:
        for role in table.ROLES:
            for scope, expected in zip(row.scopes, row.cells[role], strict=True):
                if expected == table.NA:
                    continue
                fresh = table.allowed(expected)
                target_id, resource = world.target(row.target, scope, role, fresh)
                if "{id}" in row.path and target_id is None:
                    failures.append(f"{row.key:44} {role:18} {scope:10} the world has no target to play")
                    continue
                cell = Cell(world, role, scope, target_id, resource)
                response = play(api, row, cell, world.tokens[role])
                played += 1
                problem = judge(expected, response, world.markers(row.target, scope))
                if problem:
                    failures.append(describe(row, role, scope, expected, response, problem))
        # The token faults, on the first scope's target as the platform admin would send it.
        scope = row.scopes[0]
        target_id, resource = world.target(row.target, scope, "platform_admin", False)
        for fault in table.TOKEN_FAULTS:
            cell = Cell(world, "platform_admin", scope, target_id, resource)
            expected = row.cells["platform_admin"][0] if row.public else 401
            response = play(api, row, cell, faults.get(fault))
            played += 1
            problem = judge(expected, response, ())
            if problem:
                failures.append(describe(row, fault, scope, expected, response, problem))

    assert played > 1500, played
    assert not failures, f"{len(failures)} of {played} cells differ from tests/authz_table.py:\n" + "\n".join(
        failures)
