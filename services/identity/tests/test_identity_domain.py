"""Identity's pure rules."""

import pytest

from chassis.errors import Conflict, Invalid
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
