"""Identity's pure rules."""

import pytest

from chassis.errors import Conflict, Invalid, TooManyRequests, Unauthorized
from identity import domain


@pytest.mark.parametrize("current,target", [
    ("applied", "onboarding"), ("onboarding", "active"), ("active", "suspended"),
    ("suspended", "active"), ("applied", "active"), ("active", "left"), ("applied", "left"),
])
def test_allowed_transitions(current, target):
    assert domain.transition(current, target) == target


@pytest.mark.parametrize("current,target", [
    ("left", "active"), ("applied", "suspended"), ("suspended", "onboarding"), ("active", "applied"),
    ("onboarding", "suspended"),
])
def test_refused_transitions(current, target):
    with pytest.raises(Conflict):
        domain.transition(current, target)


def test_moving_to_the_current_status_is_a_no_op():
    assert domain.transition("active", "active") is None


def test_bank_numbers_are_zero_padded_and_keep_growing():
    assert domain.format_bank_number(1) == "W000001"
    assert domain.format_bank_number(1234567) == "W1234567"


def test_grants_must_suit_their_scope():
    domain.validate_grants([{"role": "bank_admin", "scope_type": "bank", "scope_id": "b1"}])
    domain.validate_grants([{"role": "platform_admin", "scope_type": "platform", "scope_id": None}])
    for bad in (
        {"role": "platform_admin", "scope_type": "bank", "scope_id": "b1"},
        {"role": "bank_admin", "scope_type": "platform", "scope_id": None},
        {"role": "rota_coordinator", "scope_type": "site", "scope_id": None},
        {"role": "worker", "scope_type": "bank", "scope_id": "b1"},
        {"role": "agency", "scope_type": "site", "scope_id": "s1"},
    ):
        with pytest.raises(Invalid):
            domain.validate_grants([bad])


def test_login_throttle_starts_after_ten_failures():
    assert not domain.login_throttled(9)
    assert domain.login_throttled(10)


def test_a_wrong_password_is_refused_and_throttled_but_the_right_one_always_gets_in():
    assert domain.check_login(domain.LoginAttempt(user_id="u1", throttled=True)) == "u1"
    with pytest.raises(Unauthorized):
        domain.check_login(domain.LoginAttempt(user_id=None))
    with pytest.raises(TooManyRequests):
        domain.check_login(domain.LoginAttempt(user_id=None, throttled=True))


@pytest.mark.parametrize("current,cleared,target", [
    ("applied", True, "active"), ("onboarding", True, "active"), ("suspended", True, "active"),
    ("active", True, None), ("left", True, None),
    ("active", False, "suspended"), ("onboarding", False, None), ("suspended", False, None),
])
def test_compliance_facts_activate_and_suspend(current, cleared, target):
    assert domain.status_after_compliance(current, cleared) == target


def test_only_an_applied_worker_starts_onboarding_and_only_newer_facts_count():
    assert domain.status_after_first_document("applied") == "onboarding"
    assert domain.status_after_first_document("suspended") is None
    assert domain.is_newer_fact(3, 2) and not domain.is_newer_fact(2, 2)


def test_repeated_grants_count_once_and_emails_ignore_case():
    grant = {"role": "bank_admin", "scope_type": "bank", "scope_id": "b1"}
    assert domain.distinct_grants([grant, dict(grant)]) == [grant]
    assert domain.normalise_email(" Nurse@Example.ORG ") == "nurse@example.org"


@pytest.mark.parametrize(("current", "cleared", "steps"), [
    ("applied", True, ["active", "suspended"]), ("onboarding", True, ["active", "suspended"]),
    ("active", True, []), ("suspended", True, []), ("left", True, []),
    ("applied", False, []), ("onboarding", False, []), ("active", False, []), ("suspended", False, []),
])
def test_a_late_fact_moves_only_a_never_activated_worker_a_late_clearance_says_was_active(
        current, cleared, steps):
    assert [status for status, _ in domain.statuses_after_late_fact(current, cleared)] == steps


BANK = {"bank_id": "b"}
ORG, ORG2 = ({"bank_id": "b", "organisation_id": o} for o in ("o", "o2"))
SITE, SITE2 = ({"bank_id": "b", "organisation_id": "o", "site_id": s} for s in ("s", "s2"))


@pytest.mark.parametrize("places,expected", [
    ([SITE], SITE), ([SITE, SITE], SITE), ([SITE, SITE2], ORG), ([SITE, ORG], ORG), ([SITE, ORG2], BANK),
    ([SITE, BANK], BANK), ([SITE, {"bank_id": "other"}], {}), ([SITE, None], {}), ([None], {}), ([], {}),
])
def test_an_account_sits_at_the_narrowest_place_holding_all_its_grants(places, expected):
    assert domain.user_place(places) == expected


def test_a_deactivated_account_does_not_log_in_even_with_the_right_password():
    with pytest.raises(Unauthorized):
        domain.check_login(domain.LoginAttempt(user_id="u", deactivated=True))
    assert domain.check_login(domain.LoginAttempt(user_id="u")) == "u"


def test_an_account_keeps_a_grant_and_a_deactivated_one_keeps_its_roles():
    with pytest.raises(Invalid):
        domain.check_keeps_a_grant(0)
    domain.check_keeps_a_grant(1)
    with pytest.raises(Conflict):
        domain.check_active("2026-01-01T00:00:00+00:00")
    domain.check_active(None)
