"""Settings from the environment, with the defaults of API.md "Configuration".

Every service reads the same variables; nothing here is service-specific except
the database name, which is always `staffbank_<service>` on the `DATABASE_URL`
server unless `<SERVICE>_DATABASE_URL` names a whole URL for that one service.
"""

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432"

# Event retry schedule (seconds between attempts) before a message is dead-lettered.
DEFAULT_EVENT_RETRY_DELAYS = "1,5,30,120"


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


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
    return [float(part) for part in env(name, default).split(",") if part.strip()]


def event_retry_delays():
    return seconds_list("EVENT_RETRY_DELAYS", DEFAULT_EVENT_RETRY_DELAYS)


def nameko_config(service, **overrides):
    """The nameko container config for `service`."""
    config = {
        "AMQP_URI": amqp_uri(),
        "DB_URL": database_url(service),
        "EVENT_RETRY_DELAYS": event_retry_delays(),
        "max_workers": int(env("MAX_WORKERS", "10")),
        "serializer": "json",
        "TOKEN_SIGNING_KEY": env("TOKEN_SIGNING_KEY"),
        "TOKEN_TTL_SECONDS": int(env("TOKEN_TTL_SECONDS", "3600")),
        "BOOTSTRAP_ADMIN_EMAIL": env("BOOTSTRAP_ADMIN_EMAIL"),
        "BOOTSTRAP_ADMIN_PASSWORD": env("BOOTSTRAP_ADMIN_PASSWORD"),
        "WEB_SERVER_ADDRESS": f"{env('GATEWAY_HOST', '127.0.0.1')}:{env('GATEWAY_PORT', '8080')}",
        # notifications: email over SMTP, links to the portal, the digest and send retries
        "SMTP_HOST": env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env("SMTP_PORT", "1025")),
        "SMTP_SENDER": env("SMTP_SENDER", "staffbank@localhost"),
        "PORTAL_URL": env("PORTAL_URL", "http://127.0.0.1:8080/portal/"),
        "NOTIFICATION_DIGEST_LIMIT": int(env("NOTIFICATION_DIGEST_LIMIT", "5")),
        "NOTIFICATION_RETRY_DELAYS": seconds_list("NOTIFICATION_RETRY_DELAYS", "30,120,600,3600"),
    }
    config.update(overrides)
    return config
