"""API.md "Compliance" end to end: a worker uploads the seven documents, an admin
verifies them, the worker becomes active; a lapse suspends it, a renewal reactivates it."""

from datetime import date, timedelta

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from compliance.domain import KINDS

TODAY = date.today()


def _poll_status(api, worker_id, token, status, timeout=10):
    deadline = eventlet.Timeout(timeout, AssertionError(f"worker never became {status}"))
    try:
        while True:
            current = api.get(f"/v1/workers/{worker_id}", token=token).json()["status"]
            if current == status:
                return current
            eventlet.sleep(0.05)
    finally:
        deadline.cancel()


def _problem(response, status, name):
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{name}"
    return response.json()


@pytest.fixture
def onboarding(api, make_bank, worker_payload):
    north = make_bank("North")
    worker = api.created("/v1/workers", worker_payload(north["bank"]["id"]))
    token = api.token("ada@example.org", "worker-password-1")
    return {**north, "worker": worker, "worker_token": token}


def _upload_all(api, ctx, expires_on):
    documents = {}
    for kind in KINDS:
        body = {"kind": kind, "reference": f"{kind}-ref",
                "issued_on": (TODAY - timedelta(days=30)).isoformat(), "expires_on": expires_on.isoformat()}
        documents[kind] = api.created(f"/v1/workers/{ctx['worker']['id']}/documents", body,
                                      token=ctx["worker_token"])
    return documents


def _verify_all(api, ctx, documents):
    for document in documents.values():
        response = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                            token=ctx["bank_admin"])
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "verified" and response.json()["verified_by"]


def test_onboarding_lapse_and_renewal(platform, api, onboarding, event_tap):
    tap = event_tap("identity.events", "worker.*")
    ctx, worker_id = onboarding, onboarding["worker"]["id"]
    expiry = TODAY + timedelta(days=60)
    documents = _upload_all(api, ctx, expiry)
    assert documents["dbs"]["status"] == "submitted"
    _poll_status(api, worker_id, ctx["worker_token"], "onboarding")

    view = api.get(f"/v1/workers/{worker_id}/compliance", token=ctx["worker_token"]).json()
    assert view["status"] == "pending" and view["missing"] == list(KINDS)

    _verify_all(api, ctx, documents)
    _poll_status(api, worker_id, ctx["worker_token"], "active")
    view = api.get(f"/v1/workers/{worker_id}/compliance", token=ctx["bank_admin"]).json()
    assert view == {**view, "status": "cleared", "missing": [], "expiring": []}

    # The clock moves past the expiry: the sweep lapses every document and suspends the worker.
    with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
        swept = compliance.run_expiry_sweep((expiry + timedelta(days=1)).isoformat(), True)
    assert sorted(swept.values()) == [0] * len(KINDS)
    _poll_status(api, worker_id, ctx["worker_token"], "suspended")
    view = api.get(f"/v1/workers/{worker_id}/compliance", token=ctx["worker_token"]).json()
    assert view["status"] == "expired" and view["missing"] == list(KINDS)

    # Renewal: new documents (the old ones stay in the history), verified: active again.
    renewed = _upload_all(api, ctx, TODAY + timedelta(days=400))
    _verify_all(api, ctx, renewed)
    _poll_status(api, worker_id, ctx["worker_token"], "active")
    history = api.get(f"/v1/workers/{worker_id}/documents?limit=500", token=ctx["worker_token"]).json()
    assert len(history["items"]) == 2 * len(KINDS)
    assert {d["status"] for d in history["items"]} == {"expired", "verified"}

    changes = [e["type"] for e in tap.messages(timeout=2)]
    assert changes == ["worker.onboarding", "worker.activated", "worker.suspended", "worker.activated"]


def test_expiry_warnings_are_sent_once_each_at_30_14_and_1_days(platform, api, onboarding, event_tap):
    tap = event_tap("compliance.events", "compliance.document_expiring")
    ctx = onboarding
    expiry = TODAY + timedelta(days=100)
    dbs = api.created(f"/v1/workers/{ctx['worker']['id']}/documents",
                      {"kind": "dbs", "reference": "D1", "expires_on": expiry.isoformat()},
                      token=ctx["worker_token"])
    api.post(f"/v1/documents/{dbs['id']}/verify", {"outcome": "verified"}, token=ctx["bank_admin"])

    with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
        for days_before in (31, 30, 30, 20, 14, 14, 2, 1, 1):
            compliance.run_expiry_sweep((expiry - timedelta(days=days_before)).isoformat(), True)
    warnings = tap.messages(timeout=2)
    assert [(w["data"]["document_id"], w["data"]["days_before"]) for w in warnings] == [
        (dbs["id"], 30), (dbs["id"], 14), (dbs["id"], 1)]


