"""Settings from the environment, with the defaults of API.md "Configuration".

Every service reads the same variables; nothing here is service-specific except
the database name, which is always `staffbank_<service>` on the `DATABASE_URL`
server unless `<SERVICE>_DATABASE_URL` names a whole URL for that one service.
"""

import collections
import math
import os
import re
from urllib.parse import urlsplit, urlunsplit

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432"

# Event retry schedule (seconds between attempts) before a message is dead-lettered.
DEFAULT_EVENT_RETRY_DELAYS = "1,5,30,120"

# How long an Idempotency-Key is honoured: the gateway keeps its keys, and every service the
# results it committed under one, this long (one setting for both, so neither outlives the other).
DEFAULT_IDEMPOTENCY_RETENTION_HOURS = 24

# The signing key: long, random, and not one of the examples people copy (README "Configuration").
MIN_SIGNING_KEY_LENGTH = 32
MIN_SIGNING_KEY_BITS_PER_CHARACTER = 2.5  # a random hex key of 32 characters has ~3.5; "key-xxxx..." ~2
PLACEHOLDER_WORDS = ("changeme", "changethis", "replaceme", "placeholder", "example", "secret",
                     "password", "yourkey")
KEY_ADVICE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class ConfigError(RuntimeError):
    """A setting a process cannot start with; the message names the variable."""


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def number(name, default, kind=int, minimum=None):
    """A numeric setting from the environment; ConfigError naming it if it is not a number."""
    raw = env(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def amqp_uri():
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def database_server_url():
    return env("DATABASE_URL", DEFAULT_DATABASE_URL)


def with_database(server_url, database):
    """The URL of `database` on the server `server_url` (any path is replaced)."""
    parts = urlsplit(server_url)
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+psycopg2"
    return urlunsplit((scheme, parts.netloc, "/" + database, parts.query, ""))


def database_url(service):
    explicit = env(f"{service.upper()}_DATABASE_URL")
    if explicit:
        return with_database(explicit, urlsplit(explicit).path.lstrip("/"))
    return with_database(database_server_url(), f"staffbank_{service}")


def seconds_list(name, default):
    """A comma-separated list of seconds from the environment ("1,5,30")."""
    raw = env(name, default)
    try:
        return [float(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name} must be seconds separated by commas (e.g. {default!r}), not {raw!r}") \
            from None


def event_retry_delays():
    return seconds_list("EVENT_RETRY_DELAYS", DEFAULT_EVENT_RETRY_DELAYS)


def nameko_config(service, **overrides):
    """The nameko container config for `service`."""
    config = {
        "AMQP_URI": amqp_uri(),
        "DB_URL": database_url(service),
        "EVENT_RETRY_DELAYS": event_retry_delays(),
        "max_workers": number("MAX_WORKERS", 10, minimum=1),
        "serializer": "json",
        "TOKEN_SIGNING_KEY": env("TOKEN_SIGNING_KEY"),
        "TOKEN_TTL_SECONDS": number("TOKEN_TTL_SECONDS", 3600, minimum=1),
        "IDEMPOTENCY_RETENTION_HOURS": number("IDEMPOTENCY_RETENTION_HOURS",
                                              DEFAULT_IDEMPOTENCY_RETENTION_HOURS, kind=float, minimum=1),
        "BOOTSTRAP_ADMIN_EMAIL": env("BOOTSTRAP_ADMIN_EMAIL"),
        "BOOTSTRAP_ADMIN_PASSWORD": env("BOOTSTRAP_ADMIN_PASSWORD"),
        # identity: failed logins from one client address (any emails) in 15 minutes before it is refused
        "LOGIN_ADDRESS_FAILURE_LIMIT": number("LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1),
        # gateway: reverse proxies in front of it that append the client to X-Forwarded-For (0: none)
        "LOGIN_TRUSTED_PROXIES": number("LOGIN_TRUSTED_PROXIES", 0, minimum=0),
        "WEB_SERVER_ADDRESS": f"{env('GATEWAY_HOST', '127.0.0.1')}:{env('GATEWAY_PORT', '8080')}",
        # gateway: a client connection idle (or trickling its request) this long is closed
        "GATEWAY_SOCKET_TIMEOUT_SECONDS": number("GATEWAY_SOCKET_TIMEOUT_SECONDS", 20, kind=float, minimum=1),
        # gateway: how long a caller's account and grants are remembered (at most 1 s: API.md)
        "PRINCIPAL_CACHE_SECONDS": number("PRINCIPAL_CACHE_SECONDS", 0.5, kind=float, minimum=0),
        # notifications: email over SMTP, links to the portal, the digest and send retries
        "SMTP_HOST": env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": number("SMTP_PORT", 1025, minimum=1),
        "SMTP_SENDER": env("SMTP_SENDER", "staffbank@localhost"),
        "PORTAL_URL": env("PORTAL_URL", "http://127.0.0.1:8080/portal/"),
        "NOTIFICATION_DIGEST_LIMIT": number("NOTIFICATION_DIGEST_LIMIT", 5, minimum=0),
        "NOTIFICATION_RETRY_DELAYS": seconds_list("NOTIFICATION_RETRY_DELAYS", "30,120,600,3600"),
        # Prometheus metrics of this process (chassis.metrics); unset: not served
        "METRICS_PORT": number("METRICS_PORT", 0, minimum=0) or None,
        "METRICS_ADDRESS": env("METRICS_ADDRESS", "127.0.0.1"),
    }
    config.update(overrides)
    return config


def idempotency_retention_hours(config):
    """IDEMPOTENCY_RETENTION_HOURS from a container config (the default where a test's config has none)."""
    return float(config.get("IDEMPOTENCY_RETENTION_HOURS") or DEFAULT_IDEMPOTENCY_RETENTION_HOURS)


def signing_key_problem(key):
    """Why `key` cannot sign tokens (missing, short, a known placeholder, too predictable), or None."""
    if not key:
        return "is not set"
    if len(key) < MIN_SIGNING_KEY_LENGTH:
        return f"is {len(key)} characters long; it must have at least {MIN_SIGNING_KEY_LENGTH}"
    letters = re.sub(r"[^a-z0-9]", "", key.lower())
    for word in PLACEHOLDER_WORDS:
        if word in letters:
            return (f"looks like a placeholder (it contains {word!r}): anyone who has read the example "
                    "can forge tokens")
    counts = collections.Counter(key)
    bits = sum(n / len(key) * math.log2(len(key) / n) for n in counts.values())  # Shannon, per character
    if bits < MIN_SIGNING_KEY_BITS_PER_CHARACTER:
        return (f"is too predictable ({len(counts)} distinct characters, {bits:.1f} bits per character; "
                f"at least {MIN_SIGNING_KEY_BITS_PER_CHARACTER} needed)")
    return None


def check_signing_key(key, name="TOKEN_SIGNING_KEY"):
    """`key` if it is fit to sign tokens; ConfigError naming `name` and saying why otherwise."""
    problem = signing_key_problem(key)
    if problem is not None:
        raise ConfigError(f"{name} {problem}; {KEY_ADVICE}")
    return key


# What each required setting must be, beyond present (a setting without a checker needs a value).
CHECKS = {"TOKEN_SIGNING_KEY": check_signing_key}
ALWAYS_REQUIRED = ("AMQP_URI", "DB_URL")


def check_config(service_cls, config):
    """Refuse to start (ConfigError, every problem named) unless `config` has what `service_cls` needs:
    the broker and database, and what its class lists in `required_config` (e.g. identity and the
    gateway need TOKEN_SIGNING_KEY), and what its `config_problems(config)` finds if it has one
    (identity: the bootstrap admin's password). Run at start, so a missing key is not found at the
    first request."""
    problems = []
    for name in ALWAYS_REQUIRED + tuple(getattr(service_cls, "required_config", ())):
        value = config.get(name)
        check = CHECKS.get(name)
        try:
            if check is not None:
                check(value, name)
            elif value in (None, ""):
                raise ConfigError(f"{name} is not set")
        except ConfigError as exc:
            problems.append(str(exc))
    service_problems = getattr(service_cls, "config_problems", None)  # a service's own settings
    if service_problems is not None:
        problems += service_problems(config)
    if problems:
        raise ConfigError("; ".join(problems))
