"""Compliance over real RPC, PostgreSQL and RabbitMQ, with its RPC neighbour identity replaced
by a stand-in that knows the workers each test registers (compliance asks identity about a
worker it has not heard of yet)."""

import uuid
from datetime import timedelta

import pytest
from nameko.amqp.publish import Publisher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies

from chassis.clock import london_date, now
from chassis.errors import Conflict, Invalid, NotFound
from chassis.events import events_exchange
from chassis.testing import poll
from compliance.domain import KINDS
from compliance.service import ComplianceService


@pytest.fixture
def identity_workers():
    """What the identity stand-in answers to get_worker, by worker id."""
    return {}


@pytest.fixture
def compliance_config(service_config):
    return service_config(ComplianceService)


@pytest.fixture
def compliance(container_factory, compliance_config, identity_workers):
    """A running compliance service (identity replaced) and an RPC proxy to it."""
    container = container_factory(ComplianceService, compliance_config)
    identity = replace_dependencies(container, "identity")

    def get_worker(worker_id):
        if worker_id not in identity_workers:
            raise NotFound("no such worker")
        return identity_workers[worker_id]

    identity.get_worker.side_effect = get_worker
    container.start()
    with ServiceRpcProxy("compliance", compliance_config) as proxy:
        yield proxy


@pytest.fixture
def worker(identity_workers):
    """worker(bank_id="b1", **fields) -> a worker as identity's get_worker answers it."""

    def make(bank_id="b1", staff_type="nurse", registration_body="NMC"):
        worker_id = str(uuid.uuid4())
        identity_workers[worker_id] = {
            "id": worker_id, "user_id": str(uuid.uuid4()), "bank_id": bank_id,
            "bank_number": f"W{len(identity_workers) + 1:06d}", "email": f"{worker_id}@example.org",
            "name": "Ada Nurse", "status": "applied", "staff_type": staff_type, "grade": "Band 5",
            "extra_grades": [], "specialty": None, "registration_body": registration_body,
            "registration_number": None, "latitude": 53.48, "longitude": -2.24, "max_travel_km": 50.0,
            "opted_out_of_48h": False, "agency_id": None, "created_at": now().isoformat(),
        }
        return identity_workers[worker_id]

    return make


@pytest.fixture
def today():
    return london_date(now())


def day(today, days):
    return (today + timedelta(days=days)).isoformat()


def submit(compliance, worker, kind, expires_on=None, reference="ref-1", **extra):
    return compliance.submit_document(worker["id"], {"kind": kind, "reference": reference,
                                                     "expires_on": expires_on, **extra}, "actor-1")


def test_verifying_every_required_check_clears_the_worker_once(compliance, worker, today, event_tap):
    tap = event_tap("compliance.events", "compliance.*")
    nurse = worker()
    documents = [submit(compliance, nurse, kind, expires_on=day(today, 20 if kind == "dbs" else 400),
                        reference="12A 3456" if kind == "professional_registration" else "ref-1")
                 for kind in KINDS]
    view = compliance.get_compliance(nurse["id"])
    assert view == {"worker_id": nurse["id"], "status": "pending", "missing": list(KINDS),
                    "expiring": [], "required": list(KINDS)}

    for document in documents:
        verified = compliance.verify_document(document["id"], {"outcome": "verified"}, "admin-1")
        assert verified["status"] == "verified" and verified["verified_by"] == "admin-1"
    with pytest.raises(Conflict):
        compliance.verify_document(documents[0]["id"], {"outcome": "rejected"}, "admin-1")

    assert compliance.get_compliance(nurse["id"]) == {
        "worker_id": nurse["id"], "status": "cleared", "missing": [],
        "expiring": [{"kind": "dbs", "expires_on": day(today, 20)}], "required": list(KINDS)}
    events = tap.messages(timeout=2, count=15)
    types = [e["type"] for e in events]
    assert types.count("compliance.document_submitted") == 7
    assert types.count("compliance.document_verified") == 7
    [cleared] = [e["data"] for e in events if e["type"] == "compliance.cleared"]
    assert cleared == {"worker_id": nurse["id"], "bank_id": "b1", "status": "cleared", "missing": [],
                       "version": 1, "cleared_until": day(today, 20)}


def test_eligibility_names_every_reason(compliance, worker, today):
    nurse = worker()
    compliance.set_requirement({"bank_id": "b1", "staff_type": "nurse", "kinds": ["identity", "dbs"]})
    dbs = submit(compliance, nurse, "dbs", expires_on=day(today, 5))
    compliance.verify_document(dbs["id"], {"outcome": "verified"}, "admin-1")
    identity = submit(compliance, nurse, "identity")

    in_ten_days = compliance.check_eligibility(nurse["id"], "nurse", day(today, 10))
    assert in_ten_days == {"worker_id": nurse["id"], "staff_type": "nurse", "on": day(today, 10),
                           "eligible": False,
                           "reasons": ["identity is not verified", f"dbs has expired by {day(today, 10)}"]}
    as_doctor = compliance.check_eligibility(nurse["id"], "doctor", day(today, 0))
    assert as_doctor["reasons"][0] == "staff type is nurse, not doctor"  # and the doctors' seven checks

    compliance.verify_document(identity["id"], {"outcome": "verified"}, "admin-1")
    assert compliance.check_eligibility(nurse["id"], "nurse", day(today, 0))["eligible"] is True
    with pytest.raises(Invalid):
        compliance.check_eligibility(nurse["id"], "nurse", "not-a-date")