def test_the_sweep_has_one_effect_with_two_replicas_sweeping_at_once(
    platform, api, onboarding, event_tap, container_factory
):
    from compliance.service import ComplianceService

    container_factory(ComplianceService, platform.configs["compliance"]).start()  # a second replica
    tap = event_tap("compliance.events", "compliance.*")
    ctx = onboarding
    expiry = TODAY + timedelta(days=20)
    documents = _upload_all(api, ctx, expiry)
    _verify_all(api, ctx, documents)
    _poll_status(api, ctx["worker"]["id"], ctx["worker_token"], "active")
    tap.messages(timeout=1)  # what onboarding published

    def sweep(day):
        with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
            return compliance.run_expiry_sweep(day.isoformat(), True)

    pool = eventlet.GreenPool(8)
    list(pool.imap(sweep, [TODAY] * 6))  # six sweeps at once, spread over both replicas
    list(pool.imap(sweep, [expiry + timedelta(days=1)] * 6))  # and again after the expiry
    published = tap.messages(timeout=2)
    warned = [e["data"]["document_id"] for e in published if e["type"] == "compliance.document_expiring"]
    assert sorted(warned) == sorted(d["id"] for d in documents.values())  # one 30-day notice each
    lapsed = [e["data"]["document_id"] for e in published if e["type"] == "compliance.lapsed"]
    assert sorted(lapsed) == sorted(d["id"] for d in documents.values())  # once per document
    assert [e["type"] for e in published if e["type"] == "compliance.uncleared"] == ["compliance.uncleared"]
    _poll_status(api, ctx["worker"]["id"], ctx["worker_token"], "suspended")


def test_bad_documents_change_nothing(api, onboarding, make_bank, worker_payload):
    ctx = onboarding
    path = f"/v1/workers/{ctx['worker']['id']}/documents"
    token = ctx["worker_token"]
    _problem(api.post(path, {"kind": "tattoo", "reference": "x"}, token=token), 422, "validation-error")
    _problem(api.post(path, {"kind": "dbs", "reference": "x", "issued_on": TODAY.isoformat(),
                             "expires_on": (TODAY - timedelta(days=1)).isoformat()}, token=token),
             422, "validation-error")
    _problem(api.post(path, {"kind": "dbs", "reference": "x", "expires_on": "2020-01-01"}, token=token),
             422, "validation-error")
    _problem(api.post(path, {"kind": "dbs", "reference": "x", "expires_on": "soon"}, token=token),
             422, "validation-error")

    document = api.created(path, {"kind": "dbs", "reference": "D1"}, token=token)
    rejected = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "rejected", "note": "blurred"},
                        token=ctx["bank_admin"])
    assert rejected.json()["status"] == "rejected" and rejected.json()["note"] == "blurred"
    _problem(api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                      token=ctx["bank_admin"]), 409, "conflict")
    _problem(api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "maybe"},
                      token=ctx["bank_admin"]), 422, "validation-error")
    _problem(api.post("/v1/documents/nope/verify", {"outcome": "verified"}, token=ctx["bank_admin"]),
             404, "not-found")
    # A worker may not verify its own documents.
    _problem(api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"}, token=token),
             403, "forbidden")

    south = make_bank("South")
    _problem(api.post(path, {"kind": "dbs", "reference": "x"}, token=south["bank_admin"]), 404, "not-found")
    _problem(api.get(f"/v1/workers/{ctx['worker']['id']}/compliance", token=south["bank_admin"]),
             404, "not-found")
    _problem(api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                      token=south["bank_admin"]), 404, "not-found")
    _problem(api.get(f"/v1/workers/{ctx['worker']['id']}/compliance", token=ctx["coordinator"]),
             403, "forbidden")

    history = api.get(f"/v1/workers/{ctx['worker']['id']}/documents", token=token).json()["items"]
    assert [(d["kind"], d["status"]) for d in history] == [("dbs", "rejected")]


def test_a_registration_number_belongs_to_one_worker_per_bank(api, onboarding, worker_payload, make_bank):
    ctx = onboarding
    other = api.created("/v1/workers", worker_payload(ctx["bank"]["id"], email="bob@example.org"))
    other_token = api.token("bob@example.org", "worker-password-1")
    registration = {"kind": "professional_registration", "reference": "7654321", "registration_body": "GMC"}
    mine = api.created(f"/v1/workers/{ctx['worker']['id']}/documents", registration,
                       token=ctx["worker_token"])
    # Submitting another's number squats nothing: it is claimed when a registration is verified.
    squat = api.created(f"/v1/workers/{other['id']}/documents", registration, token=other_token)

    def verify(document):
        return api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                        token=ctx["bank_admin"])

    assert verify(mine).status_code == 200
    _problem(verify(squat), 409, "conflict")
    _problem(api.post(f"/v1/workers/{other['id']}/documents", registration, token=other_token),
             409, "conflict")  # held now: refused at submission
    [left] = api.get(f"/v1/workers/{other['id']}/documents", token=other_token).json()["items"]
    assert left["status"] == "submitted"
    api.created(f"/v1/workers/{ctx['worker']['id']}/documents", registration, token=ctx["worker_token"])
    # Another bank has its own register.
    south = make_bank("South")
    stranger = api.created("/v1/workers", worker_payload(south["bank"]["id"], email="cy@example.org"))
    api.created(f"/v1/workers/{stranger['id']}/documents", registration,
                token=api.token("cy@example.org", "worker-password-1"))


