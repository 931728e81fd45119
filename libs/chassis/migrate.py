"""Create a service's database if missing and bring it to the latest schema.

Two Alembic histories per database: the chassis's (outbox, inbox; version table
`chassis_alembic_version`) and the service's own (`alembic_version`). Both are run
by `migrate(service_name, migrations_dir, url)`, at every service start (a no-op
when current) and by the test fixtures. A PostgreSQL advisory lock serialises
replicas starting together.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import make_url

CHASSIS_MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 7_411_2026


def create_database_if_missing(url):
    url = make_url(url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                try:
                    conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
                except (sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
                    # created meanwhile by a replica starting at the same time
                    if getattr(exc.orig, "pgcode", None) not in ("42P04", "23505"):
                        raise
    finally:
        admin.dispose()


def drop_database(url):
    url = make_url(url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _upgrade(connection, script_location, version_table):
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_table", version_table)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def migrate(url, migrations_dir=None):
    """Create the database if needed and run chassis then service migrations."""
    create_database_if_missing(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            try:
                _upgrade(connection, CHASSIS_MIGRATIONS, "chassis_alembic_version")
                if migrations_dir is not None:
                    _upgrade(connection, migrations_dir, "alembic_version")
                connection.commit()
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()
    finally:
        engine.dispose()


def run_alembic_env(target_metadata):
    """The body of every migrations/env.py: online mode on the connection we pass in."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` CLI use: connect from sqlalchemy.url
        engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection, config, target_metadata)
            connection.commit()
        return
    _run(connection, config, target_metadata)


def _run(connection, config, target_metadata):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=config.get_main_option("version_table") or "alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()
