"""Managing accounts over HTTP (API.md "Identity"): listing a bank's accounts, replacing an
account's roles and deactivating it. Access can be taken away: a removed grant or a deactivated
account counts from the very next request (API.md Conventions: within 1 s), and whoever lost a
role is told nothing more as its holder."""

from chassis.testing import poll
from tests.test_e2e_security import _problem

PASSWORD = "staff-password-1"


def _grant(role, scope_type, scope_id=None):
    return {"role": role, "scope_type": scope_type, "scope_id": scope_id}


def _account(api, token, email, *grants):
    """A new account with `grants`, created by `token`'s holder, and a token of its own."""
    user = api.created("/v1/users", {"email": email, "password": PASSWORD, "name": email,
                                     "roles": [_grant(*g) for g in grants]}, token=token)
    return user, api.token(email, PASSWORD)


def _put_roles(api, token, user_id, *grants):
    return api.put(f"/v1/users/{user_id}/roles", {"roles": [_grant(*g) for g in grants]}, token=token)


def test_a_removed_grant_is_refused_on_the_next_request(api, make_bank):
    north = make_bank("North")
    bank_id = north["bank"]["id"]
    deputy, deputy_token = _account(api, north["bank_admin"], "deputy@example.org",
                                    ("bank_admin", "bank", bank_id), ("leadership", "bank", bank_id))
    listed = api.get(f"/v1/users?bank_id={bank_id}", token=deputy_token)
    assert listed.status_code == 200, listed.text
    assert deputy["id"] in [u["id"] for u in listed.json()["items"]]

    changed = _put_roles(api, north["bank_admin"], deputy["id"], ("leadership", "bank", bank_id))
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == [dict(_grant("leadership", "bank", bank_id), bank_id=bank_id)]
    assert changed.json()["active"] is True

    # The very next request with the same token no longer carries the grant (API.md: within 1 s).
    _problem(api.get(f"/v1/users?bank_id={bank_id}", token=deputy_token), 403, "forbidden")
    assert [g["role"] for g in api.get("/v1/me", token=deputy_token).json()["roles"]] == ["leadership"]

    # Given back, it counts again at once.
    given = _put_roles(api, north["bank_admin"], deputy["id"], ("bank_admin", "bank", bank_id))
    assert given.status_code == 200, given.text
    assert api.get(f"/v1/users?bank_id={bank_id}", token=deputy_token).status_code == 200


def test_a_change_made_through_another_gateway_reaches_this_ones_cache_by_event(api, make_bank, platform):
    """The gateway keeps callers for PRINCIPAL_CACHE_SECONDS (gateway/caches.py); a change made
    elsewhere (another gateway replica: here identity's RPC, as that replica would call it) drops the
    copy as soon as `user.roles_changed` or `user.deactivated` arrives. The copy's age limit is
    raised to a minute here, so only the event can explain seeing the change."""
    from nameko.standalone.rpc import ServiceRpcProxy

    from gateway.caches import GatewayCaches

    [caches] = [d for d in platform.containers["gateway"].dependencies if isinstance(d, GatewayCaches)]
    caches.principals.max_age = 60
    north = make_bank("North")
    bank_id = north["bank"]["id"]
    deputy, deputy_token = _account(api, north["bank_admin"], "deputy@example.org",
                                    ("bank_admin", "bank", bank_id))
    admin_id = api.get("/v1/me", token=north["bank_admin"]).json()["id"]
    assert api.get(f"/v1/users?bank_id={bank_id}", token=deputy_token).status_code == 200  # now kept

    with ServiceRpcProxy("identity", platform.configs["identity"]) as identity:
        identity.set_user_roles(deputy["id"], {"roles": [_grant("leadership", "bank", bank_id)]},
                                {"user_id": admin_id, "capacities": []})
        poll(lambda: api.get(f"/v1/users?bank_id={bank_id}", token=deputy_token).status_code == 403,
             timeout=10)
        identity.deactivate_user(deputy["id"], {"user_id": admin_id, "capacities": []})
        poll(lambda: api.get("/v1/me", token=deputy_token).status_code == 401, timeout=10)


