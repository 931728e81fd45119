"""One SQLAlchemy engine per database URL per process, on a driver that yields to eventlet."""

import threading
import time

import psycogreen.eventlet
import sqlalchemy as sa

# psycopg2 waits on sockets in C; a wait callback makes it yield to eventlet's hub
# instead, so one slow query does not stall every other worker in the process.
# eventlet.monkey_patch() installs one too when psycopg patching is on; setting it
# here makes the guarantee independent of how the process was monkey-patched.
# (Proved by chassis/tests/test_cooperative_db.py, which fails without a callback.)
psycogreen.eventlet.patch_psycopg()

# A pooled connection idle longer than this is pinged before it is handed out, and replaced if
# the database dropped it (a restart, a failover, an idle timeout). One used within the last
# PING_AFTER_IDLE_SECONDS is handed out as it is: under load every connection is that fresh, and
# SQLAlchemy's `pool_pre_ping` would spend a round trip on every unit of work (about 15 % of
# applying an event to matching's model: benchmarks/matching.py). What that gives up: a
# connection the database dropped less than a second after it was last used fails its first
# statement; SQLAlchemy then recycles the whole pool (a disconnect invalidates every older
# connection), so each process sees that once per outage, when in-flight work fails anyway, and
# the failure is what an outage already gives (an event retried, an RPC's 503 with Retry-After).
PING_AFTER_IDLE_SECONDS = 1.0

_engines = {}
_lock = threading.Lock()


def engine_for(url, pool_size=10):
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)
            _ping_when_idle(engine)
            _engines[url] = engine
        return engine


def _ping_when_idle(engine):
    """`pool_pre_ping`, but only for connections idle longer than PING_AFTER_IDLE_SECONDS."""

    @sa.event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS:
            return  # new, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError(str(error)) from error  # the pool connects afresh
        if not alive:
            raise sa.exc.DisconnectionError("the database did not answer a ping")


def dispose_engines():
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
