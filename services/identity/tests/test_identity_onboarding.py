"""Identity applies compliance's facts once each, in whatever order they arrive."""

import uuid
from datetime import UTC, datetime

import pytest
from nameko.amqp.publish import Publisher

from chassis.events import events_exchange
from chassis.testing import poll


def publish(amqp_uri, event_type, data, event_id=None):
    envelope = {"event_id": event_id or str(uuid.uuid4()), "type": event_type, "version": 1,
                "occurred_at": datetime.now(UTC).isoformat(), "producer": "compliance",
                "correlation_id": None, "data": data}
    Publisher(amqp_uri).publish(envelope, exchange=events_exchange("compliance"), routing_key=event_type)
    return envelope


@pytest.fixture
def worker(identity, registration):
    bank = identity.create_bank({"name": "North"})
    return identity.register_worker(registration(bank["id"]))


def fact(worker, status, version):
    return {"worker_id": worker["id"], "bank_id": worker["bank_id"], "status": status,
            "missing": [] if status == "cleared" else ["dbs"], "version": version}


def test_a_redelivered_clearance_activates_once(identity, worker, identity_config, event_tap):
    tap = event_tap("identity.events", "worker.activated")
    cleared = publish(identity_config["AMQP_URI"], "compliance.cleared", fact(worker, "cleared", 1))
    publish(identity_config["AMQP_URI"], "compliance.cleared", cleared["data"], event_id=cleared["event_id"])
    poll(lambda: identity.get_worker(worker["id"])["status"] == "active", message="activated")
    assert len(tap.messages(timeout=1.5)) == 1


def test_an_older_fact_arriving_late_changes_nothing(identity, worker, identity_config, event_tap):
    tap = event_tap("identity.events", "worker.*")
    amqp = identity_config["AMQP_URI"]
    publish(amqp, "compliance.cleared", fact(worker, "cleared", 1))
    poll(lambda: identity.get_worker(worker["id"])["status"] == "active", message="activated")
    publish(amqp, "compliance.uncleared", fact(worker, "expired", 3))  # the newest fact: a lapse
    poll(lambda: identity.get_worker(worker["id"])["status"] == "suspended", message="suspended")
    publish(amqp, "compliance.cleared", fact(worker, "cleared", 2))   # an older one, arriving late
    publish(amqp, "compliance.document_submitted", {
        "worker_id": worker["id"], "bank_id": worker["bank_id"], "document_id": "d", "kind": "dbs",
        "status": "submitted", "expires_on": None})  # late too: a suspended worker is not onboarding
    types = [e["type"] for e in tap.messages(timeout=2)]
    assert types == ["worker.activated", "worker.suspended"]  # and nothing after
    assert identity.get_worker(worker["id"])["status"] == "suspended"


def test_the_first_document_starts_onboarding_and_a_lapse_suspends(identity, worker, identity_config):
    amqp = identity_config["AMQP_URI"]
    publish(amqp, "compliance.document_submitted", {
        "worker_id": worker["id"], "bank_id": worker["bank_id"], "document_id": "d", "kind": "dbs",
        "status": "submitted", "expires_on": None})
    poll(lambda: identity.get_worker(worker["id"])["status"] == "onboarding", message="onboarding")
    publish(amqp, "compliance.cleared", fact(worker, "cleared", 1))
    poll(lambda: identity.get_worker(worker["id"])["status"] == "active", message="active")
    lapsed = {**fact(worker, "expired", 2), "document_id": "d", "kind": "dbs", "expires_on": "2026-01-01"}
    publish(amqp, "compliance.lapsed", lapsed)
    poll(lambda: identity.get_worker(worker["id"])["status"] == "suspended", message="suspended")
