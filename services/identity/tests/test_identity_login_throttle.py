"""The login throttle over real RPC and PostgreSQL: per account (API.md: 429 after 10 failures in
15 minutes, the owner still gets in) and per client address, decided before any password hash."""

import pytest

from chassis.config import ConfigError, check_config
from chassis.errors import Invalid, TooManyRequests, Unauthorized
from identity.service import IdentityService
from identity.testing import count_password_checks

ADDRESS_LIMIT = 12  # above the account limit (10), so the first test meets that one first


@pytest.fixture
def identity(run_service, identity_config):
    return run_service(IdentityService, dict(identity_config, LOGIN_ADDRESS_FAILURE_LIMIT=ADDRESS_LIMIT))


@pytest.fixture
def hashes(monkeypatch):
    """Passwords identity has checked, each an argon2 hash."""
    return count_password_checks(monkeypatch)


@pytest.fixture
def nurse(identity, registration):
    bank = identity.create_bank({"name": "North"})
    identity.register_worker(registration(bank["id"]))
    return {"email": "nurse@example.org", "password": "correct horse battery"}


def _login(identity, credentials_, address, password=None):
    return identity.issue_token(dict(credentials_, password=password or credentials_["password"]), address)


def test_after_ten_failures_from_an_address_even_the_right_password_is_refused_there_unhashed(
    identity, nurse, hashes
):
    for _ in range(5):
        with pytest.raises(Unauthorized):
            _login(identity, nurse, "10.0.0.1", "wrong password")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            _login(identity, nurse, "10.0.0.2", "wrong password")
    # The account has its 10 failures: a wrong password is 429 (checked, and recorded, from a new place).
    with pytest.raises(TooManyRequests):
        _login(identity, nurse, "10.0.0.3", "wrong password")
    checked = len(hashes)
    for _ in range(5):  # 10.0.0.2 reaches the account's limit itself (checked: 429 now, as API.md says)
        with pytest.raises(TooManyRequests):
            _login(identity, nurse, "10.0.0.2", "wrong password")
    assert len(hashes) == checked + 5
    with pytest.raises(TooManyRequests):  # a right guess from there: refused without a hash
        _login(identity, nurse, "10.0.0.2")
    with pytest.raises(TooManyRequests):
        _login(identity, nurse, "10.0.0.2", "another guess")
    assert len(hashes) == checked + 5
    # Others' failures elsewhere never keep the owner out.
    assert _login(identity, nurse, "10.0.0.9")["access_token"]
    assert identity.issue_token(nurse)["access_token"]  # a caller that gives no address


def test_an_address_failing_on_many_accounts_is_refused_before_any_hash(identity, nurse, hashes):
    for n in range(ADDRESS_LIMIT):
        with pytest.raises(Unauthorized):
            _login(identity, {"email": f"guess{n}@example.org"}, "10.0.0.66", "password-1")
    assert len(hashes) == ADDRESS_LIMIT
    for n in range(20):
        with pytest.raises(TooManyRequests):
            _login(identity, {"email": f"more{n}@example.org"}, "10.0.0.66", "password-1")
    with pytest.raises(TooManyRequests):  # even an account's right password, from that address
        _login(identity, nurse, "10.0.0.66")
    assert len(hashes) == ADDRESS_LIMIT
    assert _login(identity, nurse, "10.0.0.7")["access_token"]  # another address is unaffected


def test_a_client_address_that_is_not_one_is_refused(identity, nurse):
    for address in ("", "x" * 46, 42):
        with pytest.raises(Invalid):
            _login(identity, nurse, address)


@pytest.mark.parametrize("password", ["        ", " \t\n \u3000   ", "short"])
def test_blank_or_short_passwords_are_refused(identity, registration, password):
    bank = identity.create_bank({"name": "North"})
    with pytest.raises(Invalid) as registering:
        identity.register_worker(registration(bank["id"], password=password))
    assert list(registering.value.errors) == ["password"]
    user = {"email": "staff@example.org", "password": password, "name": "Staff",
            "roles": [{"role": "bank_admin", "scope_type": "bank", "scope_id": bank["id"]}]}
    with pytest.raises(Invalid) as creating:
        identity.create_user(user)
    assert list(creating.value.errors) == ["password"]


@pytest.mark.parametrize("password", ["        ", "short"])
def test_identity_refuses_to_start_with_an_unusable_bootstrap_admin_password(identity_config, password):
    config = dict(identity_config, BOOTSTRAP_ADMIN_EMAIL="root@example.org",
                  BOOTSTRAP_ADMIN_PASSWORD=password)
    with pytest.raises(ConfigError, match="BOOTSTRAP_ADMIN_PASSWORD is not a usable password"):
        check_config(IdentityService, config)
    check_config(IdentityService, dict(config, BOOTSTRAP_ADMIN_PASSWORD="a usable password"))
