"""OpenAPI 3 document generated from the route declarations and their schemas.

Every status an operation can answer is derived from what its route declares (`statuses`): the
pipeline's own answers (401/403 with roles, 400/413/422 with a body, 422 with a query, 404 with
a path id, 409 for actions and idempotent creates, 503 everywhere) plus the route's `responses=`
(what only its service answers, such as 429 on a throttled login)."""

import inspect
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields
from marshmallow.validate import Range

from chassis.schemas import MAX_AMOUNT, Money
from gateway.access import BodyRef, PathRef, QueryRef, split_refs
from gateway.http import MAX_BODY_BYTES, ROUTES

# API.md "Conventions": money and hours are decimal strings with 2 places, and so they are answered.
DECIMAL_STRING = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "7.50"}
# What chassis.schemas.Money accepts as a string: more than 0, at most 10000, at most 2 decimal places,
# leading zeros allowed ("85.50", "85.5", "085"); no sign, exponent or surrounding space.
MONEY_PATTERN = r"^(0*[1-9][0-9]{0,3}(\.[0-9]{1,2})?|0+\.(0[1-9]|[1-9][0-9]?)|0*10000(\.00?)?)$"
assert MAX_AMOUNT == 10000, "MONEY_PATTERN spells out the upper bound"
MONEY_TEXT = 'A decimal string with at most 2 places ("85.50"; always answered so), or a JSON number'


class ProblemSchema(Schema):
    """RFC 9457 problem details; a problem type may add members (`errors`, `rules`, ...)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"example": "/problems/validation-error"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "validation-error: field -> messages"})


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def numeric_bounds(self, field, ret):
    """Range validators as JSON numbers, with their exclusivity (apispec drops it, and keeps a
    Decimal bound as a string): `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`."""
    if ret.get("type") not in ("number", "integer"):
        return {}
    for key in ("minimum", "maximum"):
        ret.pop(key, None)
    bounds = {}
    for validator in field.validators:
        if not isinstance(validator, Range):
            continue
        for value, inclusive, name in ((validator.min, validator.min_inclusive, "minimum"),
                                       (validator.max, validator.max_inclusive, "maximum")):
            if value is not None:
                bounds[name] = int(value) if value == int(value) else float(value)
                if not inclusive:
                    bounds["exclusive" + name.capitalize()] = True
    return bounds


def decimal_properties(self, field, ret):
    """Decimals as API.md writes them: a string with 2 places; Money also as the JSON number it accepts."""
    if not isinstance(field, fields.Decimal):
        return {}
    number = {key: ret.pop(key) for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
              if key in ret}
    ret.pop("type", None)
    if isinstance(field, Money):
        return {"anyOf": [{"type": "string", "pattern": MONEY_PATTERN},
                          {"type": "number", "multipleOf": 0.01, **number}],
                "description": ret.get("description", MONEY_TEXT), "example": "85.50"}
    return dict(DECIMAL_STRING) if field.as_string else {"type": "number", **number}


def statuses(route):
    """status -> description of every failure this route can answer (see the module docstring)."""
    answered = {}
    if route.body is not None:
        answered[400] = "Malformed JSON"
        answered[413] = f"Payload too large (over {MAX_BODY_BYTES} bytes)"
        answered[408] = "Request timeout: the body did not arrive in time"
    if route.body is not None or route.query is not None or route.idempotent or route.path_params:
        answered[422] = "Validation error"  # (a path id holding U+0000 or a lone surrogate, too)
    if route.roles is not None:
        answered[401] = "Not authenticated"
        answered[403] = "Not allowed"
    if route.path_params:
        answered[404] = "Not found"
    if route.is_action:
        answered[409] = "Conflict: the resource's state does not allow this"
    if route.idempotent:
        answered[409] = "Conflict (also: this Idempotency-Key's first request is still in flight)"
    # Any route, while a service, the broker or a database is unreachable (API.md "Availability").
    answered[503] = "Service unavailable; retry later"
    answered.update(route.responses)
    return answered


def _kind(schema):
    """The kind of resource a schema describes, as routes name it in their scope: PayRun -> pay_run."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", _schema_name(schema)).lower()


def _link_target(ref, link):
    """Add to `link` where `ref` takes the created id: the path, the query, or (merged into the
    generated body) the body."""
    created = "$response.body#/id"
    if isinstance(ref, BodyRef) and not isinstance(ref, QueryRef):
        link.setdefault("requestBody", {})[ref.name] = created
    else:
        place = "path" if isinstance(ref, PathRef) else "query"
        link.setdefault("parameters", {})[f"{place}.{ref.name}"] = created


def links(route):
    """From a create, a link to every operation that takes the created id in its path, query or body,
    as its scope declares it (`PathRef("id", "shift")`): schemathesis' stateful phase follows them."""
    if route.status != 201 or route.response is None:
        return {}
    kind = _kind(route.response)
    found = {}
    for other in ROUTES:
        for ref in sum(split_refs(other.scope), []):
            if isinstance(ref, (PathRef, BodyRef)) and ref.kind == kind:
                _link_target(ref, found.setdefault(other.name, {"operationId": other.name}))
    return found


def _retry_after():
    return {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}}


def _response_schema(response):
    """A route's `response`: one schema, or a tuple of the variants it answers with, depending on
    who asks (`anyOf`: a worker's whole profile or its public part, the one a subset of the other)."""
    if response is None:
        return {"type": "string"}
    if isinstance(response, tuple):
        return {"anyOf": list(response)}
    return response


def _operation(route, problem):
    operation = {
        "operationId": route.name,
        "summary": route.summary.splitlines()[0] if route.summary else route.name,
        "tags": route.tags,
        "responses": {str(route.status): {"description": "Success"}},
        "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                       for name in route.path_params],
        "security": [{"bearer": []}] if route.roles is not None else [],
    }
    if "\n" in route.summary:  # the whole docstring, where it says more than its first line
        operation["description"] = inspect.cleandoc(route.summary)
    if route.response is not None or route.media_type != "application/json":
        operation["responses"][str(route.status)]["content"] = {
            route.media_type: {"schema": _response_schema(route.response)},
            **{other: {"schema": {"type": "string"}} for other in route.also_as},
        }
    if links(route):
        operation["responses"][str(route.status)]["links"] = links(route)
    for status, text in sorted(statuses(route).items()):
        operation["responses"][str(status)] = {"description": text, "content": problem}
        if status in (429, 503):
            operation["responses"][str(status)]["headers"] = _retry_after()
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.body is not None:
        operation["requestBody"] = {"required": route.body_required,
                                    "content": {"application/json": {"schema": route.body}}}
    if route.idempotent:
        operation["parameters"].append({
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "maxLength": 200},
        })
    return operation


def build_spec():
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Staffbank API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "The HTTP contract of API.md, generated from the gateway's routes."},
    )
    plugin.converter.add_attribute_function(numeric_bounds)
    plugin.converter.add_attribute_function(decimal_properties)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=ProblemSchema)
    problem = {"application/problem+json": {"schema": "Problem"}}
    paths = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, problem)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()
