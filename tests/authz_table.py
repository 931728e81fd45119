"""The authorisation matrix as data (API.md "Conventions: Auth", "Order of checks", "Roles and scope"):
every gateway route x every role x where the request acts, with what each caller gets.

tests/test_e2e_authz_matrix.py builds one world on the real platform and plays every cell, plus the
token faults (no token, expired, wrong signature, `alg: none`: 401 on every route needing a token),
and fails if the gateway has a route this table does not name.

The callers, one per role (their grants, in bank North unless said):
    platform_admin      the bootstrap admin (platform grant)
    bank_admin          bank North
    rota_coordinator    site A (of organisation A)
    timesheet_approver  site A
    leadership          organisation A
    worker              worker W1 of bank North
    agency              agency organisation AG of bank North (cascade tier 1)
    hr_system           bank North

Where a request acts (the row's `target` kind names the resource; scopes are its columns):
    own          organisation A / site A of North, or the worker W1 and what is its own
    other_org    organisation B / site B of the same bank, or worker W2 (booked at site B only)
    other_bank   bank South, its organisation, site and worker WS
A bank-wide target has no `other_org` column (North is North). Scope-free routes (the caller's own
inbox, /v1/me) have one column, "-". What each kind is exactly: KINDS below.

Expected outcomes:
    200, 201         that status exactly
    401, 403, 404    that status as problem+json: unauthorized, forbidden, not-found
    OK               authorised: whatever the resource's state makes of it (200, 409, ...), never
                     401/403/404 or 5xx
    SEES             200, and the list shows the scope's marker resources (KINDS: markers)
    BLIND            200, and none of the scope's marker resources shows (a filter naming another
                     tenant's place answers an empty list, not its data)
    PUBLIC           200 with the public part of a worker only: no email, no home location
    NA               no such cell (said why on the row)

API.md is the judge of every cell: where the gateway answers otherwise, the cell keeps API.md's value
and the test fails until the platform does.
"""

from dataclasses import dataclass
from typing import Any

ROLES = ("platform_admin", "bank_admin", "rota_coordinator", "timesheet_approver", "leadership", "worker",
         "agency", "hr_system")
SHORT = dict(zip(("pa", "ba", "rc", "ta", "le", "wo", "ag", "hr"), ROLES, strict=True))
TOKEN_FAULTS = ("no token", "expired", "wrong signature", "alg none")

OK, SEES, BLIND, PUBLIC, NA = "ok", "sees", "blind", "public", "-"
REFUSALS = {401: "unauthorized", 403: "forbidden", 404: "not-found"}

TREE = ("own", "other_org", "other_bank")
BANK = ("own", "other_bank")
NONE = ("-",)

