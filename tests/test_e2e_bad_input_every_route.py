"""Bad input on every route of the gateway (issue 19; API.md "Conventions"; DESIGN.md rule 5).

The cases are generated from the gateway's route table (`gateway.http.ROUTES`, which also builds
`/v1/openapi.json`: the test checks the served document lists exactly those operations), so a new
route is covered as soon as it is declared, and a route that yields no case fails the test:

- path ids: NUL, an unpaired surrogate and invalid UTF-8 (as percent-encoded bytes), 1e400, a
  41-digit number, -0, NaN, Infinity, a 2,000-character id. NUL is a 422 (API.md: "a string
  holding U+0000 ... in a path id ... is a 422"); the others name nothing there is: 404.
- query parameters (each one the route's query schema declares, and an unknown one): the same
  values, plus hostile cursors (base64 of deep, NaN, NUL...) for a `cursor`. NUL is always a 422
  naming the parameter; otherwise the gateway's own query reading (`gateway.http.query_dict`, on
  werkzeug's decoding of the same query string) and the route's schema say whether the value is
  invalid (then 422 naming it) or only odd (then any answer but a 5xx: e.g. `staff_type=NaN` is a
  filter matching nothing).
- bodies (each field the route's body schema declares, list elements and nested fields too):
  NUL, unpaired surrogates sent as JSON escapes, 1e400, 10**40, -0 and -0.0 where the field takes
  no zero, as the field's value in an otherwise valid body: 422 naming the field. NaN/Infinity
  literals and 10,000-deep arrays or objects (not JSON, or beyond the parser): 400 malformed-json
  (422 for the deep ones would do too); a body that is not an object (`[]`, `null`, `42`, `-0`,
  `1e400`...): 422; unknown fields whose names hold NUL or a lone surrogate: 422.
- content and size: bodies of 1 MiB + 1 bytes (with a Content-Length, and chunked): 413; exactly
  1 MiB: judged (422), not refused for its size; text/plain, form-encoded, multipart and unlabelled
  bodies that are not JSON, and application/json that is not UTF-8 (invalid bytes, UTF-16, an
  encoded surrogate): 400 malformed-json. The gateway reads every body as JSON whatever its label
  (README's `curl -d` examples send JSON as form-encoded), so a label alone is never the refusal.
- routes without a body: garbage and oversized bodies are ignored (a GET answers as usual, an
  action on an id that does not exist 404s): never a 5xx, never a hang.
- the gateway's other entrypoints (not API routes: the portal's files, /healthz, /readyz, the
  document), read from the running gateway: hostile values in each URL converter, garbage bodies
  and queries: any answer but a 5xx (a 4xx as problem+json).
- one URL over the HTTP server's 8 KiB line limit: eventlet's own bare 414, at once.

Every refusal must be application/problem+json with the `type` its status has in API.md, the
same `status` in the body and `errors` on a 422. Callers are authorised for each route (a platform
admin, or the worker / agency user a worker- or agency-only route is for), and the ids in paths and
bodies exist, so that what is refused is the input. Nothing may change: every GET route is read
before and after (list items, resources, reports) and must answer the same.

All cases (about 3,000) run against one platform, a few at a time (about a minute here), and every
failure is reported together, in one subtest per kind (route, case, status, body)."""

import base64
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from types import SimpleNamespace
from urllib.parse import quote

import eventlet
import pytest
import requests
from marshmallow import ValidationError, fields
from nameko.web.handlers import HttpRequestHandler
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from chassis.auth import STAFF_ROLES
from chassis.schemas import Email, Id, Money, QueryBool, StrictBool
from gateway.access import PathRef, split_refs
from gateway.http import ANY_ROLE, MAX_BODY_BYTES, ROUTES, query_dict
from gateway.service import GatewayService  # noqa: F401 - declares every route

REQUEST_TIMEOUT = 40  # seconds: past the gateway's RPC timeout (30 s), after which it must have answered
CONCURRENCY = 6
NO_SUCH_ID = "no-such-id-0000"
PROBLEM_NAMES = {400: "malformed-json", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 409: None, 413: "payload-too-large", 422: "validation-error",
                 429: "too-many-requests"}  # 409 is `conflict` or the name of the rule a booking broke
