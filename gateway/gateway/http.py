"""The gateway's HTTP machinery on nameko's werkzeug/eventlet web server.

`@route(...)` declares an endpoint with everything the pipeline needs (who may
call it, where it acts, its body, query and response schemas, whether creates
honour `Idempotency-Key`); the same declarations generate the OpenAPI document.
The pipeline runs every request the same way, in API.md's order:

    request id -> authenticate -> role check -> path resource scope -> body/query ids
    -> validation -> idempotency -> handler

and turns every failure into problem+json. Handlers only translate and delegate.

What the gateway decides, per route, is declared there: `roles` (who may call at all),
`scope` (where the request acts: the caller must hold one of `roles` over it) and
`capacities` (name -> roles: in which capacities the caller acts over the path's resource,
handed to the service as a `chassis.auth.Actor`). What depends on the resource's own state
(a worker books only itself, an agency only shifts cascaded to it) is the service's to
decide, in its `access.py`.

What crosses to a service is the validated body and query (`call.body`, `call.query`), keyed
by their JSON names: strings trimmed, decimals as `Decimal` and times as `datetime` (nameko's
JSON serializer, kombu's, carries both as typed values), never the raw JSON. The service loads
them again with the same schema, which accepts its own output, so the edge is not the only wall.
"""

import functools
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import (
    ClientDisconnected,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)
from werkzeug.wrappers import Request, Response

