"""Identity over real RPC, PostgreSQL and RabbitMQ."""

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import tokens
from chassis.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from chassis.testing import TEST_SIGNING_KEY
from identity.service import IdentityService


def test_workers_get_consecutive_bank_numbers_even_when_registering_at_once(
    identity, identity_config, registration
):
    bank = identity.create_bank({"name": "North"})
    other = identity.create_bank({"name": "South"})

    def register(i):
        with ServiceRpcProxy("identity", identity_config) as proxy:
            return proxy.register_worker(registration(bank["id"], email=f"w{i}@example.org"))

    workers = list(eventlet.GreenPool(20).imap(register, range(20)))
    assert sorted(w["bank_number"] for w in workers) == [f"W{n:06d}" for n in range(1, 21)]
    assert {w["status"] for w in workers} == {"applied"}
    # Numbers are per bank: another bank starts at 1.
    first_of_other = identity.register_worker(registration(other["id"], email="x@example.org"))
    assert first_of_other["bank_number"] == "W000001"


def test_registration_refuses_duplicate_emails_and_unknown_banks(identity, registration):
    bank = identity.create_bank({"name": "North"})
    identity.register_worker(registration(bank["id"]))
    with pytest.raises(Conflict):
        identity.register_worker(registration(bank["id"], email="NURSE@example.org"))
    with pytest.raises(Invalid) as unknown:
        identity.register_worker(registration("no-such-bank", email="new@example.org"))
    assert unknown.value.errors == {"bank_id": ["Does not exist."]}


def test_of_concurrent_registrations_with_one_email_exactly_one_wins(identity, identity_config, registration):
    bank = identity.create_bank({"name": "North"})

    def register(_):
        with ServiceRpcProxy("identity", identity_config) as proxy:
            try:
                return proxy.register_worker(registration(bank["id"], email="same@example.org"))
            except Conflict:
                return None

    results = list(eventlet.GreenPool(5).imap(register, range(5)))
    assert len([r for r in results if r is not None]) == 1
    assert identity.list_workers({"bank_id": bank["id"]}, None)["items"][0]["bank_number"] == "W000001"
    with pytest.raises(RemoteError, match="scope_ids"):  # a missing filter is not "everything"
        identity.list_workers({"bank_id": bank["id"]})


def test_worker_status_machine_publishes_each_change_once(identity, registration, event_tap):
    tap = event_tap("identity.events", "worker.*")
    bank = identity.create_bank({"name": "North"})
    worker = identity.register_worker(registration(bank["id"]))
    for status in ("onboarding", "active", "active", "suspended", "active"):
        identity.change_worker_status(worker["id"], status, "compliance")
    with pytest.raises(Conflict):
        identity.change_worker_status(worker["id"], "applied")

    events = tap.messages(timeout=3, count=5)
    assert [e["type"] for e in events] == [
        "worker.registered", "worker.onboarding", "worker.activated", "worker.suspended", "worker.activated",
    ]
    assert events[0]["data"]["bank_number"] == "W000001"
    assert "password" not in str(events[0]).lower()
    assert identity.get_worker(worker["id"])["status"] == "active"


def test_the_public_part_of_a_worker_is_its_name_type_grades_number_and_status(identity, registration):
    """API.md "Roles and scope": what staff at a site see of a worker on their shifts; the rest
    (email, home, registration, travel, agency...) only through a grant on its bank."""
    bank = identity.create_bank({"name": "North"})
    worker = identity.register_worker(registration(bank["id"]))
    identity.update_worker(worker["id"], {"extra_grades": ["Band 6"]})
    public = identity.get_public_worker(worker["id"])
    full = identity.get_worker(worker["id"])
    assert public == {key: full[key] for key in ("id", "name", "staff_type", "grade", "extra_grades",
                                                 "bank_number", "status")}
    assert public["extra_grades"] == ["Band 6"] and public["bank_number"] == "W000001"
    with pytest.raises(NotFound):
        identity.get_public_worker("no-such-worker")


def test_login_issues_a_verifiable_token_and_throttles_failures_not_successes(identity, registration):
    bank = identity.create_bank({"name": "North"})
    worker = identity.register_worker(registration(bank["id"]))
    good = {"email": "nurse@example.org", "password": "correct horse battery"}
    bad = {"email": "nurse@example.org", "password": "wrong password"}

    token = identity.issue_token(good)
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600
    assert tokens.verify(TEST_SIGNING_KEY, token["access_token"]) == worker["user_id"]

    for _ in range(10):
        with pytest.raises(Unauthorized):
            identity.issue_token(bad)
    with pytest.raises(TooManyRequests):
        identity.issue_token(bad)
    assert identity.issue_token(good)["access_token"]  # the real owner still gets in


def test_the_bootstrap_admin_is_created_once_and_never_overwritten(container_factory, identity_config):
    first = dict(identity_config, BOOTSTRAP_ADMIN_EMAIL="root@example.org",
                 BOOTSTRAP_ADMIN_PASSWORD="first-password")
    container = container_factory(IdentityService, first)
    container.start()
    with ServiceRpcProxy("identity", first) as identity:
        token = _poll_token(identity, "root@example.org", "first-password")
        principal = identity.get_principal(tokens.verify(TEST_SIGNING_KEY, token))
    assert principal["roles"] == [{"role": "platform_admin", "scope_type": "platform", "scope_id": None,
                                   "bank_id": None}]
    container.stop()

    second = dict(first, BOOTSTRAP_ADMIN_PASSWORD="another-password")
    container_factory(IdentityService, second).start()
    eventlet.sleep(0.5)
    with ServiceRpcProxy("identity", second) as identity:
        assert _poll_token(identity, "root@example.org", "first-password")
        with pytest.raises(Unauthorized):
            identity.issue_token({"email": "root@example.org", "password": "another-password"})


