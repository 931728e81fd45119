"""The committed AsyncAPI document is the one the contracts generate."""

import json
from pathlib import Path

from contracts.asyncapi import document


def test_the_committed_asyncapi_document_is_current():
    committed = json.loads((Path(__file__).parent / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(document())), "run `make asyncapi` and commit the result"


def test_every_identity_fact_of_api_md_is_in_the_catalogue():
    channels = document()["channels"]
    for event_type in ("worker.registered", "worker.activated", "worker.suspended",
                       "organisation.created", "site.created"):
        assert f"identity.events/{event_type}/v1" in channels
