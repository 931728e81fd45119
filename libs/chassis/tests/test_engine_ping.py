"""A pooled connection is pinged only after it sat idle (chassis.engines): a connection used a
moment ago goes straight to work, one the database dropped while it sat idle is replaced."""

import time

import psycopg2
import pytest
import sqlalchemy as sa

from chassis import engines


@pytest.fixture
def engine(ledger_db, monkeypatch):
    monkeypatch.setattr(engines, "PING_AFTER_IDLE_SECONDS", 0.3)
    engine = engines.engine_for(ledger_db)
    yield engine
    engines.dispose_engines()


def _connect(db_url):
    """A plain driver connection beside the pool."""
    url = sa.make_url(db_url).set(drivername="postgresql")
    return psycopg2.connect(url.render_as_string(hide_password=False))


def _last_statement_of(db_url, pid):
    """What the backend `pid` ran last, asked over a connection of its own."""
    with _connect(db_url) as watcher, watcher.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,))
        return cursor.fetchone()[0]


def _terminate(db_url, pid):
    with _connect(db_url) as killer, killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _pid(connection):
    return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def test_a_connection_used_a_moment_ago_is_not_pinged(engine, ledger_db):
    with engine.connect() as connection:
        pid = _pid(connection)
    last = _last_statement_of(ledger_db, pid)
    with engine.connect() as connection:  # checked out again at once: no round trip before our own
        assert connection.connection.dbapi_connection.get_backend_pid() == pid
        assert _last_statement_of(ledger_db, pid) == last


def test_an_idle_connection_is_pinged_before_it_is_handed_out(engine, ledger_db):
    with engine.connect() as connection:
        pid = _pid(connection)
    time.sleep(0.5)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.get_backend_pid() == pid
        assert _last_statement_of(ledger_db, pid) == "SELECT 1"


def test_an_idle_connection_the_database_dropped_is_replaced(engine, ledger_db):
    with engine.connect() as connection:
        dropped = _pid(connection)
    _terminate(ledger_db, dropped)
    time.sleep(0.5)
    with engine.connect() as connection:  # no error: the ping found it dead and the pool reconnected
        assert _pid(connection) != dropped
