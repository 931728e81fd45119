"""API.md "Roles and scope": a worker's documents, compliance and full profile (email, home
location) are reached through grants on its bank or the platform, never through a grant on one
organisation or site; a coordinator at a site still books any worker of the bank."""

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
