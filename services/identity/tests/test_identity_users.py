"""Managing accounts over real RPC, PostgreSQL and RabbitMQ: listing a bank's accounts, replacing
an account's roles and deactivating it (API.md "Identity": access can be taken away)."""

import pytest

from chassis.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

PASSWORD = "correct horse battery"


@pytest.fixture
def tree(identity):
    """Two banks; the first with an organisation holding two sites."""
    bank = identity.create_bank({"name": "North"})
    other = identity.create_bank({"name": "South"})
    org = identity.create_organisation({"bank_id": bank["id"], "name": "Royal", "kind": "trust"})
    site, site2 = (identity.create_site({"organisation_id": org["id"], "name": name, "latitude": 53.4,
                                         "longitude": -2.2}) for name in ("Main", "Annex"))
    return {"bank": bank["id"], "other": other["id"], "org": org["id"], "site": site["id"],
            "site2": site2["id"]}


@pytest.fixture
def user(identity):
    """user(email, (role, scope_type, scope_id), ...) -> the created account."""

    def make(email, *grants):
        return identity.create_user({"email": email, "password": PASSWORD, "name": email,
                                     "roles": [grant(*g) for g in grants]})

    return make


def grant(role, scope_type, scope_id=None):
    return {"role": role, "scope_type": scope_type, "scope_id": scope_id}


def actor(account):
    return {"user_id": account["id"], "capacities": []}


def test_replaced_roles_are_what_the_principal_holds_at_once(identity, tree, user, event_tap):
    tap = event_tap("identity.events", "user.*")
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    coordinator = user("coord@example.org", ("rota_coordinator", "site", tree["site"]),
                       ("leadership", "bank", tree["bank"]))
    places = [tree["site"], tree["org"], tree["bank"]]
    assert [h["user_id"] for h in identity.role_holders(["rota_coordinator"], places)] == [coordinator["id"]]

    changed = identity.set_user_roles(coordinator["id"], {"roles": [
        grant("leadership", "bank", tree["bank"]), grant("timesheet_approver", "site", tree["site2"])]},
        actor(admin))
    assert changed["active"] is True and changed["deactivated_at"] is None
    assert [(g["role"], g["scope_id"]) for g in changed["roles"]] == [
        ("leadership", tree["bank"]), ("timesheet_approver", tree["site2"])]
    principal = identity.get_principal(coordinator["id"])
    assert sorted(g["role"] for g in principal["roles"]) == ["leadership", "timesheet_approver"]
    assert identity.role_holders(["rota_coordinator"], places) == []
    # The same roles again change nothing and say nothing.
    same = [grant("leadership", "bank", tree["bank"]), grant("timesheet_approver", "site", tree["site2"])]
    identity.set_user_roles(coordinator["id"], {"roles": same}, actor(admin))

    events = tap.messages(timeout=3)
    assert [e["type"] for e in events] == ["user.created", "user.created", "user.roles_changed"]
    assert events[-1]["data"] == {"user_id": coordinator["id"], "email": "coord@example.org",
                                  "name": "coord@example.org", "roles": [
                                      grant("leadership", "bank", tree["bank"]),
                                      grant("timesheet_approver", "site", tree["site2"])]}


def test_a_deactivated_account_has_no_principal_cannot_log_in_and_is_told_nothing(
    identity, tree, user, event_tap
):
    tap = event_tap("identity.events", "user.deactivated")
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    leader = user("leader@example.org", ("leadership", "bank", tree["bank"]))
    assert identity.issue_token({"email": "leader@example.org", "password": PASSWORD})

    deactivated = identity.deactivate_user(leader["id"], actor(admin))
    assert deactivated["active"] is False and deactivated["deactivated_at"]
    assert deactivated["roles"] == leader["roles"]  # kept on record, counting for nothing
    assert identity.get_principal(leader["id"]) is None
    with pytest.raises(Unauthorized) as refused:
        identity.issue_token({"email": "leader@example.org", "password": PASSWORD})
    assert "deactivated" in refused.value.detail
    assert identity.role_holders(["leadership"], [tree["bank"]]) == []
    # Again: the same answer, no second fact; its roles no longer change.
    assert identity.deactivate_user(leader["id"], actor(admin)) == deactivated
    with pytest.raises(Conflict):
        identity.set_user_roles(leader["id"], {"roles": [grant("leadership", "bank", tree["bank"])]},
                                actor(admin))

    events = tap.messages(timeout=3)
    assert [e["data"] for e in events] == [{"user_id": leader["id"], "email": "leader@example.org",
                                            "name": "leader@example.org", "worker_id": None}]


def test_a_workers_account_keeps_its_worker_grant_and_leaves_the_bank_when_deactivated(
    identity, tree, user, registration, event_tap
):
    tap = event_tap("identity.events", "worker.left")
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    worker = identity.register_worker(registration(tree["bank"]))

    coordinating = {"roles": [grant("rota_coordinator", "site", tree["site"])]}
    both = identity.set_user_roles(worker["user_id"], coordinating, actor(admin))
    assert sorted(g["role"] for g in both["roles"]) == ["rota_coordinator", "worker"]
    back = identity.set_user_roles(worker["user_id"], {"roles": []}, actor(admin))  # the worker grant stays
    assert [g["role"] for g in back["roles"]] == ["worker"] and back["worker_id"] == worker["id"]

    identity.deactivate_user(worker["user_id"], actor(admin))
    assert identity.get_worker(worker["id"])["status"] == "left"
    assert [e["data"]["reason"] for e in tap.messages(timeout=3)] == ["account deactivated"]