ANY_ANSWER = "success, or a 4xx problem"  # an odd but valid value: anything but a 5xx
SENTINEL = "\x01hostile\x01"
DEEP = 10_000
JSON_TYPE = {"Content-Type": "application/json"}


def route_name(route):
    return f"{route.method} {route.path}"


# --- the world: one of everything a path or body can name ------------------------------

def build_world(api, admin, hospital, active_worker):
    north = hospital
    bank_id, org_id, site_id = north["bank"]["id"], north["organisation"]["id"], north["site"]["id"]
    agency = api.created("/v1/organisations", {"bank_id": bank_id, "name": "Locums Ltd", "kind": "agency"},
                         token=admin)
    tier = api.put(f"/v1/agencies/{agency['id']}/tier", {"tier": 1}, token=admin)
    assert tier.status_code == 200, tier.text

    def user(email, role, scope_type, scope_id):
        return api.created("/v1/users", {"email": email, "password": "staff-password-1", "name": role,
                                         "roles": [{"role": role, "scope_type": scope_type,
                                                    "scope_id": scope_id}]}, token=admin)

    user("agency@example.org", "agency", "organisation", agency["id"])
    leader = user("lead@example.org", "leadership", "bank", bank_id)
    worker, worker_token = active_worker(north, "ada@example.org")
    document = api.get(f"/v1/workers/{worker['id']}/documents", token=admin).json()["items"][0]
    group = api.created("/v1/priority-groups", {"organisation_id": org_id, "name": "Regulars",
                                                "worker_ids": [worker["id"]]}, token=admin)
    tomorrow = datetime.combine(date.today() + timedelta(days=2), clock(8), UTC)
    shift = {"site_id": site_id, "staff_type": "doctor", "grade": "ST3", "break_minutes": 30}
    draft = api.created("/v1/shifts", {**shift, "starts_at": tomorrow.isoformat(),
                                       "ends_at": (tomorrow + timedelta(hours=8)).isoformat()},
                        token=north["coordinator"])
    worked_start = tomorrow - timedelta(days=4)
    worked = api.created("/v1/shifts", {**shift, "starts_at": worked_start.isoformat(),
                                        "ends_at": (worked_start + timedelta(hours=8)).isoformat(),
                                        "worker_id": worker["id"]}, token=north["coordinator"])
    assert worked["status"] == "completed", worked
    timesheet = api.created("/v1/timesheets", {"shift_id": worked["id"], "started_at": worked["starts_at"],
                                               "ended_at": worked["ends_at"], "break_minutes": 30},
                            token=worker_token)
    pay_run = api.created("/v1/pay-runs", {"bank_id": bank_id, "period_start": str(date.today()),
                                           "period_end": str(date.today())}, token=admin)
    return {
        "tokens": {"admin": admin, "worker": worker_token, "agency": api.token("agency@example.org",
                                                                               "staff-password-1")},
        # the resource each kind of path id names (gateway.access.PathRef kinds)
        "paths": {"worker": worker["id"], "document": document["id"], "user": leader["id"],
                  "shift": draft["id"], "timesheet": timesheet["id"], "pay_run": pay_run["id"],
                  "site": site_id, "organisation": agency["id"], "bank": bank_id},
        # ids a body or query names, by field name
        "ids": {"bank_id": bank_id, "scope_id": bank_id, "organisation_id": org_id, "site_id": site_id,
                "worker_id": worker["id"], "shift_id": worked["id"], "priority_group_id": group["id"],
                "agency_id": agency["id"], "user_id": leader["id"]},
        "worked": worked,
    }


def caller(route, world):
    """A token the route lets through to validation: the platform admin wherever staff act; the
    worker or the agency user on a route only they may call (so the service answers them too)."""
    tokens = world["tokens"]
    if route.roles in (None, ANY_ROLE) or set(route.roles) & set(STAFF_ROLES + ("hr_system",)):
        return tokens["admin"]
    if "worker" in route.roles:
        return tokens["worker"]
    if "agency" in route.roles:
        return tokens["agency"]
    return tokens["admin"]


