"""Print the AsyncAPI 2.6 document of every event contract (`make asyncapi`)."""

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


def document():
    converter = OpenAPIConverter(openapi_version="3.0.3", schema_name_resolver=lambda s: None, spec=None)
    channels = {}
    for (event_type, version), (producer, schema) in sorted(CATALOGUE.items()):
        payload = json.loads(json.dumps(ENVELOPE))
        payload["properties"]["type"]["const"] = event_type
        payload["properties"]["version"]["const"] = version
        payload["properties"]["data"] = converter.schema2jsonschema(schema)
        channels[f"{producer}.events/{event_type}/v{version}"] = {
            "description": f"Exchange `{producer}.events` (topic), routing key `{event_type}`.",
            "subscribe": {"message": {"name": event_type, "payload": payload}},
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
