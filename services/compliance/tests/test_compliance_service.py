"""Compliance over real RPC, PostgreSQL and RabbitMQ, with its RPC neighbour identity replaced
by a stand-in that knows the workers each test registers (compliance asks identity about a
worker it has not heard of yet)."""

import uuid
from datetime import timedelta

import pytest
from nameko.amqp.publish import Publisher
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies

from chassis.clock import london_date, now
from chassis.errors import Conflict, Forbidden, Invalid, NotFound
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


NO_GRANTS = {"bank": [], "organisation": [], "site": []}


def admin_of(bank_id):
    """(actor, scope_ids) of a bank_admin granted on the whole bank, as the gateway hands them over."""
    return ({"user_id": f"admin-of-{bank_id}", "capacities": ["admin"], "worker_id": None, "agency_ids": []},
            {**NO_GRANTS, "bank": [bank_id]})


ADMIN_B1 = admin_of("b1")


def as_worker(worker):
    """(actor, scope_ids) of the worker itself."""
    return ({"user_id": worker["user_id"], "capacities": ["worker"], "worker_id": worker["id"],
             "agency_ids": []}, NO_GRANTS)


def submit(compliance, worker, kind, expires_on=None, reference="ref-1", **extra):
    return compliance.submit_document(worker["id"], {"kind": kind, "reference": reference,
                                                     "expires_on": expires_on, **extra}, *as_worker(worker))