def path_kind(route):
    refs = [ref for ref in split_refs(route.scope)[0] if isinstance(ref, PathRef)]
    return refs[0].kind if refs else None


def real_path(route, world):
    """The route's path naming real resources, or None if the world has none of that kind."""
    if not route.path_params:
        return route.path
    resource = world["paths"].get(path_kind(route))
    return None if resource is None else route.path.replace("{id}", resource)


def fake_path(route):
    return route.path.replace("{id}", NO_SUCH_ID)


# --- valid values, from a field's type and name ---------------------------------------

def sample(name, field_, world, in_query=False):
    """A value the field accepts, so that a case has one thing wrong: its hostile value."""
    today, worked = date.today(), world["worked"]
    later = datetime.combine(today + timedelta(days=5), clock(8), UTC)
    by_name = {"staff_type": "doctor", "grade": "ST3", "email": "nobody.base@example.org",
               "password": "base-password-1", "start": "22:00", "end": "07:00", "to": "bank",
               "outcome": "verified", "role": "leadership", "scope_type": "bank",
               "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=8)).isoformat(),
               "started_at": worked["starts_at"], "ended_at": worked["ends_at"],
               "issued_on": str(today - timedelta(days=30)), "expires_on": str(today + timedelta(days=365)),
               "period_start": str(today), "period_end": str(today), "on": str(today)}
    if name == "worker_ids":
        return [world["ids"]["worker_id"]]
    if name == "roles":
        return [{"role": "leadership", "scope_type": "bank", "scope_id": world["ids"]["bank_id"]}]
    if isinstance(field_, Id):
        return world["ids"].get(name, NO_SUCH_ID)
    if isinstance(field_, fields.Nested):
        return body_base(type(field_.schema), world)
    if isinstance(field_, fields.List):
        return [sample(name, field_.inner, world)]
    if isinstance(field_, (StrictBool, QueryBool, fields.Boolean)):
        return "false" if in_query else False
    if isinstance(field_, Money):
        return "50.00"
    if isinstance(field_, (fields.Integer, fields.Float)):
        return next((value for value in (1, 2, 50, 0) if accepts(field_, value)), 1)
    if isinstance(field_, (fields.DateTime, fields.Date)) and name in ("from", "to"):
        moment = today - timedelta(days=1) if name == "from" else today + timedelta(days=1)
        if isinstance(field_, fields.DateTime):
            return datetime.combine(moment, clock(0), UTC).isoformat()
        return str(moment)
    if name in by_name:
        return by_name[name]
    if isinstance(field_, fields.DateTime):
        return datetime.combine(today + timedelta(days=3), clock(8), UTC).isoformat()
    if isinstance(field_, fields.Date):
        return str(today)
    if isinstance(field_, Email):
        return "nobody.base@example.org"
    choices = [getattr(v, "choices", None) for v in field_.validators if getattr(v, "choices", None)]
    if choices:
        return list(choices[0])[0]
    return "Base value"


def accepts(field_, value):
    try:
        field_.deserialize(value)
    except ValidationError:
        return False
    return True


ALWAYS = ("scope_id",)  # optional, but a grant without it is no grant: the base names the bank


def body_base(schema_cls, world):
    """The schema's required fields, each valid: a body with nothing wrong (not sent as it is)."""
    schema = schema_cls()
    return {(f.data_key or name): sample(f.data_key or name, f, world)
            for name, f in schema.fields.items() if (f.required or name in ALWAYS) and not f.dump_only}


def query_base(route, world):
    if route.query is None:
        return {}
    schema = route.query()
    return {(f.data_key or name): sample(f.data_key or name, f, world, in_query=True)
            for name, f in schema.fields.items() if f.required}


def encode_query(pairs):
    """pairs of (name, value, raw): raw values are sent byte for byte (already percent-encoded)."""
    return "&".join(f"{quote(str(k), safe='%')}={v if raw else quote(str(v), safe='')}"
                    for k, v, raw in pairs)


# --- cases --------------------------------------------------------------------------------

