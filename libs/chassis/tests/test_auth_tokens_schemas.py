"""Pure chassis pieces: scope coverage, tokens, strict boundary fields, cursors."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from marshmallow import ValidationError

from chassis import tokens
from chassis.auth import Grant, Principal, Scope, worker_bank_ids
from chassis.errors import Invalid
from chassis.schemas import SafeString, StrictBool, StrictNumber, StrictSchema, decode_cursor, encode_cursor

KEY = "k" * 40


def test_grants_cover_downwards_never_upwards_or_sideways():
    site = Scope(bank_id="b", organisation_id="o", site_id="s")
    assert site.covered_by(Grant("bank_admin", "bank", "b"))
    assert site.covered_by(Grant("bank_admin", "organisation", "o"))
    assert site.covered_by(Grant("rota_coordinator", "site", "s"))
    assert not Scope(bank_id="b", organisation_id="o").covered_by(Grant("rota_coordinator", "site", "s"))
    assert not site.covered_by(Grant("bank_admin", "bank", "other"))


def test_a_workers_resources_are_reached_only_through_its_bank_or_the_platform():
    """API.md "Roles and scope": never through a grant on one organisation or site of the bank."""
    worker = Scope(bank_id="b", worker_id="w")
    assert worker.covered_by(Grant("bank_admin", "bank", "b", bank_id="b"))
    assert worker.covered_by(Grant("platform_admin", "platform"))
    for narrow in (Grant("bank_admin", "organisation", "o", bank_id="b"),
                   Grant("bank_admin", "site", "s", bank_id="b"),
                   Grant("leadership", "site", "s", bank_id="b"),
                   Grant("agency", "organisation", "o", bank_id="b"),
                   Grant("bank_admin", "bank", "other", bank_id="other")):
        assert not worker.covered_by(narrow), narrow
    site_admin = Principal("u", "e", "n", (Grant("bank_admin", "site", "s", bank_id="b"),))
    assert not site_admin.may(("bank_admin",), worker)
    ada = Principal("u", "e", "n", (Grant("worker", "bank", "b", bank_id="b"),), worker_id="w")
    assert ada.may(("worker",), worker) and not ada.may(("worker",), Scope(bank_id="b", worker_id="x"))


def test_worker_lists_reach_only_banks_granted_whole():
    assert worker_bank_ids(None) is None
    assert worker_bank_ids({"bank": {"b"}, "organisation": {"o"}, "site": {"s"}}) == {"b"}
    assert worker_bank_ids({"bank": set(), "organisation": set(), "site": {"s"}}) == set()


def test_list_scopes_are_unrestricted_only_for_platform_admins():
    root = Principal("u", "e", "n", (Grant("platform_admin", "platform"),))
    coordinator = Principal("u", "e", "n", (Grant("rota_coordinator", "site", "s"),))
    assert root.scope_ids(("bank_admin",)) is None
    assert coordinator.scope_ids(("rota_coordinator",)) == {"bank": set(), "organisation": set(),
                                                            "site": {"s"}}
    assert coordinator.scope_ids(("bank_admin",)) == {"bank": set(), "organisation": set(), "site": set()}


def test_tokens_round_trip_and_expire():
    now = datetime.now(UTC)
    assert tokens.verify(KEY, tokens.issue(KEY, "user-1", 60, now=now)) == "user-1"
    stale = tokens.issue(KEY, "user-1", 60, now=now - timedelta(minutes=5))
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(KEY, stale)


def test_unsigned_and_foreign_tokens_are_refused():
    claims = {"sub": "u", "iss": "staffbank", "iat": 1, "exp": 2**31}
    for token in (jwt.encode(claims, None, algorithm="none"),
                  jwt.encode(claims, "x" * 40, algorithm="HS256"),
                  jwt.encode({"sub": "u", "exp": 2**31, "iat": 1}, KEY, algorithm="HS256")):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(KEY, token)


def test_a_short_or_missing_signing_key_refuses_to_start():
    for config in ({}, {"TOKEN_SIGNING_KEY": "short"}):
        with pytest.raises(RuntimeError):
            tokens.signing_key(config)


class Sample(StrictSchema):
    number = StrictNumber()
    flag = StrictBool()


@pytest.mark.parametrize("payload", [{"number": "1.5"}, {"number": True}, {"flag": "true"}, {"flag": 1},
                                     {"other": 1}])
def test_boundary_fields_refuse_wrong_json_types(payload):
    with pytest.raises(ValidationError):
        Sample().load(payload)


def test_cursors_round_trip_and_forged_ones_are_422():
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor([moment.isoformat(), "id-1"])) == (moment, "id-1")
    for forged in ("!!!", encode_cursor(["yesterday", "id"]), encode_cursor([moment.isoformat(), 5]),
                   encode_cursor({"a": 1}), encode_cursor([moment.isoformat(), "a\x00b"]),
                   encode_cursor([moment.isoformat(), "\ud800"])):
        with pytest.raises(Invalid):
            decode_cursor(forged)


def test_safe_strings_refuse_what_utf8_or_postgresql_cannot_hold():
    field = SafeString()
    assert field.deserialize("Ward 7") == "Ward 7"
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(ValidationError):
            field.deserialize(bad)