def _poll_token(identity, email, password):
    for _ in range(50):
        try:
            return identity.issue_token({"email": email, "password": password})["access_token"]
        except Unauthorized:
            eventlet.sleep(0.1)
    raise AssertionError("bootstrap admin never appeared")


def test_scope_resolution_walks_the_bank_tree(identity):
    bank = identity.create_bank({"name": "North"})
    org = identity.create_organisation({"bank_id": bank["id"], "name": "Royal", "kind": "trust"})
    site = identity.create_site({"organisation_id": org["id"], "name": "Main", "latitude": 53.4,
                                 "longitude": -2.2})
    assert identity.resolve_scope("site", site["id"]) == {
        "bank_id": bank["id"], "organisation_id": org["id"], "site_id": site["id"]}
    assert identity.resolve_scope("organisation", "missing") is None


def test_the_bank_tree_is_listed_per_bank_and_banks_only_as_asked(identity):
    north, south = (identity.create_bank({"name": name}) for name in ("North", "South"))
    trust = identity.create_organisation({"bank_id": north["id"], "name": "Royal", "kind": "trust"})
    practice = identity.create_organisation({"bank_id": north["id"], "name": "Elm", "kind": "practice"})
    identity.create_organisation({"bank_id": south["id"], "name": "Far", "kind": "trust"})
    sites = [identity.create_site({"organisation_id": org["id"], "name": name, "latitude": 53.4,
                                   "longitude": -2.2})
             for org, name in ((trust, "Main"), (trust, "Annexe"), (practice, "Surgery"))]

    organisations = identity.list_organisations({"bank_id": north["id"]})["items"]
    assert [o["name"] for o in organisations] == ["Royal", "Elm"]
    practices = identity.list_organisations({"bank_id": north["id"], "kind": "practice"})["items"]
    assert [o["id"] for o in practices] == [practice["id"]]
    assert identity.list_sites({"bank_id": north["id"]})["items"] == sites
    assert identity.list_sites({"bank_id": north["id"], "organisation_id": trust["id"]})["items"] == sites[:2]
    first = identity.list_sites({"bank_id": north["id"], "limit": 2})
    assert first["items"] == sites[:2]
    assert identity.list_sites({"bank_id": north["id"], "cursor": first["next_cursor"]})["items"] == sites[2:]

    assert identity.list_banks({}, [south["id"]])["items"] == [south]
    assert {b["id"] for b in identity.list_banks({}, None)["items"]} >= {north["id"], south["id"]}
    with pytest.raises(Forbidden):  # a caller's banks are a list, never "anyone" by mistake
        identity.list_banks({}, "everything")
    with pytest.raises(Invalid):
        identity.list_sites({})


def test_role_holders_over_a_place_are_told_with_all_their_grants(identity):
    """What notifications asks before telling staff of something at a place."""
    bank = identity.create_bank({"name": "North"})
    other = identity.create_bank({"name": "South"})
    org = identity.create_organisation({"bank_id": bank["id"], "name": "Royal", "kind": "trust"})
    site = identity.create_site({"organisation_id": org["id"], "name": "Main", "latitude": 53.4,
                                 "longitude": -2.2})

    def user(email, *grants):
        roles = [{"role": r, "scope_type": t, "scope_id": i} for r, t, i in grants]
        return identity.create_user({"email": email, "password": "correct horse battery", "name": email,
                                     "roles": roles})

    at_site = user("coord@example.org", ("rota_coordinator", "site", site["id"]),
                   ("leadership", "bank", other["id"]))
    on_bank = user("admin@example.org", ("bank_admin", "bank", bank["id"]))
    user("elsewhere@example.org", ("rota_coordinator", "bank", other["id"]))
    user("approver@example.org", ("timesheet_approver", "site", site["id"]))

    places = [site["id"], org["id"], bank["id"]]
    holders = identity.role_holders(["rota_coordinator", "bank_admin"], places)
    assert [h["user_id"] for h in holders] == sorted([at_site["id"], on_bank["id"]])
    coordinator = next(h for h in holders if h["user_id"] == at_site["id"])
    assert coordinator["email"] == "coord@example.org"
    assert sorted(g["role"] for g in coordinator["roles"]) == ["leadership", "rota_coordinator"]
    assert identity.role_holders(["leadership"], [bank["id"]]) == []
    assert identity.get_bank(bank["id"]) == {"id": bank["id"], "name": "North"}
    assert identity.get_organisation(org["id"])["name"] == "Royal"
    assert identity.get_bank("missing") is None and identity.get_organisation("missing") is None
    with pytest.raises(Invalid):
        identity.role_holders("rota_coordinator", places)


def test_bad_payloads_are_refused_at_the_service_boundary_too(identity):
    with pytest.raises(Invalid) as refused:
        identity.create_bank({"name": "", "extra": 1})
    assert set(refused.value.errors) == {"name", "extra"}
