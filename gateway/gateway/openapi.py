"""OpenAPI 3 document generated from the route declarations and their schemas."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.http import ROUTES


class ProblemSchema(Schema):
    type = fields.String(metadata={"example": "/problems/validation-error"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "validation-error: field -> messages"})


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def build_spec():
    spec = APISpec(
        title="Staffbank API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "The HTTP contract of API.md, generated from the gateway's routes."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=ProblemSchema)
    problem = {"application/problem+json": {"schema": "Problem"}}
    paths = {}
    for route in ROUTES:
        operation = {
            "operationId": route.name,
            "summary": route.summary.splitlines()[0] if route.summary else route.name,
            "tags": route.tags,
            "responses": {str(route.status): {"description": "Success"}},
            "parameters": [],
        }
        if route.response is not None or route.media_type != "application/json":
            operation["responses"][str(route.status)]["content"] = {
                route.media_type: {"schema": route.response or {"type": "string"}},
                **{other: {"schema": {"type": "string"}} for other in route.also_as},
            }
        for status, text in ((400, "Malformed JSON"), (422, "Validation error")):
            if route.body is not None or route.query is not None:
                operation["responses"][str(status)] = {"description": text, "content": problem}
        if route.roles is not None:
            operation["security"] = [{"bearer": []}]
            operation["responses"]["401"] = {"description": "Not authenticated", "content": problem}
            operation["responses"]["403"] = {"description": "Not allowed", "content": problem}
        else:
            operation["security"] = []
        if "{" in route.path:
            operation["responses"]["404"] = {"description": "Not found", "content": problem}
            for name in _path_params(route.path):
                operation["parameters"].append(
                    {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                )
        if route.query is not None:
            operation["parameters"].append({"in": "query", "schema": route.query})
        if route.body is not None:
            operation["requestBody"] = {
                "required": route.method != "PATCH",
                "content": {"application/json": {"schema": route.body}},
            }
        if route.idempotent:
            operation["parameters"].append({
                "in": "header", "name": "Idempotency-Key", "required": False,
                "schema": {"type": "string", "maxLength": 200},
            })
            operation["responses"]["409"] = {
                "description": "Conflict (also: this Idempotency-Key's first request is still in flight)",
                "content": problem}
        # Any route, while a service, the broker or a database is unreachable (with Retry-After).
        operation["responses"]["503"] = {"description": "Service unavailable; retry later",
                                         "content": problem}
        for status, text in route.responses.items():
            operation["responses"][str(status)] = {"description": text, "content": problem}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _path_params(path):
    import re

    return re.findall(r"\{(\w+)\}", path)
