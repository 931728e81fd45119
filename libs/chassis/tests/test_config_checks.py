"""Configuration is checked when a process starts, not at its first request: a missing, short,
placeholder or predictable TOKEN_SIGNING_KEY stops identity and the gateway with a message naming
it (a gateway without a usable key must not report ready and answer 500)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from chassis import tokens
from chassis.config import ConfigError, check_config, check_signing_key, nameko_config
from chassis.testing import TEST_SIGNING_KEY
from chassis.tests.conftest import LedgerService

ROOT = Path(__file__).resolve().parents[3]
K8S_EXAMPLE = "change-me-to-a-long-random-secret-of-32-plus-chars"  # what deploy/k8s once shipped


@pytest.mark.parametrize("key", [secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_hex(16),
                                 secrets.token_hex(32), TEST_SIGNING_KEY])
def test_random_keys_are_accepted(key):
    assert check_signing_key(key) == key
    assert tokens.signing_key({"TOKEN_SIGNING_KEY": key}) == key


@pytest.mark.parametrize("key, reason", [
    (None, "is not set"),
    ("", "is not set"),
    (secrets.token_urlsafe(16)[:31], "at least 32"),
    (K8S_EXAMPLE, "placeholder"),
    ("changeme" + secrets.token_urlsafe(32), "placeholder"),
    ("Change_Me-" + secrets.token_urlsafe(32), "placeholder"),
    ("my-super-secret-" + secrets.token_urlsafe(32), "placeholder"),
    ("an-example-" + secrets.token_urlsafe(32), "placeholder"),
    ("placeholder-" + secrets.token_urlsafe(32), "placeholder"),
    ("x" * 64, "too predictable"),
    ("test-signing-key-" + "x" * 32, "too predictable"),
    ("abababababababababababababababababab", "too predictable"),
])
def test_missing_short_placeholder_and_predictable_keys_are_refused(key, reason):
    with pytest.raises(ConfigError) as refused:
        check_signing_key(key)
    assert str(refused.value).startswith("TOKEN_SIGNING_KEY ") and reason in str(refused.value)
    with pytest.raises(RuntimeError):
        tokens.signing_key({"TOKEN_SIGNING_KEY": key})


class NeedsKey:
    name = "needs-key"
    required_config = ("TOKEN_SIGNING_KEY",)


class NeedsNothing:
    name = "needs-nothing"


def test_check_config_names_every_missing_or_unusable_setting():
    base = {"AMQP_URI": "amqp://x", "DB_URL": "postgresql://x/db"}
    check_config(NeedsNothing, base)  # no key needed, none asked for
    check_config(NeedsKey, {**base, "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY})
    with pytest.raises(ConfigError, match="TOKEN_SIGNING_KEY is not set"):
        check_config(NeedsKey, base)
    with pytest.raises(ConfigError, match="TOKEN_SIGNING_KEY looks like a placeholder"):
        check_config(NeedsKey, {**base, "TOKEN_SIGNING_KEY": K8S_EXAMPLE})
    with pytest.raises(ConfigError) as refused:
        check_config(NeedsKey, {"AMQP_URI": ""})
    assert all(name in str(refused.value) for name in ("AMQP_URI", "DB_URL", "TOKEN_SIGNING_KEY"))


@pytest.mark.parametrize("name, value", [("TOKEN_TTL_SECONDS", "an hour"), ("MAX_WORKERS", "0"),
                                         ("IDEMPOTENCY_RETENTION_HOURS", "1 day"), ("SMTP_PORT", "smtp"),
                                         ("EVENT_RETRY_DELAYS", "1,five")])
def test_a_setting_that_is_not_a_number_is_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        nameko_config("identity")


def test_the_retention_is_one_setting_for_every_process(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_RETENTION_HOURS", raising=False)
    assert nameko_config("gateway")["IDEMPOTENCY_RETENTION_HOURS"] == 24
    monkeypatch.setenv("IDEMPOTENCY_RETENTION_HOURS", "48")
    assert {nameko_config(s)["IDEMPOTENCY_RETENTION_HOURS"] for s in ("gateway", "identity")} == {48}


def _start(spec, key):
    env = {k: v for k, v in os.environ.items() if k != "TOKEN_SIGNING_KEY"}
    if key is not None:
        env["TOKEN_SIGNING_KEY"] = key
    # an unreachable database: the check comes before anything is touched
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1"
    return subprocess.run([sys.executable, "-m", "chassis.runner", spec], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("spec, name", [("gateway.service:GatewayService", "gateway"),
                                        ("identity.service:IdentityService", "identity")])
@pytest.mark.parametrize("key", [None, K8S_EXAMPLE, "k" * 40])
def test_a_process_that_needs_the_key_refuses_to_start_without_a_usable_one(spec, name, key):
    finished = _start(spec, key)
    assert finished.returncode == 78, finished.stdout + finished.stderr
    assert f"{name} cannot start: TOKEN_SIGNING_KEY" in finished.stderr
    assert "started" not in finished.stdout


class KeyedLedger(LedgerService):
    name = "keyed-ledger"
    required_config = ("TOKEN_SIGNING_KEY",)


def test_a_container_started_in_process_refuses_an_unusable_key(container_factory, make_config, ledger_db):
    for key in (None, K8S_EXAMPLE):
        container = container_factory(KeyedLedger, make_config(ledger_db, TOKEN_SIGNING_KEY=key))
        with pytest.raises(ConfigError, match="TOKEN_SIGNING_KEY"):
            container.start()
    container_factory(KeyedLedger, make_config(ledger_db)).start()  # the test key is a usable one