def test_nobody_changes_or_deactivates_their_own_account_and_a_caller_must_be_named(identity, tree, user):
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    with pytest.raises(Forbidden):
        identity.set_user_roles(admin["id"], {"roles": [grant("leadership", "bank", tree["bank"])]},
                                actor(admin))
    with pytest.raises(Forbidden):
        identity.deactivate_user(admin["id"], actor(admin))
    for missing in (None, {}, {"user_id": ""}):
        with pytest.raises(Forbidden):
            identity.deactivate_user(admin["id"], missing)
    assert identity.get_principal(admin["id"])["roles"][0]["role"] == "bank_admin"


def test_bad_roles_and_unknown_accounts_are_refused(identity, tree, user):
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    leader = user("leader@example.org", ("leadership", "bank", tree["bank"]))
    bad = {
        "unknown role": [grant("overlord", "bank", tree["bank"])],
        "unknown scope type": [grant("leadership", "galaxy", tree["bank"])],
        "unknown scope": [grant("leadership", "site", "no-such-site")],
        "worker role": [grant("worker", "bank", tree["bank"])],
        "platform scope with an id": [grant("platform_admin", "platform", tree["bank"])],
        "no role at all": [],
        "not a list": "leadership",
    }
    for name, roles in bad.items():
        with pytest.raises(Invalid) as refused:
            identity.set_user_roles(leader["id"], {"roles": roles}, actor(admin))
        assert "roles" in refused.value.errors, name
    with pytest.raises(Invalid):
        identity.set_user_roles(leader["id"], {"roles": [], "extra": 1}, actor(admin))
    with pytest.raises(NotFound):
        identity.set_user_roles("no-such-user", {"roles": [grant("leadership", "bank", tree["bank"])]},
                                actor(admin))
    with pytest.raises(NotFound):
        identity.deactivate_user("no-such-user", actor(admin))
    assert [g["role"] for g in identity.get_principal(leader["id"])["roles"]] == ["leadership"]


def test_an_account_sits_where_all_its_grants_lie(identity, tree, user):
    """What the gateway checks a manager's bank_admin grant against (resolve_scope("user", id))."""
    at_site = user("a@example.org", ("rota_coordinator", "site", tree["site"]))
    two_sites = user("b@example.org", ("rota_coordinator", "site", tree["site"]),
                     ("timesheet_approver", "site", tree["site2"]))
    two_banks = user("c@example.org", ("leadership", "bank", tree["bank"]),
                     ("leadership", "bank", tree["other"]))
    platform = user("d@example.org", ("platform_admin", "platform"))
    assert identity.resolve_scope("user", at_site["id"]) == {
        "bank_id": tree["bank"], "organisation_id": tree["org"], "site_id": tree["site"]}
    assert identity.resolve_scope("user", two_sites["id"]) == {
        "bank_id": tree["bank"], "organisation_id": tree["org"]}
    assert identity.resolve_scope("user", two_banks["id"]) == {}
    assert identity.resolve_scope("user", platform["id"]) == {}
    assert identity.resolve_scope("user", "no-such-user") is None


def test_a_banks_accounts_are_listed_a_page_at_a_time_with_their_grants_there(
    identity, tree, user, registration
):
    admin = user("admin@example.org", ("bank_admin", "bank", tree["bank"]))
    both = user("both@example.org", ("leadership", "bank", tree["bank"]),
                ("leadership", "bank", tree["other"]))
    user("south@example.org", ("bank_admin", "bank", tree["other"]))
    user("root@example.org", ("platform_admin", "platform"))
    worker = identity.register_worker(registration(tree["bank"]))
    identity.deactivate_user(both["id"], actor(admin))

    first = identity.list_users({"bank_id": tree["bank"], "limit": 2})
    second = identity.list_users({"bank_id": tree["bank"], "limit": 2, "cursor": first["next_cursor"]})
    assert second["next_cursor"] is None
    listed = first["items"] + second["items"]
    assert [u["id"] for u in listed] == [admin["id"], both["id"], worker["user_id"]]
    assert [g["scope_id"] for g in listed[1]["roles"]] == [tree["bank"]]  # not the other bank's grant
    assert [u["active"] for u in listed] == [True, False, True]
    assert [u["id"] for u in identity.list_users({"bank_id": tree["bank"], "role": "worker"})["items"]] == \
        [worker["user_id"]]
    assert [u["id"] for u in identity.list_users({"bank_id": tree["bank"], "active": False})["items"]] == \
        [both["id"]]
    for bad in ({}, {"bank_id": tree["bank"], "role": "overlord"}, {"bank_id": tree["bank"], "cursor": "x"}):
        with pytest.raises(Invalid):
            identity.list_users(bad)
