"""One SQLAlchemy engine per database URL per process, on a driver that yields to eventlet."""

import threading

import psycogreen.eventlet
import sqlalchemy as sa

# psycopg2 waits on sockets in C; a wait callback makes it yield to eventlet's hub
# instead, so one slow query does not stall every other worker in the process.
# eventlet.monkey_patch() installs one too when psycopg patching is on; setting it
# here makes the guarantee independent of how the process was monkey-patched.
# (Proved by chassis/tests/test_cooperative_db.py, which fails without a callback.)
psycogreen.eventlet.patch_psycopg()

_engines = {}
_lock = threading.Lock()


def engine_for(url, pool_size=10):
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            _engines[url] = engine
        return engine


def dispose_engines():
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