def test_a_deactivated_accounts_token_is_refused_and_it_cannot_log_in(api, make_bank, worker_payload):
    north = make_bank("North")
    bank_id = north["bank"]["id"]
    leader, leader_token = _account(api, north["bank_admin"], "leader@example.org",
                                    ("leadership", "bank", bank_id))
    assert api.get("/v1/me", token=leader_token).status_code == 200

    deactivated = api.post(f"/v1/users/{leader['id']}/deactivate", token=north["bank_admin"])
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False and deactivated.json()["deactivated_at"]
    _problem(api.get("/v1/me", token=leader_token), 401, "unauthorized")  # the very next request
    _problem(api.post("/v1/auth/token", {"email": "leader@example.org", "password": PASSWORD}),
             401, "unauthorized")
    # Deactivating again answers the same; the roles of a deactivated account no longer change.
    again = api.post(f"/v1/users/{leader['id']}/deactivate", token=north["bank_admin"])
    assert again.status_code == 200 and again.json() == deactivated.json()
    _problem(_put_roles(api, north["bank_admin"], leader["id"], ("leadership", "bank", bank_id)),
             409, "conflict")
    inactive = api.get(f"/v1/users?bank_id={bank_id}&active=false", token=north["bank_admin"]).json()
    assert [u["id"] for u in inactive["items"]] == [leader["id"]]

    # A worker's account leaves the bank with it.
    worker = api.created("/v1/workers", worker_payload(bank_id))
    worker_token = api.token("ada@example.org", "worker-password-1")
    assert api.post(f"/v1/users/{worker['user_id']}/deactivate", token=north["bank_admin"]).status_code == 200
    _problem(api.get(f"/v1/workers/{worker['id']}", token=worker_token), 401, "unauthorized")
    assert api.get(f"/v1/workers/{worker['id']}", token=north["bank_admin"]).json()["status"] == "left"


def test_a_bank_admin_grants_only_within_its_bank_and_manages_only_its_banks_accounts(api, admin, make_bank):
    north, south = make_bank("North"), make_bank("South")
    north_id, south_id = north["bank"]["id"], south["bank"]["id"]
    mine, _ = _account(api, north["bank_admin"], "mine@example.org", ("leadership", "bank", north_id))
    theirs, theirs_token = _account(api, south["bank_admin"], "theirs@example.org",
                                    ("leadership", "bank", south_id))
    both, _ = _account(api, admin, "both@example.org", ("leadership", "bank", north_id),
                       ("leadership", "bank", south_id))

    # Grants outside the caller's bank: 403, whatever else the body says.
    for outside in (("bank_admin", "bank", south_id), ("rota_coordinator", "site", south["site"]["id"]),
                    ("platform_admin", "platform")):
        _problem(_put_roles(api, north["bank_admin"], mine["id"], outside), 403, "forbidden")
    sneaky = {"roles": [_grant("bank_admin", "bank", south_id)], "extra": True}
    _problem(api.put(f"/v1/users/{mine['id']}/roles", sneaky, token=north["bank_admin"]), 403, "forbidden")
    # Another bank's accounts, and one that is also another bank's, look absent.
    for user in (theirs, both):
        _problem(_put_roles(api, north["bank_admin"], user["id"], ("leadership", "bank", north_id)),
                 404, "not-found")
        _problem(api.post(f"/v1/users/{user['id']}/deactivate", token=north["bank_admin"]), 404, "not-found")
    # The account in the path is checked first: absent, whatever grants the body asks for.
    _problem(_put_roles(api, north["bank_admin"], theirs["id"], ("bank_admin", "bank", south_id)),
             404, "not-found")
    _problem(api.get(f"/v1/users?bank_id={south_id}", token=north["bank_admin"]), 403, "forbidden")
    # Only bank admins manage accounts; nobody their own.
    _problem(api.get(f"/v1/users?bank_id={north_id}", token=north["coordinator"]), 403, "forbidden")
    _problem(api.post(f"/v1/users/{mine['id']}/deactivate", token=north["coordinator"]), 403, "forbidden")
    me = api.get("/v1/me", token=north["bank_admin"]).json()
    _problem(api.post(f"/v1/users/{me['id']}/deactivate", token=north["bank_admin"]), 403, "forbidden")
    _problem(_put_roles(api, north["bank_admin"], me["id"], ("leadership", "bank", north_id)),
             403, "forbidden")

    # Nothing changed: the other bank's account still logs in with its roles, and each bank lists
    # its own accounts, showing only its own grants.
    assert [g["scope_id"] for g in api.get("/v1/me", token=theirs_token).json()["roles"]] == [south_id]
    listed = api.get(f"/v1/users?bank_id={north_id}", token=north["bank_admin"]).json()["items"]
    assert theirs["id"] not in [u["id"] for u in listed]
    assert {mine["id"], both["id"]} <= {u["id"] for u in listed}
    assert {g["bank_id"] for u in listed for g in u["roles"]} == {north_id}
    assert api.get(f"/v1/users?bank_id={south_id}", token=admin).status_code == 200


