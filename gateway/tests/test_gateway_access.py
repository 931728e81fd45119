"""The gateway's one place for authorisation, as pure logic over a bank tree."""

import pytest

from chassis.auth import STAFF_ROLES, Actor, Grant, Principal, Scope
from gateway.access import BodyRef, GrantRefs, PathRef, authorise
from gateway.http import Call
from gateway.problems import Problem

TREE = {
    ("bank", "b1"): {"bank_id": "b1"},
    ("bank", "b2"): {"bank_id": "b2"},
    ("organisation", "o1"): {"bank_id": "b1", "organisation_id": "o1"},
    ("organisation", "o2"): {"bank_id": "b2", "organisation_id": "o2"},
    ("site", "s1"): {"bank_id": "b1", "organisation_id": "o1", "site_id": "s1"},
    ("worker", "w1"): {"bank_id": "b1", "worker_id": "w1"},
    ("worker", "w2"): {"bank_id": "b1", "worker_id": "w2"},
    ("document", "d1"): {"bank_id": "b1", "worker_id": "w1"},
}


def resolve(kind, resource_id):
    return TREE.get((kind, resource_id))


BANK_OF = {"b1": "b1", "b2": "b2", "o1": "b1", "o2": "b2", "s1": "b1"}


def principal(*grants, worker_id=None):
    """Grants as (role, scope_type, scope_id); the bank comes from the tree, as identity adds it."""
    return Principal("u", "u@example.org", "U",
                     tuple(Grant(*g, bank_id=BANK_OF.get(g[2])) for g in grants), worker_id)


def call(body=None, path=None):
    return Call(None, body or {}, {}, path or {}, None, "rid")


def status_of(fn):
    with pytest.raises(Problem) as raised:
        fn()
    return raised.value.status


def test_a_bank_grant_covers_its_organisations_and_sites_only():
    admin = principal(("bank_admin", "bank", "b1"))
    assert authorise(admin, ("bank_admin",), BodyRef("organisation_id", "organisation"),
                     call({"organisation_id": "o1"}), resolve)
    assert status_of(lambda: authorise(admin, ("bank_admin",), BodyRef("organisation_id", "organisation"),
                                       call({"organisation_id": "o2"}), resolve)) == 403
    assert status_of(lambda: authorise(admin, ("bank_admin",), BodyRef("organisation_id", "organisation"),
                                       call({"organisation_id": "missing"}), resolve)) == 422


def test_resources_in_the_path_outside_scope_look_absent():
    admin = principal(("bank_admin", "bank", "b2"))
    assert status_of(lambda: authorise(admin, ("bank_admin",), PathRef("id", "worker"),
                                       call(path={"id": "w1"}), resolve)) == 404


def test_a_worker_reaches_its_own_resources_and_no_one_elses():
    ada = principal(("worker", "bank", "b1"), worker_id="w1")
    assert authorise(ada, ("worker",), PathRef("id", "worker"), call(path={"id": "w1"}), resolve)
    assert status_of(lambda: authorise(ada, ("worker",), PathRef("id", "worker"),
                                       call(path={"id": "w2"}), resolve)) == 404


def test_only_grants_on_the_bank_reach_its_workers():
    """API.md "Roles and scope": a worker's profile, documents and compliance are reached through
    grants on the bank (or the platform), never one organisation's or site's."""
    roles = ("bank_admin", "leadership")
    for ref, path in ((PathRef("id", "worker"), {"id": "w1"}), (PathRef("id", "document"), {"id": "d1"})):
        for grant in (("bank_admin", "bank", "b1"), ("platform_admin", "platform", None)):
            assert authorise(principal(grant), roles, ref, call(path=path), resolve)
        for grant in (("bank_admin", "site", "s1"), ("bank_admin", "organisation", "o1"),
                      ("leadership", "site", "s1"), ("bank_admin", "bank", "b2"),
                      ("bank_admin", "organisation", "o2")):
            with pytest.raises(Problem) as refused:
                authorise(principal(grant), roles, ref, call(path=path), resolve)
            assert refused.value.status == 404, grant


def test_staff_of_a_site_or_organisation_of_the_bank_are_let_through_in_part_only_where_a_route_says():
    """GET /v1/workers/{id} (`in_part`): they are let through holding no capacity over the worker,
    and the route then shows the public part of a worker of their shifts, or 404 (routes/identity.py)."""
    in_part = PathRef("id", "worker", in_part=STAFF_ROLES)
    roles = STAFF_ROLES + ("worker",)
    for grant in (("rota_coordinator", "site", "s1"), ("leadership", "organisation", "o1"),
                  ("bank_admin", "site", "s1"), ("timesheet_approver", "site", "s1")):
        narrow = principal(grant)
        assert authorise(narrow, roles, in_part, call(path={"id": "w1"}), resolve) == [
            Scope(bank_id="b1", worker_id="w1")]
        assert Actor.of(narrow, {"profile": STAFF_ROLES}, Scope(bank_id="b1", worker_id="w1")).capacities \
            == frozenset()
        assert narrow.places_in_bank(STAFF_ROLES, "b1") == {
            "organisation": ["o1"] if grant[1] == "organisation" else [],
            "site": ["s1"] if grant[1] == "site" else []}
        assert status_of(lambda narrow=narrow: authorise(  # without in_part: unseen
            narrow, roles, PathRef("id", "worker"), call(path={"id": "w1"}), resolve)) == 404
    # another bank's staff, and another worker of the bank, are refused as before
    for outsider in (principal(("rota_coordinator", "organisation", "o2")),
                     principal(("worker", "bank", "b1"), worker_id="w2")):
        assert status_of(lambda outsider=outsider: authorise(
            outsider, roles, in_part, call(path={"id": "w1"}), resolve)) == 404
    # only the roles `in_part` names: an agency granted on an organisation of the bank is not staff
    agency = principal(("agency", "organisation", "o1"))
    assert status_of(lambda: authorise(agency, roles + ("agency",), in_part, call(path={"id": "w1"}),
                                       resolve)) == 404


def test_ids_of_the_wrong_type_are_left_for_validation():
    admin = principal(("bank_admin", "bank", "b1"))
    assert authorise(admin, ("bank_admin",), BodyRef("bank_id", "bank"), call({"bank_id": 7}), resolve) == []


def test_roles_are_checked_before_anything_is_resolved():
    coordinator = principal(("rota_coordinator", "site", "s1"))

    def explode(kind, resource_id):
        raise AssertionError("resolved before the role check")

    assert status_of(lambda: authorise(coordinator, ("bank_admin",), BodyRef("bank_id", "bank"),
                                       call({"bank_id": "b1"}), explode)) == 403


def test_granting_roles_needs_scope_over_every_grant():
    admin = principal(("bank_admin", "bank", "b1"))
    grants = {"roles": [{"role": "rota_coordinator", "scope_type": "site", "scope_id": "s1"}]}
    assert authorise(admin, ("bank_admin",), GrantRefs(), call(grants), resolve)
    platform = {"roles": [{"role": "platform_admin", "scope_type": "platform", "scope_id": None}]}
    assert status_of(lambda: authorise(admin, ("bank_admin",), GrantRefs(), call(platform), resolve)) == 403
    root = principal(("platform_admin", "platform", None))
    assert authorise(root, ("bank_admin",), GrantRefs(), call(platform), resolve)