# kind -> its scopes. What the world (tests/test_e2e_authz_matrix.py World) makes of each, per scope:
KINDS = {
    None: NONE,
    "bank": BANK,                     # North / South
    "organisation": TREE,             # A / B / South's
    "site": TREE,                     # site A / site B / South's
    "worker": TREE,                   # W1 (the worker caller) / W2 / WS
    "document": TREE,                 # a submitted document of W1 / W2 / WS (fresh for each allowed cell)
    "user": TREE,                     # a leadership account on organisation A / B / South's
    "leaver": TREE,                   # another such account, for deactivating
    "agency_org": TREE,               # agency organisation AG (tier 1) / AG2 of North / South's agency
    "notification": TREE,             # own: the caller's own; W2's; WS's
    "delivery": BANK,                 # a notification delivery of North / South
    "pay_run": BANK,                  # a pay run of North / South
    "timesheet": TREE,                # the timesheet of W1 at site A / W2 at site B / WS at South's site
    "submitted_timesheet": TREE,      # as timesheet, awaiting approval (fresh for each allowed cell)
    "unclaimed_shift": TREE,          # a completed shift of W1 / W2 / WS with no timesheet yet
    "worked_shift": TREE,             # the completed shift of `timesheet`
    "open_shift": TREE,               # an open shift at site A / B / South's
    "fresh_open_shift": TREE,         # as open_shift, fresh for each allowed cell
    "draft_shift": TREE,              # a draft (fresh for each allowed cell)
    "pending_shift": TREE,            # posted above its standard rate (by another bank admin): to approve
    "cancellable": TREE,              # a worker: a shift booked to W1 / W2 / WS; others: an open shift
    "bookable": TREE,                 # an agency: a shift cascaded to tier 1; others: open, instant-book
    # Lists, filtered by the scope's place; markers: what the scope holds that the list may show.
    "workers_list": BANK,             # ?bank_id=; markers W1, W2 / WS
    "users_list": BANK,               # ?bank_id=; markers the `user` accounts
    "pay_run_list": BANK,             # ?bank_id=; markers the pay runs
    "timesheet_list": TREE,           # ?site_id=; markers the `timesheet`s
    "shift_list": TREE,               # ?site_id=; markers the open and worked shifts there
    "available": TREE,                # ?site_id=; markers the open shift there
    "agency_list": TREE,              # no filter; markers a shift cascaded to tier 1 at site A / B / South's
    "violation_list": TREE,           # ?bank_id= North, North, South; markers a rate violation at each site
    "bank_report": TREE,              # ?bank_id= North, North, South; other_org: North's report again,
                                      # its markers what shows organisation B or site B (name "Bravo...")
}
# Kinds a request may use up (publish a draft, book a shift): each allowed cell gets its own.
CONSUMED = {"document", "submitted_timesheet", "unclaimed_shift", "fresh_open_shift", "draft_shift",
            "pending_shift", "cancellable", "bookable"}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    target: str | None
    cells: dict  # role -> one expected outcome per scope of the target kind
    query: Any = None  # c -> dict of query parameters (c: the cell's context, see the test's Cell)
    body: Any = None  # c -> JSON body
    public: bool = False  # no token needed: every caller, and every bad token, gets the same
    note: str = ""
    fill: str = ""  # a public path's placeholder (e.g. {path:path}) is played as this

    @property
    def key(self):
        return f"{self.method} {self.path}"

    @property
    def scopes(self):
        return KINDS[self.target]


def R(route, target=None, *, query=None, body=None, note="", **cells):
    """A row: `cells` by short role name (pa, ba, rc, ta, le, wo, ag, hr), each one outcome for every
    scope or a tuple of one per scope."""
    method, path = route.split(" ", 1)
    scopes = KINDS[target]
    expanded = {}
    for short, role in SHORT.items():
        value = cells.pop(short)
        values = value if isinstance(value, tuple) else (value,) * len(scopes)
        assert len(values) == len(scopes), f"{route}: {short} needs {len(scopes)} outcomes"
        expanded[role] = values
    assert not cells, f"{route}: unknown roles {sorted(cells)}"
    return Row(method, path, target, expanded, query, body, note=note)


def P(route, status, *, body=None, note="", fill=""):
    """A public row: no token needed; every caller (none, any role, a bad token) gets `status`."""
    method, path = route.split(" ", 1)
    return Row(method, path, None, {role: (status,) for role in ROLES}, None, body, public=True, note=note,
               fill=fill)


_F = 403  # refused: forbidden
_N = 404  # refused: outside the caller's scope, answered as absent
PA_ONLY = dict(ba=_F, rc=_F, ta=_F, le=_F, wo=_F, ag=_F, hr=_F)
EVERYONE = dict(pa=200, ba=200, rc=200, ta=200, le=200, wo=200, ag=200, hr=200)
BANK_ADMINS = dict(rc=_F, ta=_F, le=_F, wo=_F, ag=_F, hr=_F)  # everyone else is refused by role
IN_TREE = (200, 200, _N)  # a bank-wide grant in North: A and B, not South
AT_A = (200, _N, _N)  # a grant on site or organisation A
STAFF_AT_A = dict(rc=AT_A, ta=AT_A, le=AT_A)
NOT_STAFF = dict(wo=_F, ag=_F, hr=_F)
READERS = dict(rc=_F, ta=_F, wo=_F, ag=_F, hr=_F)  # reports: leadership and bank admins only


def _shift(c, **extra):
    return {"site_id": c.site, "staff_type": "doctor", "grade": "ST3", **c.next_slot(), "break_minutes": 30,
            **extra}