@dataclass
class Case:
    category: str
    route: object
    label: str
    method: str
    url: str
    token: str | None
    expect: object  # a set of statuses, or ANY_ANSWER
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    named: str | None = None  # a 422 must name it in `errors`
    chunked: bool = False
    problem_json: bool = True  # whether a refusal must be problem+json (False: the HTTP server's own)


PATH_VALUES = [  # (label, percent-encoded path segment, expected statuses)
    ("NUL", "a%00b", {422}),
    ("unpaired surrogate (UTF-8 bytes ED A0 80)", "%ED%A0%80", {404, 422}),
    ("invalid UTF-8 (FF)", "%FF", {404, 422}),
    ("1e400", "1e400", {404}),
    ("41-digit number", str(10**40), {404}),
    ("-0", "-0", {404}),
    ("NaN", "NaN", {404}),
    ("Infinity", "Infinity", {404}),
    ("2,000 characters", "x" * 2000, {404}),
]

QUERY_VALUES = [  # (label, percent-encoded value)
    ("NUL", "a%00b"),
    ("unpaired surrogate (UTF-8 bytes ED A0 80)", "%ED%A0%80"),
    ("invalid UTF-8 (FF)", "%FF"),
    ("1e400", "1e400"),
    ("10**40", str(10**40)),
    ("-0", "-0"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("4,000 characters", "x" * 4000),
]


def _b64(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSOR_VALUES = [  # hostile cursors: what a cursor decodes to is the service's to refuse (422)
    ("cursor of 2,000 nested arrays", _b64("[" * 2000 + "]" * 2000)),
    ("cursor with NUL id", _b64('["2026-01-01T00:00:00+00:00", "a\\u0000"]')),
    ("cursor with surrogate id", _b64('["2026-01-01T00:00:00+00:00", "\\ud800"]')),
    ("cursor of NaN", _b64('[NaN, "x"]')),
    ("cursor of 1e400", _b64('[1e400, "x"]')),
    ("cursor of an object", _b64('{"a": 1}')),
    ("cursor with NUL in it", "a%00"),
]

FIELD_VALUES = [  # (label, raw JSON text, expected statuses, the value it parses to or None)
    ("NUL in a string", '"a\\u0000b"', {422}, None),
    ("unpaired surrogate \\ud800", '"\\ud800"', {422}, None),
    ("unpaired low surrogate \\udfff", '"x\\udfff"', {422}, None),
    ("1e400", "1e400", {422}, None),
    ("10**40", str(10**40), {422}, None),
    ("NaN literal", "NaN", {400}, None),
    ("-0", "-0", {422}, 0),  # only where the field takes no zero
    ("-0.0", "-0.0", {422}, -0.0),
]
ONCE_PER_ROUTE = [  # on the route's first field only: refused by the parser whichever field holds them
    ("Infinity literal", "Infinity", {400}),
    ("-Infinity literal", "-Infinity", {400}),
    (f"{DEEP:,} nested arrays", "[" * DEEP + "]" * DEEP, {400, 422}),
    (f"{DEEP:,} nested objects", '{"a": ' * DEEP + "1" + "}" * DEEP, {400, 422}),
]
WHOLE_BODIES = [  # (label, raw body, expected statuses)
    ("an array", b"[]", {422}), ("a string", b'"text"', {422}), ("a number", b"42", {422}),
    ("-0", b"-0", {422}), ("null", b"null", {422}), ("true", b"true", {422}), ("1e400", b"1e400", {422}),
    ("NaN", b"NaN", {400}), ("Infinity", b"Infinity", {400}),
    ("truncated JSON", b'{"a": ', {400}), ("trailing garbage", b"{} }", {400}),
    (f"{DEEP:,} nested arrays", b"[" * DEEP + b"]" * DEEP, {400, 422}),
    (f"{DEEP:,} nested objects", b'{"a": ' * DEEP + b"1" + b"}" * DEEP, {400, 422}),
    ("NUL key", b'{"a\\u0000b": 1}', {422}), ("surrogate key", b'{"\\ud800": 1}', {422}),
]


def render(body, raw=None):
    text = json.dumps(body)
    if raw is not None:
        marker = json.dumps(SENTINEL)
        assert text.count(marker) == 1, text
        text = text.replace(marker, raw)
    return text.encode()


def field_slots(schema_cls, world):
    """(label, top-level JSON name, the field judging the value, body with SENTINEL in place)."""
    base = body_base(schema_cls, world)
    for name, field_ in schema_cls().fields.items():
        if field_.dump_only:
            continue
        key = field_.data_key or name
        yield key, key, field_, {**base, key: SENTINEL}
        inner = field_.inner if isinstance(field_, fields.List) else None
        if inner is not None:
            yield f"{key}[0]", key, inner, {**base, key: [SENTINEL]}
        nested = field_ if isinstance(field_, fields.Nested) else inner
        if isinstance(nested, fields.Nested):
            sub_base = body_base(type(nested.schema), world)
            for sub_name, sub_field in nested.schema.fields.items():
                if sub_field.dump_only:
                    continue
                sub_key = sub_field.data_key or sub_name
                value = {**sub_base, sub_key: SENTINEL}
                yield (f"{key}{'[0]' if inner is not None else ''}.{sub_key}", key, sub_field,
                       {**base, key: [value] if inner is not None else value})


def query_expectation(route, world, pairs, name):
    """What the gateway must answer for this query: decoded as werkzeug decodes it and read as the
    gateway reads it (`query_dict`), judged by the route's schema and API.md's rule on NUL."""
    request = Request(EnvironBuilder(path="/", query_string=encode_query(pairs)).get_environ())
    data = query_dict(request, route.query)
    for key, value in data.items():
        for text in [key] + (value if isinstance(value, list) else [value]):
            if "\x00" in text or not _utf8(text):
                return {422}, key
    try:
        route.query().load(data)
    except ValidationError as exc:
        named = [key for key in exc.messages if key in data]
        return {422}, (named[0] if named else None)
    return ANY_ANSWER, None


def _utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def generate(world):
    cases = []
    for route in ROUTES:
        cases += route_cases(route, world)
    # one URL past the HTTP server's line limit (eventlet's 8 KiB): refused by the server itself
    workers = next(route for route in ROUTES if (route.method, route.path) == ("GET", "/v1/workers"))
    cases.append(Case("query", workers, "URL over 8 KiB", "GET", "/v1/workers?staff_type=" + "x" * 9000,
                      world["tokens"]["admin"], {414}, problem_json=False))
    return cases


OTHER_VALUES = [  # for the gateway's routes outside the API (the portal's files, health): no 5xx
    ("NUL", "a%00b.js"), ("unpaired surrogate (UTF-8 bytes ED A0 80)", "%ED%A0%80.css"),
    ("invalid UTF-8 (FF)", "%FF"), ("dot segments", "..%2F..%2Fetc%2Fpasswd"),
    ("2,000 characters", "x" * 2000),
]


def other_route_cases(platform, world):
    """The gateway's entrypoints that are not API routes (not in ROUTES, nor the document): every
    converter in their URL given hostile values, and garbage bodies and queries they must ignore."""
    api = {(route.method, re.sub(r"\{(\w+)\}", r"<\1>", route.path)) for route in ROUTES}
    entrypoints = {(handler.method, handler.url) for handler in platform.containers["gateway"].entrypoints
                   if isinstance(handler, HttpRequestHandler)}
    others = sorted(entrypoints - api)
    cases = []
    for method, url in others:
        spec = SimpleNamespace(method=method, path=url)
        converters = re.findall(r"<[^>]+>", url)
        for converter in converters:
            for label, value in OTHER_VALUES:
                path = url.replace(converter, value)
                for other in converters:
                    path = path.replace(other, "app")
                cases.append(Case("other routes", spec, f"{converter}={label}", method, path,
                                  world["tokens"]["admin"], ANY_ANSWER))
        plain = re.sub(r"<[^>]+>", "app", url)
        for label, body in (("invalid JSON", b'{"a": '), ("1 MiB + 1 bytes", b"x" * (MAX_BODY_BYTES + 1))):
            cases.append(Case("other routes", spec, f"ignored body: {label}", method, plain + "?a%00b=%FF",
                              world["tokens"]["admin"], ANY_ANSWER, body=body, headers=JSON_TYPE))
    return cases



def route_cases(route, world):
    cases = []
    token = caller(route, world)
    real = real_path(route, world)
    base_query = query_base(route, world)
    base_pairs = [(k, v, False) for k, v in base_query.items()]
    query = "?" + encode_query(base_pairs) if base_pairs else ""
    json_body = render(body_base(route.body, world)) if route.body is not None else None
    json_headers = JSON_TYPE if json_body is not None else {}

    def case(category, label, url, expect, **kwargs):
        kwargs.setdefault("body", json_body)
        kwargs.setdefault("headers", json_headers)
        cases.append(Case(category, route, label, route.method, url, token, expect, **kwargs))

    # path ids
    for name in route.path_params:
        for label, value, expect in PATH_VALUES:
            category = "path NUL" if label == "NUL" else "path"
            case(category, f"{name}={label}", route.path.replace("{" + name + "}", value) + query, expect)

    if real is None and (route.body is not None or route.query is not None or route.method == "GET"):
        # no resource of this kind in the world: the body and query cannot be reached
        cases.append(Case("coverage", route, f"no {path_kind(route)!r} in the world to name in the path",
                          route.method, "", token, set()))
        return cases

    # query parameters
    if route.query is not None:
        names = [f.data_key or n for n, f in route.query().fields.items()]
        for name in names:
            values = QUERY_VALUES + (CURSOR_VALUES if name == "cursor" else [])
            for label, value in values:
                pairs = [p for p in base_pairs if p[0] != name] + [(name, value, True)]
                expect, named = query_expectation(route, world, pairs, name)
                case("query", f"{name}={label}", real + "?" + encode_query(pairs), expect, named=named)
        for label, key in (("unknown parameter named NUL", "%00"),
                           ("unknown parameter named with bytes ED A0 80", "%ED%A0%80")):
            pairs = base_pairs + [(key, "1", True)]
            expect, named = query_expectation(route, world, pairs, key)
            case("query", label, real + "?" + encode_query(pairs), expect, named=named)
    elif route.method == "GET":
        case("query", "hostile parameters a route without a query ignores", real + "?a%00b=%ED%A0%80",
             ANY_ANSWER)

    # bodies
    if route.body is not None:
        url = real + query
        for label, raw, expect in WHOLE_BODIES:
            case("body", f"body: {label}", url, expect, body=raw)
        first = True
        for label, top, judge, body in field_slots(route.body, world):
            for value_label, raw, expect, parsed in FIELD_VALUES:
                if parsed is not None and accepts(judge, parsed):
                    continue  # a zero this field takes
                case("body", f"{label}: {value_label}", url, expect, body=render(body, raw),
                     named=top if expect == {422} else None)
            if first:
                for value_label, raw, expect in ONCE_PER_ROUTE:
                    case("body", f"{label}: {value_label}", url, expect, body=render(body, raw))
                first = False
        # sizes and content types
        limit = MAX_BODY_BYTES
        padded = {**json.loads(json_body), "padding": ""}
        filler = limit + 1 - len(render(padded))
        oversized = render({**padded, "padding": "x" * filler})
        assert len(oversized) == limit + 1
        case("content", "1 MiB + 1 bytes", url, {413}, body=oversized)
        case("content", "1 MiB + 1 bytes, chunked", url, {413}, body=oversized, chunked=True)
        exact = render({**padded, "padding": "x" * (filler - 1)})
        case("content", "exactly 1 MiB (an unknown field)", url, {422}, body=exact, named="padding")
        for label, body, content_type in (
            ("text/plain, not JSON", b"hello", "text/plain"),
            ("form-encoded", b"name=x&bank_id=y", "application/x-www-form-urlencoded"),
            ("multipart", b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
             "multipart/form-data; boundary=b"),
            ("no content type, not JSON", b"hello", None),
            ("application/json, invalid UTF-8", b'{"name": "\xff\xfe"}', "application/json"),
            ("application/json, UTF-16", json_body.decode().encode("utf-16"), "application/json"),
            ("application/json, a surrogate encoded in UTF-8", b'{"name": "\xed\xa0\x80"}',
             "application/json"),
        ):
            headers = {"Content-Type": content_type} if content_type else {}
            case("content", label, url, {400}, body=body, headers=headers)
    else:
        # a route without a body ignores one; an action is aimed at an id that does not exist
        url = (real if route.method == "GET" else fake_path(route)) + query
        expect = ANY_ANSWER if route.method == "GET" else {404}
        for label, body in (("invalid JSON", b'{"a": '), (f"{DEEP:,} nested arrays", b"[" * DEEP),
                            ("1 MiB + 1 bytes", b"x" * (MAX_BODY_BYTES + 1))):
            case("body", f"ignored body: {label}", url, expect, body=body, headers=JSON_TYPE)
    return cases


# --- running and judging -------------------------------------------------------------------

def send(session, base_url, case):
    headers = dict(case.headers)
    if case.token:
        headers["Authorization"] = f"Bearer {case.token}"
    body = case.body
    if case.chunked:
        data = body
        body = (data[i:i + 65536] for i in range(0, len(data), 65536))
    return session.request(case.method, base_url + case.url, data=body, headers=headers,
                           timeout=(5, REQUEST_TIMEOUT), allow_redirects=False)


def judge(case, response):
    """What is wrong with the answer, or None."""
    status = response.status_code
    if status >= 500:
        return "a 5xx"
    expected = case.expect
    if expected == ANY_ANSWER:
        if not 200 <= status < 500:
            return f"status {status}: expected {ANY_ANSWER}"
    elif status not in expected:
        return f"status {status}: expected {sorted(expected)}"
    if status < 400 or not case.problem_json:
        return None
    if response.headers.get("Content-Type") != "application/problem+json":
        return f"Content-Type {response.headers.get('Content-Type')!r}, not application/problem+json"
    try:
        problem = response.json()
    except ValueError:
        return "a problem+json body that is not JSON"
    name = PROBLEM_NAMES.get(status)
    if not isinstance(problem, dict) or problem.get("status") != status or not all(
            isinstance(problem.get(key), str) for key in ("type", "title", "detail")):
        return "not an RFC 9457 problem with type, title, status and detail"
    if name is not None and problem["type"] != f"/problems/{name}":
        return f"type {problem['type']!r}, API.md says /problems/{name} for {status}"
    if status == 422:
        if not isinstance(problem.get("errors"), dict):
            return "a validation-error without `errors`"
        if case.named is not None and case.named not in problem["errors"]:
            return f"errors do not name {case.named!r}: the field took the value"
    if not response.headers.get("X-Request-Id"):
        return "no X-Request-Id"
    return None


def run_cases(base_url, cases):
    sessions = eventlet.queue.LightQueue()
    for _ in range(CONCURRENCY):
        sessions.put(requests.Session())
    failures = []

    def run(case):
        session = sessions.get()
        try:
            response = send(session, base_url, case)
        except requests.Timeout:
            failures.append((case, "no answer", f"hung: no answer in {REQUEST_TIMEOUT} s"))
            session = requests.Session()
        except requests.RequestException as exc:
            failures.append((case, "no answer", f"{type(exc).__name__}: {exc}"[:300]))
            session = requests.Session()
        else:
            problem = judge(case, response)
            if problem:
                failures.append((case, response.status_code, f"{problem}; body {response.text[:300]!r}"))
        finally:
            sessions.put(session)

    pool = eventlet.GreenPool(CONCURRENCY)
    for case in cases:
        pool.spawn_n(run, case)
    pool.waitall()
    return failures


def report(failures):
    by_route = defaultdict(list)
    for case, status, problem in failures:
        by_route[route_name(case.route)].append(f"    [{case.label}] -> {status}: {problem}")
    summary = Counter((route_name(case.route), status) for case, status, _ in failures)
    lines = [f"{len(failures)} failing case(s) on {len(by_route)} route(s):"]
    lines += [f"  {count} x {status} on {name}" for (name, status), count in sorted(summary.items(), key=str)]
    for name, entries in sorted(by_route.items()):
        lines.append(f"  {name}:")
        lines += entries
    return "\n".join(lines)


# --- nothing changed ---------------------------------------------------------------------

def snapshot(api, world):
    """Every GET route's answer on the world's resources, as comparable as it can be: list items by
    id, everything else whole (a delivery's attempts may move on with its retries; its id stays)."""
    seen = {}
    for route in ROUTES:
        real = real_path(route, world)
        if route.method != "GET" or real is None:
            continue
        base = query_base(route, world)
        query = "?" + encode_query([(k, v, False) for k, v in base.items()]) if base else ""
        response = api.get(real + query, token=caller(route, world))
        key = route_name(route)
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            seen[key] = (response.status_code, response.text)
            continue
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            seen[key] = (response.status_code, sorted(
                item["id"] if isinstance(item, dict) and "id" in item else json.dumps(item, sort_keys=True)
                for item in data["items"]))
        else:
            seen[key] = (response.status_code, data)
    return seen


def settled_snapshot(api, world, timeout=20):
    """A snapshot once the platform has caught up with the world's events (two alike in a row)."""
    deadline = time.monotonic() + timeout
    previous = snapshot(api, world)
    while True:
        eventlet.sleep(1)
        current = snapshot(api, world)
        if current == previous or time.monotonic() > deadline:
            return current, {key for key in current if current[key] != previous.get(key)}
        previous = current


# --- the test ------------------------------------------------------------------------------

@pytest.mark.timeout(420)
def test_every_route_refuses_bad_input_with_a_clear_4xx_and_changes_nothing(
        platform, api, admin, hospital, active_worker, subtests):
    world = build_world(api, admin, hospital, active_worker)
    cases = generate(world) + other_route_cases(platform, world)

    with subtests.test(msg="coverage: every route of the route table and the document has cases"):
        document = api.get("/v1/openapi.json").json()["paths"]
        documented = {(method.upper(), path) for path, ops in document.items() for method in ops}
        assert documented == {(route.method, route.path) for route in ROUTES}
        per_route = Counter(route_name(case.route) for case in cases if case.category != "coverage")
        missing = [route_name(route) for route in ROUTES if per_route[route_name(route)] == 0]
        no_world = [f"{route_name(c.route)}: {c.label}" for c in cases if c.category == "coverage"]
        assert not missing and not no_world, f"routes without cases: {missing}; {no_world}"
    cases = [case for case in cases if case.category != "coverage"]

    # each query route's base query is accepted: its cases change one parameter of a valid request
    baseline = []
    for route in ROUTES:
        real = real_path(route, world)
        if route.query is None or real is None or route.method != "GET":
            continue
        base = [(k, v, False) for k, v in query_base(route, world).items()]
        response = api.get(real + ("?" + encode_query(base) if base else ""), token=caller(route, world))
        if response.status_code != 200:
            baseline.append(f"{route_name(route)} {base}: {response.status_code} {response.text}")

    before, volatile = settled_snapshot(api, world)
    started = time.monotonic()
    failures = run_cases(api.base_url, cases)
    elapsed = time.monotonic() - started
    after = snapshot(api, world)

    by_category = defaultdict(list)
    for failure in failures:
        by_category[failure[0].category].append(failure)
    counts = Counter(case.category for case in cases)
    for category in ("path", "path NUL", "query", "body", "content", "other routes"):
        with subtests.test(msg=f"{category}: {counts[category]} of {len(cases)} cases ({elapsed:.0f} s)"):
            assert counts[category] > 0
            if category == "query" and baseline:
                pytest.fail("base queries refused:\n" + "\n".join(baseline), pytrace=False)
            if by_category[category]:
                pytest.fail(report(by_category[category]), pytrace=False)

    with subtests.test(msg="nothing changed: every GET route answers as before"):
        changed = {key: (before[key], after.get(key)) for key in before
                   if key not in volatile and before[key] != after.get(key)}
        if changed:
            pytest.fail("\n".join(f"{key}:\n  before {b!r:.600}\n  after  {a!r:.600}"
                                   for key, (b, a) in changed.items()), pytrace=False)
