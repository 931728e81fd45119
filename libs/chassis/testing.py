"""pytest plugin every service's tests use (loaded by the root conftest).

Infrastructure: testcontainers (RabbitMQ with management, PostgreSQL) when a
Docker engine answers; otherwise the servers named by TEST_AMQP_URI,
TEST_RABBIT_API_URI and TEST_DATABASE_URL (defaults: this machine's). The run
stops with the reason if neither can be reached: tests never skip for it.

Isolation: nameko's `rabbit_config` gives each test its own vhost; each service's
test database is created and migrated once per session and emptied before each
test that asks for it.
"""

import json
import os
import socket
import uuid

import pytest
import sqlalchemy as sa

from chassis.config import with_database
from chassis.engines import engine_for
from chassis.migrate import drop_database, migrate

# Random-looking, as a real key must be (chassis.config.check_signing_key refuses "key-xxxx...").
TEST_SIGNING_KEY = "liY8LKJFNaIZ2Mx2DSaI4VEwZa874KWEHTLhKNZ1QkrZFWQ0LDfPmda0bkS57YHE"
_state = {}


def _docker_available():
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _start_containers():
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    rabbit = RabbitMqContainer("rabbitmq:3.12-management")
    rabbit.with_exposed_ports(5672, 15672)
    rabbit.start()
    postgres = PostgresContainer("postgres:16", username="postgres", password="postgres")
    postgres.start()
    host = rabbit.get_container_host_ip()
    _state["containers"] = [rabbit, postgres]
    return {
        "amqp": f"pyamqp://guest:guest@{host}:{rabbit.get_exposed_port(5672)}/",
        "api": f"http://guest:guest@{host}:{rabbit.get_exposed_port(15672)}",
        "db": f"postgresql://postgres:postgres@{postgres.get_container_host_ip()}:"
              f"{postgres.get_exposed_port(5432)}",
    }


def _check_reachable(infra):
    import requests
    from kombu import Connection

    problems = []
    try:
        with Connection(infra["amqp"], connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        problems.append(f"RabbitMQ at {infra['amqp']}: {exc}")
    try:
        requests.get(infra["api"].replace("guest:guest@", "") + "/api/overview",
                     auth=("guest", "guest"), timeout=5).raise_for_status()
    except Exception as exc:
        problems.append(f"RabbitMQ management API at {infra['api']}: {exc} "
                        "(run `rabbitmq-plugins enable rabbitmq_management`)")
    try:
        engine = sa.create_engine(with_database(infra["db"], "postgres"))
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        problems.append(f"PostgreSQL at {infra['db']}: {exc}")
    return problems


def pytest_configure(config):
    if _docker_available() and not os.environ.get("TEST_AMQP_URI"):
        infra = _start_containers()
    else:
        infra = {
            "amqp": os.environ.get("TEST_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"),
            "api": os.environ.get("TEST_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"),
            "db": os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432"),
        }
    problems = _check_reachable(infra)
    if problems:
        pytest.exit("No broker or database for the tests:\n  " + "\n  ".join(problems), returncode=3)
    config.option.RABBIT_AMQP_URI = infra["amqp"]
    config.option.RABBIT_API_URI = infra["api"]
    _state["infra"] = infra
    _state["run_id"] = uuid.uuid4().hex[:8]


def pytest_unconfigure(config):
    for container in _state.get("containers", []):
        container.stop()


@pytest.fixture(scope="session")
def database_server_url():
    return _state["infra"]["db"]


@pytest.fixture(scope="session")
def _migrated_databases(database_server_url):
    created = {}
    yield created
    from chassis.engines import dispose_engines

    dispose_engines()
    for url in created.values():
        drop_database(url)


@pytest.fixture
def make_database(_migrated_databases, database_server_url):
    """make_database(name, migrations_dir=None) -> URL of an empty, migrated test database."""

    def make(name, migrations_dir=None, extra_metadata=None):
        url = _migrated_databases.get(name)
        if url is None:
            url = with_database(database_server_url, f"staffbank_test_{name}_{_state['run_id']}")
            drop_database(url)
            migrate(url, migrations_dir)
            if extra_metadata is not None:
                extra_metadata.create_all(engine_for(url))
            _migrated_databases[name] = url
        empty_database(url)
        return url

    return make


def empty_database(url):
    """Truncate every table. Connections a previous test's killed workers left open
    (possibly inside a transaction, holding locks) are terminated first."""
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
    engine.dispose()
    with engine.begin() as conn:
        tables = conn.scalars(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'chassis_alembic_version')"
        )).all()
        if tables:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))


