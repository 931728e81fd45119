"""Print the AsyncAPI 2.6 document of every event contract (`make asyncapi`)."""

import inspect
import json
import sys

from apispec.ext.marshmallow.openapi import OpenAPIConverter

from contracts import CATALOGUE

ENVELOPE = {
    "type": "object",
    "required": ["event_id", "type", "version", "occurred_at", "producer", "correlation_id", "data"],
    "properties": {
        "event_id": {"type": "string", "format": "uuid"},
        "type": {"type": "string"},
        "version": {"type": "integer"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "producer": {"type": "string"},
        "correlation_id": {"type": ["string", "null"]},
    },
}


def json_schema(node):
    """OpenAPI 3.0's `nullable: true` (what apispec writes for allow_none) as JSON Schema says it:
    `type: [<type>, "null"]`, or `oneOf` with `{"type": "null"}` where there is no type. AsyncAPI
    payloads are JSON Schema, where `nullable` means nothing."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        kind = node.get("type")
        if kind is None:
            return {"oneOf": [node, {"type": "null"}]}
        node["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    return node


def _described(schema):
    """The contract's own docstring, for outside readers (only where the contract has one)."""
    doc = schema.__dict__.get("__doc__")
    return {"description": inspect.cleandoc(doc)} if doc else {}


def document():
    converter = OpenAPIConverter(openapi_version="3.0.3", schema_name_resolver=lambda s: None, spec=None)
    channels = {}
    for (event_type, version), (producer, schema) in sorted(CATALOGUE.items()):
        payload = json.loads(json.dumps(ENVELOPE))
        payload["properties"]["type"]["const"] = event_type
        payload["properties"]["version"]["const"] = version
        payload["properties"]["data"] = json_schema(converter.schema2jsonschema(schema))
        channels[f"{producer}.events/{event_type}/v{version}"] = {
            "description": f"Exchange `{producer}.events` (topic), routing key `{event_type}`.",
            "subscribe": {"message": {"name": event_type, "payload": payload,
                                      **_described(schema)}},
        }
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Staffbank events", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "channels": channels,
    }


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
