"""API.md "Roles and scope": a worker's documents, compliance and full profile (email, home
location) are reached through grants on its bank or the platform, never through a grant on one
organisation or site; staff at a site see the public part of the workers who applied to or are
booked on their shifts; a coordinator at a site still books any worker of the bank. Behind the
gateway, compliance checks the caller again itself (DESIGN.md rule 8)."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis.errors import Forbidden
from tests.test_e2e_pay import staff
from tests.test_e2e_security import _problem
from tests.test_e2e_shifts import next_weekday, shift_body


def _narrow_staff(api, admin, ctx):
    """Tokens of staff granted on one site or organisation of the bank, not on the bank."""
    site, org = ctx["site"]["id"], ctx["organisation"]["id"]
    return {
        "site bank_admin": staff(api, admin, "site-admin@example.org", "bank_admin", "site", site),
        "organisation bank_admin": staff(api, admin, "org-admin@example.org", "bank_admin", "organisation",
                                         org),
        "site leadership": staff(api, admin, "site-leader@example.org", "leadership", "site", site),
    }


def test_narrow_grants_reach_no_worker_of_the_bank(api, admin, hospital, worker_payload):
    ctx = hospital
    worker = api.created("/v1/workers", worker_payload(ctx["bank"]["id"]))
    worker_token = api.token("ada@example.org", "worker-password-1")
    document = api.created(f"/v1/workers/{worker['id']}/documents",
                           {"kind": "dbs", "reference": "DBS-1"}, token=worker_token)
    narrow = _narrow_staff(api, admin, ctx)

    # A resource in the path out of scope looks absent (README "Order of checks"): 404.
    for name, token in narrow.items():
        for response in (
            api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"}, token=token),
            api.get(f"/v1/workers/{worker['id']}/documents", token=token),
            api.get(f"/v1/workers/{worker['id']}/compliance", token=token),
            api.post(f"/v1/workers/{worker['id']}/documents", {"kind": "identity", "reference": "P-1"},
                     token=token),
            api.get(f"/v1/workers/{worker['id']}", token=token),
            api.patch(f"/v1/workers/{worker['id']}", {"max_travel_km": 1}, token=token),
        ):
            assert response.status_code in (403, 404), (name, response.text)
            if name != "site leadership":  # leadership lacks the role of most of these routes: 403
                _problem(response, 404, "not-found")
    documents = api.get(f"/v1/workers/{worker['id']}/documents", token=worker_token).json()["items"]
    assert [(d["id"], d["status"]) for d in documents] == [(document["id"], "submitted")]
    assert api.get(f"/v1/workers/{worker['id']}", token=worker_token).json()["max_travel_km"] == 30

    # The bank's admin reaches all of it.
    verified = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                        token=ctx["bank_admin"])
    assert verified.status_code == 200 and verified.json()["status"] == "verified", verified.text
    listed = api.get(f"/v1/workers/{worker['id']}/documents", token=ctx["bank_admin"])
    assert [d["id"] for d in listed.json()["items"]] == [document["id"]]
    patched = api.patch(f"/v1/workers/{worker['id']}", {"max_travel_km": 12}, token=ctx["bank_admin"])
    assert patched.status_code == 200 and patched.json()["max_travel_km"] == 12, patched.text
    profile = api.get(f"/v1/workers/{worker['id']}", token=ctx["bank_admin"]).json()
    assert profile["email"] == "ada@example.org"


def test_staff_of_one_site_list_no_workers_emails_or_homes(api, admin, hospital, worker_payload):
    ctx = hospital
    api.created("/v1/workers", worker_payload(ctx["bank"]["id"]))
    bank_id = ctx["bank"]["id"]
    for name, token in {**_narrow_staff(api, admin, ctx), "site coordinator": ctx["coordinator"]}.items():
        listed = api.get("/v1/workers", token=token)
        assert listed.status_code == 200 and listed.json()["items"] == [], (name, listed.text)
        _problem(api.get(f"/v1/workers?bank_id={bank_id}", token=token), 403, "forbidden")
    everyone = api.get(f"/v1/workers?bank_id={bank_id}", token=ctx["bank_admin"]).json()["items"]
    assert [(w["email"], w["latitude"]) for w in everyone] == [("ada@example.org", 53.45)]


def test_a_coordinator_at_a_site_still_books_any_worker_of_the_bank(api, hospital, active_worker):
    ctx = hospital
    worker, _ = active_worker(ctx, "bob@example.org")
    shift = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={"to": "bank"}),
                        token=ctx["coordinator"])
    booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]}, token=ctx["coordinator"])
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "booked" and booked.json()["worker_id"] == worker["id"]


PUBLIC = {"id", "name", "staff_type", "grade", "extra_grades", "bank_number", "status"}


def test_staff_of_a_site_see_the_public_part_of_the_workers_of_its_shifts(api, admin, hospital, make_bank,
                                                                         active_worker):
    ctx = hospital
    bank_id = ctx["bank"]["id"]
    east_trust = api.created("/v1/organisations", {"bank_id": bank_id, "name": "East Trust", "kind": "trust"},
                             token=admin)
    east_site = api.created("/v1/sites", {"organisation_id": east_trust["id"], "name": "East General",
                                          "latitude": 53.5, "longitude": -2.3}, token=admin)
    east = staff(api, admin, "east-coordinator@example.org", "rota_coordinator", "site", east_site["id"])
    trust_leader = staff(api, admin, "trust-leader@example.org", "leadership", "organisation",
                         ctx["organisation"]["id"])
    approver = staff(api, admin, "site-approver@example.org", "timesheet_approver", "site", ctx["site"]["id"])
    south = make_bank("South")

    ann, ann_token = active_worker(ctx, "ann@example.org")
    bob, _ = active_worker(ctx, "bob@example.org")
    cy, _ = active_worker(ctx, "cy@example.org")
    here = api.created("/v1/shifts", shift_body(ctx, next_weekday(8), publish={"to": "bank"}),
                       token=ctx["coordinator"])
    applied = api.post(f"/v1/shifts/{here['id']}/applications", token=ann_token)
    assert applied.status_code == 201, applied.text
    there = api.created("/v1/shifts", {**shift_body(ctx, next_weekday(8, days_ahead=9),
                                                    publish={"to": "bank"}), "site_id": east_site["id"]},
                        token=east)
    booked = api.post(f"/v1/shifts/{there['id']}/book", {"worker_id": bob["id"]}, token=east)
    assert booked.status_code == 200, booked.text

    def seen(token, worker):
        return api.get(f"/v1/workers/{worker['id']}", token=token)

    # The hospital site's staff, and its trust's, see ann's public part: exactly that.
    whole_ann = seen(ctx["bank_admin"], ann).json()
    for name, token in {"site coordinator": ctx["coordinator"], "trust leadership": trust_leader,
                        "site approver": approver}.items():
        response = seen(token, ann)
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {key: whole_ann[key] for key in PUBLIC}, name
    assert whole_ann["name"] == "Ada Lovelace" and whole_ann["bank_number"]
    # The east site's coordinator sees bob, booked there, and not ann; the others not bob.
    assert seen(east, bob).status_code == 200 and set(seen(east, bob).json()) == PUBLIC
    _problem(seen(east, ann), 404, "not-found")
    for token in (ctx["coordinator"], trust_leader, approver):
        _problem(seen(token, bob), 404, "not-found")
    # A worker of the bank who came to none of their shifts, and anyone to another bank's staff: 404.
    for token in (ctx["coordinator"], trust_leader, east, south["coordinator"]):
        _problem(seen(token, cy), 404, "not-found")
    _problem(seen(south["coordinator"], ann), 404, "not-found")
    # The whole profile stays with the bank's staff and the worker itself.
    assert {"email", "latitude", "longitude", "registration_number"} <= set(whole_ann)
    assert seen(ann_token, ann).json() == whole_ann
    # Documents and compliance stay out of the site's reach, applied or not (a coordinator's role
    # reads none: 403; the site's own admin is refused on scope in the test above).
    for path in (f"/v1/workers/{ann['id']}/documents", f"/v1/workers/{ann['id']}/compliance"):
        _problem(api.get(path, token=ctx["coordinator"]), 403, "forbidden")
    # What the site's lists show of a worker is its id (and a name for it here): nothing more.
    applications = api.get(f"/v1/shifts/{here['id']}/applications", token=ctx["coordinator"]).json()["items"]
    assert applications == [{"id": applied.json()["id"], "shift_id": here["id"], "worker_id": ann["id"],
                             "created_at": applications[0]["created_at"], "match": applications[0]["match"]}]
    # matching's rank of the applicant says nothing of where it lives (no distance)
    assert set(applications[0]["match"] or {}) <= {"rank", "worked_at_site", "worked_at_organisation"}
    shifts = api.get(f"/v1/shifts?site_id={east_site['id']}", token=east).json()["items"]
    assert [s["worker_id"] for s in shifts] == [bob["id"]] and not {"worker_name", "email"} & set(shifts[0])


def test_compliance_checks_the_caller_behind_the_gateway(platform, api, hospital, make_bank, worker_payload):
    """A call on the broker that skips the gateway, with no caller or another bank's admin, is refused
    by compliance itself and changes nothing; through the gateway the same calls work."""
    ctx = hospital
    worker = api.created("/v1/workers", worker_payload(ctx["bank"]["id"]))
    token = api.token("ada@example.org", "worker-password-1")
    document = api.created(f"/v1/workers/{worker['id']}/documents", {"kind": "dbs", "reference": "DBS-1"},
                           token=token)
    south = make_bank("South")
    south_admin = api.get("/v1/me", token=south["bank_admin"]).json()
    south_actor = {"user_id": south_admin["id"], "capacities": ["admin"], "worker_id": None, "agency_ids": []}
    south_grants = {"bank": [south["bank"]["id"]], "organisation": [], "site": []}

    with ServiceRpcProxy("compliance", platform.configs["compliance"]) as compliance:
        for actor, scope_ids in ((None, south_grants), (south_actor, south_grants)):
            with pytest.raises(Forbidden):
                compliance.verify_document(document["id"], {"outcome": "verified"}, actor, scope_ids)
            with pytest.raises(Forbidden):
                compliance.submit_document(worker["id"], {"kind": "identity", "reference": "P-1"}, actor,
                                           scope_ids)
            with pytest.raises(Forbidden):
                compliance.list_documents(worker["id"], {}, actor, scope_ids)
            with pytest.raises(Forbidden):
                compliance.get_compliance(worker["id"], actor, scope_ids)

    listed = api.get(f"/v1/workers/{worker['id']}/documents", token=ctx["bank_admin"])
    assert [(d["id"], d["status"]) for d in listed.json()["items"]] == [(document["id"], "submitted")]
    verified = api.post(f"/v1/documents/{document['id']}/verify", {"outcome": "verified"},
                        token=ctx["bank_admin"])
    assert verified.status_code == 200 and verified.json()["status"] == "verified", verified.text
    requirements = api.get(f"/v1/compliance-requirements?bank_id={ctx['bank']['id']}",
                           token=ctx["bank_admin"])
    assert requirements.status_code == 200, requirements.text
    eligibility = api.get(f"/v1/workers/{worker['id']}/eligibility?staff_type=doctor&on=2030-01-01",
                          token=ctx["bank_admin"])
    assert eligibility.status_code == 200 and eligibility.json()["eligible"] is False, eligibility.text