@pytest.fixture
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_config(rabbit_config):
    """make_config(db_url, **overrides) -> nameko config on this test's vhost."""

    def make(db_url, **overrides):
        config = {
            "AMQP_URI": rabbit_config["AMQP_URI"],
            "DB_URL": db_url,
            "EVENT_RETRY_DELAYS": [0.1, 0.2],
            "max_workers": 10,
            "serializer": "json",
            "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY,
            "TOKEN_TTL_SECONDS": 3600,
        }
        config.update(overrides)
        return config

    return make


class EventTap:
    """A queue bound to an events exchange, for tests to read what was published."""

    def __init__(self, amqp_uri, exchange_name, routing_key="#"):
        from kombu import Connection, Queue

        from chassis.events import declare, events_exchange, producer_topology

        self.connection = Connection(amqp_uri)
        service = exchange_name.removesuffix(".events")
        declare(self.connection, producer_topology(service))
        self.queue = Queue(
            f"tap-{uuid.uuid4().hex[:8]}", exchange=events_exchange(service),
            routing_key=routing_key, durable=False, auto_delete=False, exclusive=False,
        )
        self.queue.maybe_bind(self.connection.default_channel)
        self.queue.declare()

    def messages(self, timeout=5.0, count=None):
        """Every message that arrives within `timeout` (or until `count` have)."""
        import time

        import eventlet

        received = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (count is None or len(received) < count):
            message = self.queue.get(no_ack=True)
            if message is None:
                eventlet.sleep(0.05)
                continue
            received.append(json.loads(message.body))
        return received

    def close(self):
        self.connection.release()


@pytest.fixture
def event_tap(rabbit_config):
    taps = []

    def make(exchange_name, routing_key="#"):
        tap = EventTap(rabbit_config["AMQP_URI"], exchange_name, routing_key)
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        tap.close()


def poll(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll until predicate() is truthy and return its value; fail the test if it never is."""
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)


@pytest.fixture
def service_config(make_database, make_config):
    """service_config(ServiceCls, **overrides) -> config of the service on its own migrated,
    emptied test database and this test's vhost."""
    from chassis.runner import migrations_dir

    def make(service_cls, **overrides):
        return make_config(make_database(service_cls.name, migrations_dir(service_cls)), **overrides)

    return make


@pytest.fixture
def run_service(container_factory):
    """run_service(ServiceCls, config) -> an RPC proxy to the started service (closed at teardown)."""
    from nameko.standalone.rpc import ServiceRpcProxy

    proxies = []

    def run(service_cls, config):
        container_factory(service_cls, config).start()
        proxy = ServiceRpcProxy(service_cls.name, config)
        proxies.append(proxy)
        return proxy.start()

    yield run
    for proxy in proxies:
        proxy.stop()


# --- delivery in any order, more than once (hypothesis) ------------------------------------

def deliveries(count):
    """A hypothesis strategy: an order in which `count` events arrive, each at least once and
    some of them again (a redelivery, a replica's duplicate publish), in any order."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, count - 1), max_size=count).flatmap(
        lambda again: st.permutations([*range(count), *again]))


def consumed_event_types(service_cls):
    """Every event type the service's handlers take (chassis.handlers.event_handler)."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from chassis.handlers import EventHandler

    return {event_type for member in vars(service_cls).values()
            for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ())
            if isinstance(entrypoint, EventHandler) for event_type in entrypoint.event_types}


def deliver(url, consumer, producer, envelope, apply):
    """Handle one delivery of `envelope` as an event handler does: one unit of work that first
    claims (consumer, event_id) in the inbox, then `apply(uow, event)`; a repeat is a no-op."""
    from sqlalchemy.orm import Session

    from chassis.db import AlreadyHandled, UnitOfWork
    from chassis.handlers import Event

    event = Event(**envelope)  # occurred_at a datetime, data as its contract loads it
    with Session(engine_for(url)) as session:
        try:
            with UnitOfWork(session, producer, inbox_claim=(consumer, event.event_id)) as uow:
                apply(uow, event)
        except AlreadyHandled:
            pass


def ends_alike_in_any_order(events, reset, deliver_one, state, max_examples=30):
    """Deliver `events` once each in order, then (hypothesis) in any order with repeats: before
    each run `reset()`, for each delivery `deliver_one(event)`, after it `state()`; every state
    must equal the ordered one, which is returned (for the caller to check it is not trivial)."""
    from hypothesis import HealthCheck, given, settings

    def run(order):
        reset()
        for index in order:
            deliver_one(events[index])
        return state()

    expected = run(range(len(events)))

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(order=deliveries(len(events)))
    def same_state(order):
        assert run(order) == expected

    same_state()
    return expected


def table_rows(url, tables, leave_out=()):
    """Every row of each table (a Table), as sorted tuples of its columns but `leave_out`: a
    state to compare."""
    state = {}
    with engine_for(url).connect() as connection:
        for table in tables:
            columns = [c for c in table.columns if c.name not in leave_out]
            rows = connection.execute(sa.select(*columns)).all()
            state[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return state