def test_a_bank_configures_which_checks_a_staff_type_needs(api, onboarding):
    ctx = onboarding
    requirement = api.put("/v1/compliance-requirements", {
        "bank_id": ctx["bank"]["id"], "staff_type": "doctor", "kinds": ["dbs", "identity", "dbs"]},
        token=ctx["bank_admin"])
    assert requirement.status_code == 200, requirement.text
    assert requirement.json()["kinds"] == ["identity", "dbs"]
    for kind in ("identity", "dbs"):
        document = api.created(f"/v1/workers/{ctx['worker']['id']}/documents",
                               {"kind": kind, "reference": kind}, token=ctx["worker_token"])
        api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"}, token=ctx["bank_admin"])
    _poll_status(api, ctx["worker"]["id"], ctx["worker_token"], "active")
    eligible = api.get(f"/v1/workers/{ctx['worker']['id']}/eligibility?staff_type=doctor&on={TODAY}",
                       token=ctx["bank_admin"]).json()
    assert eligible["eligible"] is True and eligible["reasons"] == []
    nurse = api.get(f"/v1/workers/{ctx['worker']['id']}/eligibility?staff_type=nurse&on={TODAY}",
                    token=ctx["bank_admin"]).json()
    assert nurse["eligible"] is False and nurse["reasons"][0] == "staff type is doctor, not nurse"
    # Adding a requirement the worker does not meet suspends it.
    stricter = {"bank_id": ctx["bank"]["id"], "staff_type": "doctor",
                "kinds": ["identity", "dbs", "references"]}
    api.put("/v1/compliance-requirements", stricter, token=ctx["bank_admin"])
    _poll_status(api, ctx["worker"]["id"], ctx["worker_token"], "suspended")
    listed = api.get(f"/v1/compliance-requirements?bank_id={ctx['bank']['id']}", token=ctx["bank_admin"])
    assert listed.json()["items"] == [{"bank_id": ctx["bank"]["id"], "staff_type": "doctor",
                                       "kinds": ["identity", "dbs", "references"]}]


def test_spelling_does_not_dodge_the_register_and_a_rejected_registration_holds_nothing(
    api, onboarding, worker_payload
):
    ctx = onboarding
    other = api.created("/v1/workers", worker_payload(ctx["bank"]["id"], email="bob@example.org",
                                                      registration_body="gmc"))
    other_token = api.token("bob@example.org", "worker-password-1")

    def submit(worker_id, reference, token, **extra):
        return api.post(f"/v1/workers/{worker_id}/documents",
                        {"kind": "professional_registration", "reference": reference, **extra}, token=token)

    def verify(document, outcome="verified"):
        return api.post(f"/v1/documents/{document['id']}/verify", {"outcome": outcome, "note": "checked"},
                        token=ctx["bank_admin"])

    mine = submit(ctx["worker"]["id"], "222 2222", ctx["worker_token"], registration_body="GMC").json()
    assert verify(mine).status_code == 200
    # The same number spelt differently, the body taken from bob's profile in lower case: refused.
    _problem(submit(other["id"], "2222222", other_token), 409, "conflict")
    mistaken = submit(ctx["worker"]["id"], "333 3333", ctx["worker_token"], registration_body="GMC").json()
    assert verify(mistaken, "rejected").status_code == 200
    owned = submit(other["id"], "3333333", other_token)
    assert owned.status_code == 201 and owned.json()["registration_body"] == "GMC"
    assert verify(owned.json()).status_code == 200


def test_a_requirement_lists_at_least_one_kind_and_the_sweep_refuses_the_future(platform, api, onboarding):
    ctx = onboarding
    _problem(api.put("/v1/compliance-requirements", {"bank_id": ctx["bank"]["id"], "staff_type": "doctor",
                                                     "kinds": []}, token=ctx["bank_admin"]),
             422, "validation-error")
    from chassis.errors import Invalid

    with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
        with pytest.raises(Invalid):
            compliance.run_expiry_sweep((TODAY + timedelta(days=1)).isoformat())
