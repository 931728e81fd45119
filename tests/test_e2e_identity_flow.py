"""API.md "Identity" end to end: token, bank, organisation, site, user with a grant,
worker registration, /v1/me; and the facts identity publishes on the way."""


def test_the_identity_flow_of_api_md(api, admin, worker_payload, event_tap):
    tap = event_tap("identity.events")
    me = api.get("/v1/me", token=admin).json()
    assert me["roles"] == [{"role": "platform_admin", "scope_type": "platform", "scope_id": None,
                                   "bank_id": None}]
    assert me["worker_id"] is None

    bank = api.created("/v1/banks", {"name": "Greater Manchester Bank"}, token=admin)
    assert set(bank) == {"id", "name"}
    org = api.created("/v1/organisations", {"bank_id": bank["id"], "name": "Royal Infirmary",
                                            "kind": "trust", "ods_code": "R0A"}, token=admin)
    assert org == {"id": org["id"], "bank_id": bank["id"], "name": "Royal Infirmary", "kind": "trust",
                   "ods_code": "R0A"}
    site = api.created("/v1/sites", {"organisation_id": org["id"], "name": "Oxford Road",
                                     "latitude": 53.4631, "longitude": -2.2301}, token=admin)
    assert site["bank_id"] == bank["id"] and site["organisation_id"] == org["id"]
    assert site["postcode"] is None and site["latitude"] == 53.4631

    user = api.created("/v1/users", {
        "email": "Coordinator@Example.org", "password": "coordinator-pass", "name": "Cora Ordinator",
        "roles": [{"role": "rota_coordinator", "scope_type": "site", "scope_id": site["id"]}],
    }, token=admin)
    assert "password" not in user and user["email"] == "coordinator@example.org"
    coordinator = api.token("coordinator@example.org", "coordinator-pass")
    assert api.get("/v1/me", token=coordinator).json()["roles"] == [
        {"role": "rota_coordinator", "scope_type": "site", "scope_id": site["id"], "bank_id": bank["id"]}]

    worker = api.created("/v1/workers", worker_payload(bank["id"]))  # no token: self-registration
    assert worker["status"] == "applied" and worker["bank_number"] == "W000001"
    assert "password" not in worker and worker["staff_type"] == "doctor" and worker["grade"] == "ST3"
    second = api.created("/v1/workers", worker_payload(bank["id"], email="bob@example.org"))
    assert second["bank_number"] == "W000002"

    worker_token = api.token("ada@example.org", "worker-password-1")
    assert api.get("/v1/me", token=worker_token).json()["worker_id"] == worker["id"]
    assert api.get(f"/v1/workers/{worker['id']}", token=worker_token).json()["bank_number"] == "W000001"
    assert api.get(f"/v1/workers/{second['id']}", token=worker_token).status_code == 404
    # A worker's profile is reached through grants on its bank, not on one site (API.md "Roles and scope").
    assert api.get(f"/v1/workers/{worker['id']}", token=coordinator).status_code == 404
    listed = api.get(f"/v1/workers?bank_id={bank['id']}&status=applied", token=admin).json()
    assert [w["bank_number"] for w in listed["items"]] == ["W000001", "W000002"]
    assert listed["next_cursor"] is None

    published = tap.messages(timeout=3)
    assert {"bank.created", "organisation.created", "site.created", "user.created",
            "worker.registered"} <= {e["type"] for e in published}
    assert [e["data"]["bank_number"] for e in published if e["type"] == "worker.registered"] == [
        "W000001", "W000002"]


def test_a_bank_admin_updates_a_worker_and_lists_page_by_page(api, make_bank, worker_payload):
    north = make_bank("North")
    ids = [api.created("/v1/workers", worker_payload(north["bank"]["id"], email=f"w{i}@example.org"))["id"]
           for i in range(5)]

    updated = api.patch(f"/v1/workers/{ids[0]}", {"extra_grades": ["ST4", "ST2"], "max_travel_km": 12},
                        token=north["bank_admin"])
    assert updated.status_code == 200, updated.text
    assert updated.json()["extra_grades"] == ["ST2", "ST4"] and updated.json()["max_travel_km"] == 12

    seen, cursor = [], None
    while True:
        page = api.get("/v1/workers?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       token=north["bank_admin"]).json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