def test_verifying_every_required_check_clears_the_worker_once(compliance, worker, today, event_tap):
    tap = event_tap("compliance.events", "compliance.*")
    nurse = worker()
    documents = [submit(compliance, nurse, kind, expires_on=day(today, 20 if kind == "dbs" else 400),
                        reference="12A 3456" if kind == "professional_registration" else "ref-1")
                 for kind in KINDS]
    view = compliance.get_compliance(nurse["id"], *ADMIN_B1)
    assert view == {"worker_id": nurse["id"], "status": "pending", "missing": list(KINDS),
                    "expiring": [], "required": list(KINDS)}

    for document in documents:
        verified = compliance.verify_document(document["id"], {"outcome": "verified"}, *ADMIN_B1)
        assert verified["status"] == "verified" and verified["verified_by"] == "admin-of-b1"
    with pytest.raises(Conflict):
        compliance.verify_document(documents[0]["id"], {"outcome": "rejected"}, *ADMIN_B1)

    assert compliance.get_compliance(nurse["id"], *ADMIN_B1) == {
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
    compliance.set_requirement({"bank_id": "b1", "staff_type": "nurse", "kinds": ["identity", "dbs"]},
                               *ADMIN_B1)
    dbs = submit(compliance, nurse, "dbs", expires_on=day(today, 5))
    compliance.verify_document(dbs["id"], {"outcome": "verified"}, *ADMIN_B1)
    identity = submit(compliance, nurse, "identity")

    in_ten_days = compliance.check_eligibility(nurse["id"], "nurse", day(today, 10))
    assert in_ten_days == {"worker_id": nurse["id"], "staff_type": "nurse", "on": day(today, 10),
                           "eligible": False,
                           "reasons": ["identity is not verified", f"dbs has expired by {day(today, 10)}"]}
    as_doctor = compliance.check_eligibility(nurse["id"], "doctor", day(today, 0))
    assert as_doctor["reasons"][0] == "staff type is nurse, not doctor"  # and the doctors' seven checks

    # many days in one question: the same answer as one day at a time
    days = [day(today, n) for n in (0, 10, 40)]
    assert compliance.check_eligibility_on_days(nurse["id"], "nurse", days) == {
        d: compliance.check_eligibility(nurse["id"], "nurse", d)["reasons"] for d in days}
    with pytest.raises(Invalid):
        compliance.check_eligibility_on_days(nurse["id"], "nurse", [])

    compliance.verify_document(identity["id"], {"outcome": "verified"}, *ADMIN_B1)
    assert compliance.check_eligibility(nurse["id"], "nurse", day(today, 0))["eligible"] is True
    with pytest.raises(Invalid):
        compliance.check_eligibility(nurse["id"], "nurse", "not-a-date")


def test_a_registration_number_belongs_to_one_worker_per_bank(compliance, worker):
    first, second, elsewhere = worker("b1"), worker("b1"), worker("b1")
    claimed = submit(compliance, first, "professional_registration", reference="12A 3456")
    assert claimed["registration_body"] == "NMC"  # from the worker's profile
    # Submitting squats nothing: the number is claimed when a registration is verified.
    squatter = submit(compliance, second, "professional_registration", reference="12a-3456")
    compliance.verify_document(claimed["id"], {"outcome": "verified"}, *ADMIN_B1)
    with pytest.raises(Conflict):  # compared as letters and digits, ignoring case
        compliance.verify_document(squatter["id"], {"outcome": "verified"}, *ADMIN_B1)
    unchanged = compliance.list_documents(second["id"], {}, *ADMIN_B1)["items"][0]
    assert unchanged["status"] == "submitted"
    with pytest.raises(Conflict):  # once it is held, submitting it again is refused at once
        submit(compliance, elsewhere, "professional_registration", reference="12A3456")
    compliance.verify_document(squatter["id"], {"outcome": "rejected", "note": "not his"}, *ADMIN_B1)
    other_bank = submit(compliance, worker("b2"), "professional_registration", reference="12A3456")
    compliance.verify_document(other_bank["id"], {"outcome": "verified"}, *admin_of("b2"))  # its own register
    other_body = submit(compliance, second, "professional_registration", reference="12A3456",
                        registration_body="GMC")
    compliance.verify_document(other_body["id"], {"outcome": "verified"}, *ADMIN_B1)  # another body
    with pytest.raises(Invalid) as no_number:
        submit(compliance, second, "professional_registration", reference="--")
    assert set(no_number.value.errors) == {"reference"}


def test_the_expiry_sweep_warns_once_and_lapses_once(compliance, worker, today, event_tap):
    tap = event_tap("compliance.events", "compliance.*")
    nurse, renewed = worker(), worker()
    compliance.set_requirement({"bank_id": "b1", "staff_type": "nurse", "kinds": ["dbs"]}, *ADMIN_B1)
    dbs = submit(compliance, nurse, "dbs", expires_on=day(today, 10))
    compliance.verify_document(dbs["id"], {"outcome": "verified"}, *ADMIN_B1)
    old, new = (submit(compliance, renewed, "dbs", expires_on=day(today, days)) for days in (10, 400))
    for document in (old, new):  # a renewal that outlives the old one: no warning for that
        compliance.verify_document(document["id"], {"outcome": "verified"}, *ADMIN_B1)

    assert compliance.run_expiry_sweep() == {dbs["id"]: 14}
    assert compliance.run_expiry_sweep() == {}
    with pytest.raises(Invalid):
        compliance.run_expiry_sweep(day(today, 11))
    assert compliance.run_expiry_sweep(day(today, 11), True) == {dbs["id"]: 0, old["id"]: 0}
    assert compliance.run_expiry_sweep(day(today, 11), True) == {}

    assert compliance.get_compliance(nurse["id"], *ADMIN_B1, today=day(today, 11))["status"] == "expired"
    assert compliance.get_compliance(renewed["id"], *ADMIN_B1, today=day(today, 11))["status"] == "cleared"
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
        compliance.get_compliance("nobody", *ADMIN_B1)
    assert compliance.get_compliance(known["id"], *ADMIN_B1)["status"] == "pending"  # asked identity

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
        return compliance.get_compliance(worker_id, *ADMIN_B1)["worker_id"] == worker_id
    except NotFound:
        return False


def test_every_rpc_acting_for_a_caller_checks_the_caller_against_the_workers_bank(compliance, worker, today):
    """DESIGN.md rule 8: the edge is not the only wall. A caller on the broker with no actor or scope, or
    with one whose capacities or grants do not reach the worker's bank (another bank's admin, an admin
    of one organisation or site of the bank, another worker), is refused (403) and changes nothing."""
    nurse, colleague = worker("b1"), worker("b1")
    document = submit(compliance, nurse, "dbs")
    on = day(today, 0)
    calls = {  # name -> (call(actor, scope_ids), whether the worker itself may)
        "submit_document": (lambda a, s: compliance.submit_document(
            nurse["id"], {"kind": "identity", "reference": "P-1"}, a, s), True),
        "list_documents": (lambda a, s: compliance.list_documents(nurse["id"], {}, a, s), True),
        "get_compliance": (lambda a, s: compliance.get_compliance(nurse["id"], a, s), True),
        "verify_document": (lambda a, s: compliance.verify_document(
            document["id"], {"outcome": "verified"}, a, s), False),
        "worker_eligibility": (lambda a, s: compliance.worker_eligibility(nurse["id"], "nurse", on, a, s),
                               False),
        "set_requirement": (lambda a, s: compliance.set_requirement(
            {"bank_id": "b1", "staff_type": "nurse", "kinds": ["dbs"]}, a, s), False),
        "list_requirements": (lambda a, s: compliance.list_requirements("b1", a, s), False),
    }
    admin, b1_grants = ADMIN_B1
    refused = [
        (None, b1_grants),  # no caller
        ({"capacities": ["admin"]}, b1_grants),  # a caller with no user
        (admin, "everything"),  # no scope
        admin_of("b2"),  # another bank's admin
        (admin, {**NO_GRANTS, "organisation": ["o1"], "site": ["s1"]}),  # an admin of one place in b1
        ({**admin, "capacities": []}, b1_grants),  # grants, but no capacity over the worker
        as_worker(colleague),  # another worker
    ]
    for name, (rpc, worker_may) in calls.items():
        for actor, scope_ids in refused + ([] if worker_may else [as_worker(nurse)]):
            with pytest.raises(Forbidden):
                rpc(actor, scope_ids)
                pytest.fail(f"{name} let {actor} with {scope_ids} through")
        with pytest.raises(RemoteError, match="scope_ids"):  # a missing argument is no "everything"
            getattr(compliance, name)(*{
                "submit_document": (nurse["id"], {}, admin), "list_documents": (nurse["id"], {}, admin),
                "get_compliance": (nurse["id"], admin), "verify_document": (document["id"], {}, admin),
                "worker_eligibility": (nurse["id"], "nurse", on, admin), "set_requirement": ({}, admin),
                "list_requirements": ("b1", admin)}[name])
    documents = compliance.list_documents(nurse["id"], {}, *as_worker(nurse))["items"]
    assert [(d["id"], d["status"]) for d in documents] == [(document["id"], "submitted")]  # nothing done
    assert compliance.list_requirements("b1", *ADMIN_B1) == {"items": []}

    # Those it reaches: the worker itself (not verifying its own word), its bank's admin, the platform.
    assert calls["get_compliance"][0](*as_worker(nurse))["status"] == "pending"
    assert calls["verify_document"][0](admin, None)["status"] == "verified"  # None: a platform grant
    assert calls["submit_document"][0](*ADMIN_B1)["kind"] == "identity"
    assert calls["list_requirements"][0](*ADMIN_B1) == {"items": []}