def _grant(c):
    return [{"role": "leadership", "scope_type": "organisation", "scope_id": c.org}]


def _report(**extra):
    return lambda c: {"bank_id": c.bank, **extra}


# North's report shows organisation B to a bank-wide reader, not to leadership of organisation A.
REPORT = dict(pa=(200, SEES, 200), ba=(200, SEES, _F), le=(200, BLIND, _F), **READERS)

ROWS = [
    # --- operations and identity -------------------------------------------------------------
    P("GET /healthz", 200),
    P("GET /readyz", 200),
    P("GET /v1/openapi.json", 200),
    P("GET /portal", 308, note="to /portal/"),
    P("GET /portal/", 200),
    P("GET /portal/{path:path}", 200, fill="shifts/available", note="one of the portal's own pages"),
    P("POST /v1/auth/token", 200, body=lambda c: c.login),
    P("POST /v1/workers", 201, note="self-registration",
      body=lambda c: {"bank_id": c.bank, "email": f"matrix-{c.uid}@example.org",
                      "password": "worker-password-1", "name": "Matrix", "staff_type": "doctor",
                      "grade": "ST3", "latitude": 52.0, "longitude": 0.0}),
    R("GET /v1/me", **EVERYONE),
    R("POST /v1/banks", pa=201, **PA_ONLY, body=lambda c: {"name": f"Matrix {c.uid}"}),
    R("POST /v1/organisations", "bank", pa=201, ba=(201, _F), **BANK_ADMINS,
      body=lambda c: {"bank_id": c.bank, "name": f"Matrix {c.uid}", "kind": "practice"}),
    R("POST /v1/sites", "organisation", pa=201, ba=(201, 201, _F), **BANK_ADMINS,
      body=lambda c: {"organisation_id": c.org, "name": f"Matrix {c.uid}", "latitude": 52.0,
                      "longitude": 0.0}),
    R("POST /v1/users", "organisation", pa=201, ba=(201, 201, _F), **BANK_ADMINS,
      body=lambda c: {"email": f"matrix-{c.uid}@example.org", "password": "staff-password-1",
                      "name": "Matrix", "roles": _grant(c)}),
    R("GET /v1/banks", **EVERYONE, note="each caller's own banks: those it holds a grant in"),
    *[R(route, "bank", pa=200, **dict.fromkeys(("ba", "rc", "ta", "le", "wo", "ag", "hr"), (200, _F)),
        query=lambda c: {"bank_id": c.bank}, note="the bank's tree: any grant in the bank reads it")
      for route in ("GET /v1/organisations", "GET /v1/sites")],
    R("GET /v1/users", "users_list", pa=SEES, ba=(SEES, _F), **BANK_ADMINS,
      query=lambda c: {"bank_id": c.bank, "limit": 500}),
    R("PUT /v1/users/{id}/roles", "user", pa=200, ba=IN_TREE, **BANK_ADMINS,
      body=lambda c: {"roles": _grant(c)}),
    R("POST /v1/users/{id}/deactivate", "leaver", pa=200, ba=IN_TREE, **BANK_ADMINS),
    R("GET /v1/workers", "workers_list", pa=SEES, ba=(SEES, _F), rc=_F, ta=_F, le=_F, **NOT_STAFF,
      query=lambda c: {"bank_id": c.bank, "limit": 500},
      note="workers are reached through grants on their bank (API.md Roles and scope)"),
    R("GET /v1/workers/{id}", "worker", pa=200, ba=IN_TREE,
      rc=(PUBLIC, _N, _N), ta=(PUBLIC, _N, _N), le=(PUBLIC, _N, _N), wo=AT_A, ag=_F, hr=_F,
      note="API.md: staff at a site see the public part of a worker booked on their shifts (W1 is, at "
           "site A; W2 only at site B)"),
    R("PATCH /v1/workers/{id}", "worker", pa=200, ba=IN_TREE, **BANK_ADMINS,
      body=lambda c: {"opted_out_of_48h": False}),
    # --- compliance ----------------------------------------------------------------------------
    R("POST /v1/workers/{id}/documents", "worker", pa=201, ba=(201, 201, _N), rc=_F, ta=_F, le=_F,
      wo=(201, _N, _N), ag=_F, hr=_F,
      body=lambda c: {"kind": "references", "reference": f"matrix-{c.uid}", "expires_on": c.in_a_year}),
    R("GET /v1/workers/{id}/documents", "worker", pa=200, ba=IN_TREE, rc=_F, ta=_F, le=_F, wo=AT_A, ag=_F,
      hr=_F),
    R("POST /v1/documents/{id}/verify", "document", pa=200, ba=IN_TREE, **BANK_ADMINS,
      body=lambda c: {"outcome": "rejected", "note": "matrix"}),
    R("GET /v1/workers/{id}/compliance", "worker", pa=200, ba=IN_TREE, rc=_F, ta=_F, le=_F, wo=AT_A, ag=_F,
      hr=_F),
    R("GET /v1/workers/{id}/eligibility", "worker", pa=200, ba=IN_TREE, **BANK_ADMINS,
      query=lambda c: {"staff_type": "doctor", "on": c.today}),
    R("PUT /v1/compliance-requirements", "bank", pa=200, ba=(200, _F), **BANK_ADMINS,
      body=lambda c: {"bank_id": c.bank, "staff_type": "matrix-test", "kinds": ["identity", "dbs"]}),
    R("GET /v1/compliance-requirements", "bank", pa=200, ba=(200, _F), **BANK_ADMINS,
      query=lambda c: {"bank_id": c.bank}),
    # --- notifications -------------------------------------------------------------------------
    R("GET /v1/notifications", **EVERYONE),
    R("POST /v1/notifications/{id}/read", "notification",
      pa=(NA, _N, _N), ba=(200, _N, _N), rc=(NA, _N, _N), ta=(NA, _N, _N), le=(200, _N, _N), wo=(200, _N, _N),
      ag=(NA, _N, _N), hr=(NA, _N, _N),
      note="everyone marks only their own (another's is 404); own: only the callers whom the world's "
           "events notify (bank admin: organisations; leadership: rate violations; worker: shifts)"),
    R("GET /v1/notification-preferences", **EVERYONE),
    R("PUT /v1/notification-preferences", **EVERYONE, body=lambda c: {"email": True, "in_app": True}),
    R("GET /v1/notification-deliveries", "bank", pa=200, ba=(200, _F), **BANK_ADMINS,
      query=lambda c: {"bank_id": c.bank}),
    R("POST /v1/notification-deliveries/{id}/resend", "delivery", pa=OK, ba=(OK, _N), **BANK_ADMINS,
      note="only a failed delivery is sent again (409 otherwise): either way, authorised"),
    # --- payroll -------------------------------------------------------------------------------
    R("PUT /v1/rate-cards", "bank", pa=200, ba=(200, _F), **BANK_ADMINS,
      body=lambda c: {"bank_id": c.bank, "staff_type": "doctor", "grade": "ST3", **c.card}),
    R("GET /v1/rate-cards", "bank", pa=200, ba=(200, _F), rc=(200, _F), ta=(200, _F), le=(200, _F), wo=_F,
      ag=_F, hr=(200, _F), query=lambda c: {"bank_id": c.bank},
      note="a bank's cards are the same at every site: staff granted anywhere in the bank read them"),
    R("POST /v1/timesheets", "unclaimed_shift", pa=_F, ba=_F, rc=_F, ta=_F, le=_F, wo=(201, _F, _F), ag=_F,
      hr=_F, body=lambda c: c.claim,
      note="only the worker booked on the shift claims it (API.md: the booked worker)"),
    R("GET /v1/timesheets", "timesheet_list", pa=SEES, ba=(SEES, SEES, BLIND), rc=(SEES, BLIND, BLIND),
      ta=(SEES, BLIND, BLIND), le=(SEES, BLIND, BLIND), wo=(SEES, BLIND, BLIND), ag=_F, hr=_F,
      query=lambda c: {"site_id": c.site, "limit": 500}),
    R("GET /v1/timesheets/{id}", "timesheet", pa=200, ba=IN_TREE, **STAFF_AT_A, wo=AT_A, ag=_F, hr=_F),
    R("POST /v1/timesheets/{id}/approve", "submitted_timesheet", pa=200, ba=_F, rc=_F, ta=AT_A, le=_F,
      wo=_F, ag=_F, hr=_F, note="API.md: timesheet_approver at the site"),
    R("POST /v1/timesheets/{id}/reject", "submitted_timesheet", pa=200, ba=_F, rc=_F, ta=AT_A, le=_F,
      wo=_F, ag=_F, hr=_F, body=lambda c: {"reason": "matrix"}),
    R("POST /v1/pay-runs", "bank", pa=201, ba=(201, _F), **BANK_ADMINS,
      body=lambda c: {"bank_id": c.bank, "period_start": "2020-01-01", "period_end": "2020-01-31"}),
    R("GET /v1/pay-runs", "pay_run_list", pa=SEES, ba=(SEES, _F), rc=_F, ta=_F, le=_F, wo=_F, ag=_F,
      hr=(SEES, _F), query=lambda c: {"bank_id": c.bank, "limit": 500}),
    R("GET /v1/pay-runs/{id}", "pay_run", pa=200, ba=(200, _N), rc=_F, ta=_F, le=_F, wo=_F, ag=_F,
      hr=(200, _N)),
    R("GET /v1/pay-runs/{id}/export.csv", "pay_run", pa=200, ba=(200, _N), rc=_F, ta=_F, le=_F, wo=_F,
      ag=_F, hr=(200, _N)),
    R("GET /v1/pay-runs/{id}/esr.csv", "pay_run", pa=200, ba=(200, _N), rc=_F, ta=_F, le=_F, wo=_F, ag=_F,
      hr=(200, _N)),
    # --- reports: leadership of organisation A reads its part of North (nothing of B), not South --
    R("GET /v1/reports/fill-rate", "bank_report", **REPORT, query=_report(group_by="site")),
    R("GET /v1/reports/fill-rate/series", "bank_report", **REPORT, query=_report()),
    R("GET /v1/reports/fill-rate/chart", "bank_report", **REPORT, query=_report()),
    R("GET /v1/reports/sitrep", "bank_report", **REPORT, query=_report()),
    R("GET /v1/reports/spend", "bank_report", **REPORT, query=_report()),
    R("GET /v1/reports/utilisation", "bank_report", **REPORT, query=_report()),
    R("GET /v1/reports/rate-violations", "bank_report", **REPORT, query=_report(group_by="site")),
    R("GET /v1/reports/time-to-fill", "bank_report", **REPORT, query=_report(group_by="site")),
    R("GET /v1/reports/late-cancellations", "bank_report", **REPORT, query=_report(group_by="site")),
    R("GET /v1/rate-violations", "violation_list", pa=SEES, ba=(SEES, SEES, _F), le=(SEES, BLIND, _F),
      **READERS, query=_report(limit=500),
      note="API.md: leadership reads rate violations in its scope, as it reads reports"),
    # --- shifts --------------------------------------------------------------------------------
    R("POST /v1/shifts", "site", pa=201, ba=(201, 201, _F), rc=(201, _F, _F), ta=_F, le=_F, **NOT_STAFF,
      body=_shift),
    R("GET /v1/shifts", "shift_list", pa=SEES, ba=(SEES, SEES, BLIND), rc=(SEES, BLIND, BLIND),
      ta=(SEES, BLIND, BLIND), le=(SEES, BLIND, BLIND), **NOT_STAFF,
      query=lambda c: {"site_id": c.site, "limit": 500}),
    R("GET /v1/shifts/available", "available", pa=_F, ba=_F, rc=_F, ta=_F, le=_F, wo=(SEES, SEES, BLIND),
      ag=_F, hr=_F, query=lambda c: {"site_id": c.site},
      note="a worker's own search (the platform admin is nobody's worker)"),
    R("GET /v1/workers/{id}/shifts", "worker", pa=200, ba=IN_TREE, rc=_F, ta=_F, le=_F, wo=AT_A, ag=_F,
      hr=_F, note="a worker's own shifts and applications: the worker, or its bank's admins"),
    R("GET /v1/shifts/{id}", "worked_shift", pa=200, ba=IN_TREE, **STAFF_AT_A, wo=AT_A, ag=_F, hr=_F,
      note="a worker sees open shifts and its own; W2's worked shift is neither"),
    R("GET /v1/shifts/{id}/steps", "worked_shift", pa=200, ba=IN_TREE, **STAFF_AT_A, **NOT_STAFF),
    R("POST /v1/shifts/{id}/publish", "draft_shift", pa=200, ba=IN_TREE, rc=AT_A, ta=_F, le=_F, **NOT_STAFF,
      body=lambda c: {"to": "bank"}),
    R("POST /v1/shifts/{id}/approve", "pending_shift", pa=200, ba=IN_TREE, rc=_F, ta=AT_A, le=_F,
      **NOT_STAFF, body=lambda c: {"reason": "matrix"}),
    R("POST /v1/shifts/{id}/reject", "pending_shift", pa=200, ba=IN_TREE, rc=_F, ta=AT_A, le=_F,
      **NOT_STAFF, body=lambda c: {"reason": "matrix"}, note="the approvers of /approve reject"),
    R("POST /v1/shifts/{id}/cascade", "fresh_open_shift", pa=200, ba=IN_TREE, rc=AT_A, ta=AT_A, le=_F,
      **NOT_STAFF, body=lambda c: {"tier": 1}),
    R("POST /v1/shifts/{id}/cancel", "cancellable", pa=200, ba=IN_TREE, rc=AT_A, ta=_F, le=_F,
      wo=(200, _F, _N), ag=_F, hr=_F, body=lambda c: {"reason": "matrix"},
      note="a worker cancels only its own booking"),
    R("POST /v1/shifts/{id}/book", "bookable", pa=200, ba=IN_TREE, rc=AT_A, ta=_F, le=_F, wo=IN_TREE,
      ag=IN_TREE, hr=_F, body=lambda c: {"worker_id": c.bookee},
      note="a worker books itself on an instant-book shift of its bank; an agency its own worker on a "
           "shift cascaded to its tier, anywhere in its bank"),
    R("GET /v1/agency/shifts", "agency_list", pa=200, ba=_F, rc=_F, ta=_F, le=_F, wo=_F,
      ag=(SEES, SEES, BLIND), hr=_F),
    R("PUT /v1/agencies/{id}/tier", "agency_org", pa=200, ba=IN_TREE, **BANK_ADMINS,
      body=lambda c: {"tier": 1}),
    R("POST /v1/shifts/{id}/applications", "fresh_open_shift", pa=_F, ba=_F, rc=_F, ta=_F, le=_F,
      wo=(201, 201, _N), ag=_F, hr=_F, note="a worker applies for itself (the platform admin is no worker)"),
    R("GET /v1/shifts/{id}/applications", "open_shift", pa=200, ba=IN_TREE, **STAFF_AT_A, **NOT_STAFF),
    R("PUT /v1/sites/{id}/policy", "site", pa=200, ba=IN_TREE, **BANK_ADMINS,
      body=lambda c: {"instant_book_allowed": True}),
    R("GET /v1/sites/{id}/policy", "site", pa=200, ba=IN_TREE, **STAFF_AT_A, **NOT_STAFF),
    R("POST /v1/priority-groups", "organisation", pa=201, ba=(201, 201, _F), **BANK_ADMINS,
      body=lambda c: {"organisation_id": c.org, "name": f"Matrix {c.uid}", "worker_ids": [c.worker]}),
    R("GET /v1/priority-groups", "organisation", pa=SEES, ba=(SEES, SEES, BLIND), rc=(SEES, BLIND, BLIND),
      ta=(SEES, BLIND, BLIND), le=(SEES, BLIND, BLIND), **NOT_STAFF,
      query=lambda c: {"organisation_id": c.org, "limit": 500},
      note="staff list their organisations' groups, filtered (no markers here: which groups each sees "
           "is tests/test_e2e_shift_portal_gaps.py's)"),
]


def allowed(expected):
    """Whether a cell's caller is let through (and may use its target up)."""
    return expected not in (401, 403, 404, NA, BLIND)