def test_a_registration_number_belongs_to_one_worker_per_bank(compliance, worker):
    first, second, elsewhere = worker("b1"), worker("b1"), worker("b1")
    claimed = submit(compliance, first, "professional_registration", reference="12A 3456")
    assert claimed["registration_body"] == "NMC"  # from the worker's profile
    # Submitting squats nothing: the number is claimed when a registration is verified.
    squatter = submit(compliance, second, "professional_registration", reference="12a-3456")
    compliance.verify_document(claimed["id"], {"outcome": "verified"}, "admin-1")
    with pytest.raises(Conflict):  # compared as letters and digits, ignoring case
        compliance.verify_document(squatter["id"], {"outcome": "verified"}, "admin-1")
    assert compliance.list_documents(second["id"])["items"][0]["status"] == "submitted"  # unchanged
    with pytest.raises(Conflict):  # once it is held, submitting it again is refused at once
        submit(compliance, elsewhere, "professional_registration", reference="12A3456")
    compliance.verify_document(squatter["id"], {"outcome": "rejected", "note": "not his"}, "admin-1")
    other_bank = submit(compliance, worker("b2"), "professional_registration", reference="12A3456")
    compliance.verify_document(other_bank["id"], {"outcome": "verified"}, "admin-1")  # its own register
    other_body = submit(compliance, second, "professional_registration", reference="12A3456",
                        registration_body="GMC")
    compliance.verify_document(other_body["id"], {"outcome": "verified"}, "admin-1")  # another body
    with pytest.raises(Invalid) as no_number:
        submit(compliance, second, "professional_registration", reference="--")
    assert set(no_number.value.errors) == {"reference"}


def test_the_expiry_sweep_warns_once_and_lapses_once(compliance, worker, today, event_tap):
    tap = event_tap("compliance.events", "compliance.*")
    nurse, renewed = worker(), worker()
    compliance.set_requirement({"bank_id": "b1", "staff_type": "nurse", "kinds": ["dbs"]})
    dbs = submit(compliance, nurse, "dbs", expires_on=day(today, 10))
    compliance.verify_document(dbs["id"], {"outcome": "verified"}, "admin-1")
    old, new = (submit(compliance, renewed, "dbs", expires_on=day(today, days)) for days in (10, 400))
    for document in (old, new):  # a renewal that outlives the old one: no warning for that
        compliance.verify_document(document["id"], {"outcome": "verified"}, "admin-1")

    assert compliance.run_expiry_sweep() == {dbs["id"]: 14}
    assert compliance.run_expiry_sweep() == {}
    with pytest.raises(Invalid):
        compliance.run_expiry_sweep(day(today, 11))
    assert compliance.run_expiry_sweep(day(today, 11), True) == {dbs["id"]: 0, old["id"]: 0}
    assert compliance.run_expiry_sweep(day(today, 11), True) == {}

    assert compliance.get_compliance(nurse["id"], day(today, 11))["status"] == "expired"
    assert compliance.get_compliance(renewed["id"], day(today, 11))["status"] == "cleared"
    published = tap.messages(timeout=5, count=13)  # 3 submitted, 3 verified and these 7:
    assert tap.messages(timeout=0.3) == []
    # The renewal moved the renewed worker's cleared horizon: published as cleared again.
    assert [e["data"]["cleared_until"] for e in published
            if e["type"] == "compliance.cleared" and e["data"]["worker_id"] == renewed["id"]] == [
        day(today, 10), day(today, 400)]
    events = {(e["type"], e["data"]["worker_id"]): e["data"] for e in published
              if e["type"] not in ("compliance.document_submitted", "compliance.document_verified")}
    assert sorted(events) == sorted([
        ("compliance.cleared", nurse["id"]), ("compliance.cleared", renewed["id"]),
        ("compliance.document_expiring", nurse["id"]),
        ("compliance.uncleared", nurse["id"]), ("compliance.lapsed", nurse["id"]),
        ("compliance.lapsed", renewed["id"])])
    assert events["compliance.document_expiring", nurse["id"]]["days_before"] == 14
    assert events["compliance.lapsed", nurse["id"]] == {
        "worker_id": nurse["id"], "bank_id": "b1", "document_id": dbs["id"], "kind": "dbs",
        "expires_on": day(today, 10), "status": "expired", "missing": ["dbs"], "version": 2,
        "cleared_until": None}
    assert events["compliance.lapsed", renewed["id"]]["status"] == "cleared"  # covered by the renewal


def test_a_worker_is_learned_from_identitys_event_or_else_from_identity(
    compliance, compliance_config, worker, identity_workers
):
    known = worker()
    with pytest.raises(NotFound):
        compliance.get_compliance("nobody")
    assert compliance.get_compliance(known["id"])["status"] == "pending"  # asked identity

    registered = worker(staff_type="doctor")
    record = identity_workers.pop(registered["id"])  # the stand-in forgets it: only the event tells
    data = {k: v for k, v in record.items() if k not in ("id", "created_at")} | {"worker_id": record["id"]}
    Publisher(compliance_config["AMQP_URI"]).publish(
        {"event_id": str(uuid.uuid4()), "type": "worker.registered", "version": 1,
         "occurred_at": now().isoformat(), "producer": "identity", "correlation_id": None, "data": data},
        exchange=events_exchange("identity"), routing_key="worker.registered")
    poll(lambda: _knows(compliance, registered["id"]), message="the worker learned from the event")
    eligibility = compliance.check_eligibility(registered["id"], "doctor", london_date(now()).isoformat())
    assert "staff type" not in " ".join(eligibility["reasons"])


def _knows(compliance, worker_id):
    try:
        return compliance.get_compliance(worker_id)["worker_id"] == worker_id
    except NotFound:
        return False