def test_bad_input_is_a_clear_4xx(api, make_bank):
    north = make_bank("North")
    bank_id, token = north["bank"]["id"], north["bank_admin"]
    user, _ = _account(api, token, "leader@example.org", ("leadership", "bank", bank_id))
    path = f"/v1/users/{user['id']}/roles"
    bad = {
        "unknown role": [_grant("overlord", "bank", bank_id)],
        "unknown scope type": [_grant("leadership", "galaxy", bank_id)],
        "scope that does not exist": [_grant("leadership", "site", "no-such-site")],
        "worker role": [_grant("worker", "bank", bank_id)],
        "no role at all": [],
        "NUL in a role": [_grant("lead\u0000ership", "bank", bank_id)],
        "unpaired surrogate in a scope": [_grant("leadership", "site", "\ud800")],
        "not a list": "leadership",
    }
    for name, roles in bad.items():
        body = _problem(api.put(path, {"roles": roles}, token=token), 422, "validation-error")
        assert [field for field in body["errors"] if field.startswith("roles")], name
    _problem(api.put(path, {}, token=token), 422, "validation-error")
    _problem(api.put(path, data="{not json", token=token), 400, "malformed-json")
    _problem(_put_roles(api, token, "no-such-user", ("leadership", "bank", bank_id)), 404, "not-found")
    _problem(api.post("/v1/users/no-such-user/deactivate", token=token), 404, "not-found")
    for query in ("", "?bank_id=no-such-bank", "?bank_id=%00", f"?bank_id={bank_id}&role=overlord",
                  f"?bank_id={bank_id}&cursor=garbage", f"?bank_id={bank_id}&limit=0",
                  f"?bank_id={bank_id}&active=maybe"):
        _problem(api.get(f"/v1/users{query}", token=token), 422, "validation-error")
    assert [g["role"] for g in api.get(f"/v1/users?bank_id={bank_id}&role=leadership", token=token)
            .json()["items"][0]["roles"]] == ["leadership"]


def test_whoever_lost_a_role_is_told_nothing_more_as_its_holder(api, make_bank):
    north = make_bank("North")
    bank_id, token = north["bank"]["id"], north["bank_admin"]
    me = api.get("/v1/me", token=token).json()["id"]
    leaving, _ = _account(api, token, "leaving@example.org", ("bank_admin", "bank", bank_id))
    demoted, _ = _account(api, token, "demoted@example.org", ("bank_admin", "bank", bank_id),
                          ("leadership", "bank", bank_id))

    def told(user_id):
        query = f"bank_id={bank_id}&user_id={user_id}&channel=in_app"
        items = api.get(f"/v1/notification-deliveries?{query}", token=token).json()["items"]
        return len([d for d in items if d["type"] == "organisation.created"])

    def practice_joins(name):
        api.created("/v1/organisations", {"bank_id": bank_id, "name": name, "kind": "practice"}, token=token)

    practice_joins("First Practice")
    poll(lambda: told(me) == told(leaving["id"]) == told(demoted["id"]) == 1,
         message="every bank admin told once")

    assert api.post(f"/v1/users/{leaving['id']}/deactivate", token=token).status_code == 200
    assert _put_roles(api, token, demoted["id"], ("leadership", "bank", bank_id)).status_code == 200
    practice_joins("Second Practice")
    poll(lambda: told(me) == 2, message="the remaining bank admin told of the second practice")
    # Whoever else that event told was written in the same unit of work, so it shows already.
    assert (told(leaving["id"]), told(demoted["id"])) == (1, 1)