from chassis import metrics, tokens
from chassis.auth import Actor, Principal
from chassis.context import CORRELATION_KEY
from chassis.errors import DomainError
from chassis.rpc import is_database_outage
from chassis.schemas import check_storable
from gateway import access
from gateway.problems import (
    Problem,
    malformed_json,
    not_found,
    problem_response,
    unauthorized,
    validation_error,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
RPC_TIMEOUT_SECONDS = 30
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class LimitedRequest(Request):
    # One byte over the limit, so that read_json_body sees a chunked body that exceeds it: werkzeug
    # stops reading such a body at its max_content_length without a word (a Content-Length over it
    # is refused before reading).
    max_content_length = MAX_BODY_BYTES + 1


def request_id_from(request):
    given = request.headers.get("X-Request-Id", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown paths and methods with problem+json."""

    def __call__(self, environ, start_response):
        if "eventlet.input" in environ:
            # eventlet's input ends where the body ends, chunked or not; said so, werkzeug reads a
            # chunked body (up to MAX_BODY_BYTES, then 413) instead of taking it for an empty one
            environ["wsgi.input_terminated"] = True
        started, route = time.perf_counter(), UNMATCHED
        request = LimitedRequest(environ, shallow=True)
        request.request_id = request_id_from(request)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            rule, values = adapter.match(return_rule=True)
            provider, route = rule.endpoint, route_template(rule.rule)
            request.path_values = values
            response = provider.handle_request(request)
        except MethodNotAllowed as exc:
            response = problem_response(
                Problem(405, "method-not-allowed", "This path does not accept that method."),
                headers={"Allow": ", ".join(exc.valid_methods or [])},
            )
        except NotFound:
            response = problem_response(not_found("No such path."))
        except HTTPException as exc:  # werkzeug's own, e.g. a malformed request line
            response = problem_response(Problem(exc.code or 400, "bad-request", exc.description or ""))
        # Every response carries the request id, whichever route (or none) answered.
        response.headers["X-Request-Id"] = request.request_id
        metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
        return response(environ, start_response)


UNMATCHED = "unmatched"  # the route label of a path no route takes (a bounded label, never the path)


def route_template(rule):
    """A werkzeug rule as OpenAPI writes it: /v1/shifts/<id>/book -> /v1/shifts/{id}/book."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


DEFAULT_SOCKET_TIMEOUT_SECONDS = 20


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        """nameko's server, closing a connection whose client sends nothing (or trickles a request)
        for GATEWAY_SOCKET_TIMEOUT_SECONDS: slow clients must not hold the gateway's workers."""
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.socket_timeout = float(self.container.config.get("GATEWAY_SOCKET_TIMEOUT_SECONDS")
                                      or DEFAULT_SOCKET_TIMEOUT_SECONDS)
        return server

    def context_data_from_headers(self, request):
        return {CORRELATION_KEY: request.request_id}


class Route(HttpRequestHandler):
    server = ProblemWebServer()

    def response_from_exception(self, exc):
        log.error("unhandled error in %s: %r", self.method_name, exc)
        return problem_response(Problem(500, "internal-error", "Something went wrong on our side."))


@dataclass
class RouteSpec:
    method: str
    path: str  # OpenAPI form: /v1/workers/{id}
    name: str = ""
    summary: str = ""
    roles: tuple | str | None = None  # None: no authentication; ANY_ROLE: any token
    body: type | None = None
    query: type | None = None
    response: type | None = None
    status: int = 200
    scope: object = None  # where it acts: a gateway.access ref, or a tuple of them (path and body)
    capacities: dict = field(default_factory=dict)  # name -> roles, over the path's resource
    idempotent: bool = False
    tags: list = field(default_factory=list)
    responses: dict = field(default_factory=dict)  # status -> description, beyond what the pipeline answers
    media_type: str = "application/json"  # of the success response; other types return a werkzeug Response
    also_as: tuple = ()  # other media types the success response may take (reports: "text/csv")

    @property
    def path_params(self):
        return re.findall(r"\{(\w+)\}", self.path)

    @property
    def is_action(self):
        """A POST acting on the resource in its path (`/v1/shifts/{id}/book`): it may refuse (409)."""
        return self.method == "POST" and bool(self.path_params) and not self.path.endswith("}")

    @functools.cached_property
    def body_required(self):
        """Whether an empty body is refused (422): always, except for PATCH and for a POST whose fields
        are all optional (API.md: such an action accepts an empty body with no Content-Type)."""
        if self.body is None or self.method == "PATCH":
            return False
        return self.method != "POST" or any(f.required for f in self.body().fields.values())


ROUTES: list[RouteSpec] = []
ANY_ROLE = "any authenticated caller"  # `roles=ANY_ROLE`: a token is needed, no particular role


@dataclass
class Call:
    """What a handler gets: who calls, with what, where."""

    principal: Principal | None
    body: dict  # validated, keyed by JSON names (see the module docstring)
    query: dict
    path: dict
    request: Request
    request_id: str
    scopes: list = field(default_factory=list)
    actor: Actor | None = None

    @property
    def actor_dict(self):
        return self.actor.to_dict()

    def scope_ids(self, roles):
        """For list filters: None if the caller's grants are unrestricted, else sorted ids per level."""
        ids = self.principal.scope_ids(roles)
        return None if ids is None else {kind: sorted(values) for kind, values in ids.items()}


def route(method, path, *, roles=None, body=None, query=None, response=None, status=200,
          scope=None, capacities=None, idempotent=False, tags=(), responses=None,
          media_type="application/json", also_as=()):
    werkzeug_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

    def decorator(fn):
        spec = RouteSpec(
            method=method, path=path, name=fn.__name__, summary=(fn.__doc__ or "").strip(),
            roles=roles if roles in (None, ANY_ROLE) else tuple(roles), body=body, query=query,
            response=response, status=status, scope=scope, capacities=dict(capacities or {}),
            idempotent=idempotent, tags=list(tags), responses=dict(responses or {}), media_type=media_type,
            also_as=tuple(also_as),
        )
        ROUTES.append(spec)

        @functools.wraps(fn)
        def endpoint(self, request, **path_values):
            return run_pipeline(self, spec, fn, request, path_values)

        return Route.decorator(method, werkzeug_path)(endpoint)

    return decorator


# --- the pipeline --------------------------------------------------------------------

def authenticate(service, request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        user_id = tokens.verify(tokens.signing_key(service.config), token.strip())
    except tokens.InvalidToken as exc:
        raise unauthorized("The token is invalid or expired.") from exc
    principal = service.principal_of(user_id)
    if principal is None:
        raise unauthorized("The token's account no longer exists or has been deactivated.")
    return Principal.from_dict(principal)


def read_json_body(request):
    """The body as JSON; {} when there is none (empty or blank: `has_body` tells)."""
    too_large = Problem(413, "payload-too-large", f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:
        raise too_large from exc
    except ClientDisconnected as exc:  # it stopped sending (GATEWAY_SOCKET_TIMEOUT_SECONDS) or went away
        raise Problem(408, "request-timeout", "The request's body did not arrive in time.") from exc
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    if not raw.strip():
        return {}
    try:
        # JSON is UTF-8 (API.md; RFC 8259), not whatever json.loads would guess from the bytes
        # (UTF-16, or surrogates encoded in UTF-8); a BOM is tolerated. NaN and Infinity are not JSON.
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed_json(f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise malformed_json("The body nests too deeply.") from exc


def _not_json(constant):
    raise ValueError(f"{constant} is not a JSON value")


def has_body(request):
    return bool(request.get_data(cache=True).strip())


def load(schema_cls, data, partial=False):
    """Validate, and key the result by JSON names again (`from`, not `from_`) so that it can be
    forwarded and loaded once more by the service with the same schema."""
    schema = schema_cls()
    try:
        loaded = schema.load(data, partial=partial)
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise validation_error(errors) from exc
    return {(schema.fields[name].data_key or name) if name in schema.fields else name: value
            for name, value in loaded.items()}


def query_dict(request, schema_cls):
    args = request.args
    fields_ = schema_cls().fields
    data = {}
    for key in args:
        values = args.getlist(key)
        field_ = fields_.get(key)
        data[key] = values if field_ is not None and field_.__class__.__name__ == "List" else values[-1]
    return data


def refuse_unstorable(values, problem):
    """API.md: a string holding U+0000 or an unpaired surrogate in a path id or the query is refused
    whatever type the route's schema gives it, never handed on to a database."""
    for key, value in values.items():
        for text in (key, *(value if isinstance(value, list) else [value])):
            try:
                check_storable(text)
            except ValidationError as exc:
                raise problem(key, exc.messages) from exc


def domain_problem(exc):
    extra = {k: v for k, v in exc.extra.items() if k not in ("errors",)}
    if exc.status == 422:
        return validation_error(exc.extra.get("errors", {}), exc.detail or "Invalid request.")
    return Problem(exc.status, exc.extra.get("problem") or exc.problem, exc.detail, **extra)


def run_pipeline(service, spec, handler, request, path_values):
    started = time.monotonic()
    response = _run_pipeline(service, spec, handler, request, path_values)
    log.info(
        "%s %s -> %s", request.method, request.path, response.status_code,
        extra={"route": spec.name, "status": response.status_code,
               "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return response


def _run_pipeline(service, spec, handler, request, path_values):
    request_id = request.request_id
    idempotency = None
    outcome_unknown = False
    try:
        with eventlet.Timeout(service.config.get("RPC_TIMEOUT_SECONDS", RPC_TIMEOUT_SECONDS)):
            principal = authenticate(service, request) if spec.roles is not None else None
            if principal is not None and spec.roles != ANY_ROLE:
                access.authorise(principal, spec.roles, None, None, None)  # role check alone
            resolve = service.resolve_scope
            roles = () if spec.roles in (None, ANY_ROLE) else spec.roles
            path_refs, other_refs = access.split_refs(spec.scope)
            # a path id no database can hold is refused (API.md: 422), and never reaches a service
            refuse_unstorable(path_values, lambda key, messages: validation_error({key: messages}))
            scopes = []
            for ref in path_refs:  # the path's resource, before the body
                scopes += access.authorise(principal, roles, ref,
                                           Call(principal, {}, {}, path_values, request, request_id), resolve)
            raw_query = query_dict(request, spec.query) if spec.query else {}
            raw_body = read_json_body(request) if spec.body is not None else {}
            if spec.body is not None and not isinstance(raw_body, dict):
                raise validation_error({"_schema": ["The body must be a JSON object."]})
            for ref in other_refs:
                # ids in the body or query are checked as sent, before the rest is validated:
                # an out-of-scope id is 403 whatever else is wrong with the request
                scopes += access.authorise(principal, roles, ref,
                                           Call(principal, raw_body, raw_query, path_values, request,
                                                request_id), resolve)
            refuse_unstorable(raw_query, lambda key, messages: validation_error({key: messages}))
            query = load(spec.query, raw_query) if spec.query else {}
            body = load(spec.body, raw_body, partial=spec.method == "PATCH") if spec.body else {}
            if spec.body_required and not has_body(request):  # (`load` has named any required field)
                raise validation_error({"_schema": ["A JSON object body is required."]},
                                       "This request needs a body.")
            actor = None
            if principal is not None:
                actor = Actor.of(principal, spec.capacities, scopes[0] if path_refs else None)
            call = Call(principal, body, query, path_values, request, request_id, scopes, actor)
            key = request.headers.get("Idempotency-Key") if spec.idempotent else None
            if key:
                idempotency = service.idempotency.claim(
                    key, principal.user_id if principal else None, spec, path_values, body
                )
                if idempotency.replay is not None:
                    status, payload = idempotency.replay
                    return json_response(payload, status, request_id, {"Idempotent-Replayed": "true"})
                # The service commits its effects with its result under this key, so a retry
                # after a lost answer returns the first result instead of acting twice.
                service.context_data.update(idempotency.context())  # the key, bound to this body
            outcome_unknown = True
            result = handler(service, call)
            outcome_unknown = False
            if isinstance(result, Response):  # not JSON (e.g. a CSV export): answered as it is
                return result
            status = spec.status
            if isinstance(result, tuple):
                status, result = result
            payload = result  # services dump with the same schemas `spec.response` documents
            if idempotency is not None:
                idempotency.complete(status, payload)
            return json_response(payload, status, request_id)
    except Problem as problem:
        failure = problem
    except DomainError as exc:
        outcome_unknown = False
        failure = domain_problem(exc)
    except (eventlet.Timeout, UnknownService, BrokerError, ConnectionError) as exc:
        log.error("%s: a service did not answer (%s)", spec.name, type(exc).__name__)
        failure = Problem(503, "service-unavailable", "A service did not answer in time; retry later.")
    except StatementError as exc:
        if not is_database_outage(exc):
            raise
        log.error("%s: the gateway's database is unreachable (%s)", spec.name, type(exc).__name__)
        failure = Problem(503, "service-unavailable", "The platform's database is unreachable; retry later.")
    except RemoteError as exc:
        log.error("%s: remote error %s", spec.name, exc)
        failure = Problem(500, "internal-error", "Something went wrong on our side.")
    if idempotency is not None and not outcome_unknown:
        try:
            idempotency.release()  # nothing happened: the key may be used again at once
        except StatementError as exc:
            if not is_database_outage(exc):
                raise
            log.warning("%s: could not release an Idempotency-Key; it frees itself when stale", spec.name)
    # Otherwise the claim stays until it goes stale; the retry then reaches the service,
    # which answers with what it did the first time, if it did anything.
    headers = {"Retry-After": "60"} if failure.status in (429, 503) else None
    return problem_response(failure, request_id, headers)


def json_response(payload, status, request_id, headers=None):
    response = Response(json.dumps(payload, default=str), status=status, content_type="application/json")
    response.headers["X-Request-Id"] = request_id
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
