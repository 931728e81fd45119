"""The operator's `staffbank` command (deploy/cli.py, issue 21), each command against the real
broker and database: a test vhost (nameko's rabbit_config) and test databases (make_database)."""

import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import amqp
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from kombu import Connection, Queue
from sqlalchemy.orm import Session

from chassis import eventlog
from chassis.config import with_database
from chassis.db import UnitOfWork
from chassis.engines import engine_for
from chassis.events import DEAD_LETTER_SUFFIX
from chassis.handlers import ATTEMPT_HEADER, ERROR_HEADER
from chassis.migrate import drop_database
from chassis.runner import migrations_dir
from chassis.tables import outbox
from chassis.testing import poll
from deploy.cli import cli
from identity import credentials, queries
from identity.service import IdentityService
from reporting.models import Organisation, Site, event_log
from reporting.service import ReportingService

ROOT = Path(__file__).resolve().parents[1]
HANDLER = "cli.on_thing_happened"


def staffbank(*args, env=None, input=None):
    """Run `staffbank ARGS` in this process with `env` added to the environment."""
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture
def broker_env(request, rabbit_config):
    """The environment a `staffbank` command needs to reach this test's vhost."""
    return {"AMQP_URI": rabbit_config["AMQP_URI"],
            "RABBIT_API_URI": request.config.getoption("RABBIT_API_URI")}


# --- dead letters ----------------------------------------------------------------------------

def _envelope(note):
    return {"event_id": str(uuid.uuid4()), "type": "thing.happened", "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(), "producer": "cli", "correlation_id": None,
            "data": {"note": note}}


def _depth(amqp_uri, queue):
    with Connection(amqp_uri) as conn:
        queue = Queue(queue, channel=conn.default_channel, no_declare=True)
        return queue.queue_declare(passive=True).message_count


def test_dead_letters_are_listed_shown_replayed_and_discarded(broker_env):
    uri = broker_env["AMQP_URI"]
    first, second = _envelope("first"), _envelope("second")
    with Connection(uri) as conn:  # a handler's queue and two messages dead-lettered after 3 attempts
        channel = conn.default_channel
        for name in (HANDLER, HANDLER + DEAD_LETTER_SUFFIX):
            Queue(name, channel=channel, durable=True).declare()
        producer = conn.Producer(channel=channel)
        for envelope in (first, second):
            producer.publish(json.dumps(envelope), routing_key=HANDLER + DEAD_LETTER_SUFFIX,
                             content_type="application/json", delivery_mode=2,
                             headers={ATTEMPT_HEADER: 3, ERROR_HEADER: "handler broke"})

    poll(lambda: re.search(rf"^\s+2  {re.escape(HANDLER)}$",
                           staffbank("dead-letters", "list", env=broker_env).output, re.M),
         timeout=20, message="the management API to count both dead letters")

    shown = staffbank("dead-letters", "show", HANDLER, env=broker_env)
    assert [json.loads(line) for line in shown.output.splitlines()] == [
        {"event_id": e["event_id"], "type": "thing.happened", "attempts": 3, "error": "handler broke"}
        for e in (first, second)]
    assert _depth(uri, HANDLER + DEAD_LETTER_SUFFIX) == 2  # showing consumes nothing

    replayed = staffbank("dead-letters", "replay", HANDLER, "--event-id", first["event_id"], env=broker_env)
    assert replayed.exit_code == 0 and f"replayed 1 message(s) to {HANDLER}" in replayed.output
    with Connection(uri) as conn:
        message = Queue(HANDLER, channel=conn.default_channel, no_declare=True).get(no_ack=True)
    assert json.loads(message.body)["event_id"] == first["event_id"]
    assert ATTEMPT_HEADER not in message.headers and ERROR_HEADER not in message.headers  # a fresh count
    assert _depth(uri, HANDLER + DEAD_LETTER_SUFFIX) == 1

    refused = staffbank("dead-letters", "discard", HANDLER, env=broker_env)  # neither ids nor --all
    assert refused.exit_code == 2 and _depth(uri, HANDLER + DEAD_LETTER_SUFFIX) == 1
    kept = staffbank("dead-letters", "discard", HANDLER, "--all", env=broker_env, input="n\n")
    assert kept.exit_code == 1 and _depth(uri, HANDLER + DEAD_LETTER_SUFFIX) == 1  # not confirmed
    discarded = staffbank("dead-letters", "discard", HANDLER, "--event-id", second["event_id"], "--yes",
                          env=broker_env)
    assert discarded.exit_code == 0 and second["event_id"] in discarded.output
    assert _depth(uri, HANDLER + DEAD_LETTER_SUFFIX) == 0
    assert _depth(uri, HANDLER) == 0  # discarded, not replayed

    missing = staffbank("dead-letters", "replay", "cli.no_such_handler", env=broker_env)
    assert missing.exit_code == 1 and "cannot replay to cli.no_such_handler" in missing.output


# --- the outbox backlog --------------------------------------------------------------------------

def test_outbox_shows_each_services_unpublished_rows_and_the_oldest_ones_age(make_database):
    url = make_database("cli_outbox")  # the chassis's tables, outbox included
    with engine_for(url).begin() as conn:
        conn.execute(outbox.insert(), [
            {"event_id": str(uuid.uuid4()), "exchange": "shifts.events", "event_type": "shift.booked",
             "envelope": {}, "created_at": datetime.now(UTC) - timedelta(seconds=age),
             "published_at": published}
            for age, published in ((125, None), (20, None), (4000, datetime.now(UTC)))])
    nowhere = with_database(url, f"staffbank_test_cli_missing_{uuid.uuid4().hex[:8]}")

    result = staffbank("outbox", "--service", "shifts", "--service", "payroll",
                       env={"SHIFTS_DATABASE_URL": url, "PAYROLL_DATABASE_URL": nowhere})

    lines = result.output.splitlines()
    assert re.fullmatch(r"shifts\s+2  2 min [5-9] s", lines[1]), result.output  # published: not backlog
    assert lines[2].startswith("payroll") and "cannot read" in lines[2] and "does not exist" in lines[2]
    assert result.exit_code == 1  # a database it could not read

    with engine_for(url).begin() as conn:
        conn.execute(outbox.update().values(published_at=sa.func.now()))  # the relay caught up
    drained = staffbank("outbox", "--service", "shifts", env={"SHIFTS_DATABASE_URL": url})
    assert drained.exit_code == 0 and re.fullmatch(r"shifts\s+0  -", drained.output.splitlines()[1])


# --- read models ---------------------------------------------------------------------------------

def test_rebuild_replays_a_services_event_log_into_its_read_model(make_database):
    url = make_database("reporting", migrations_dir(ReportingService))
    logged = [
        {"event_id": str(uuid.uuid4()), "type": "organisation.created", "version": 1,
         "occurred_at": "2027-03-01T09:00:00+00:00", "producer": "identity", "correlation_id": None,
         "data": {"organisation_id": "org-1", "bank_id": "bank-1", "name": "Royal", "kind": "trust",
                  "ods_code": None}},
        {"event_id": str(uuid.uuid4()), "type": "site.created", "version": 1,
         "occurred_at": "2027-03-01T09:01:00+00:00", "producer": "identity", "correlation_id": None,
         "data": {"site_id": "site-1", "organisation_id": "org-1", "bank_id": "bank-1", "name": "Main",
                  "latitude": 53.48, "longitude": -2.24, "postcode": None}},
    ]
    with Session(engine_for(url)) as session:  # the log holds two facts, the model one it must lose
        for envelope in logged:
            eventlog.record(session, event_log, envelope)
        session.add(Organisation(organisation_id="stale", bank_id="bank-1", name="Gone", kind="trust"))
        session.commit()

    result = staffbank("rebuild", "reporting", env={"REPORTING_DATABASE_URL": url})

    assert result.exit_code == 0 and "done: 2 events" in result.output, result.output
    with Session(engine_for(url)) as session:
        assert session.scalars(sa.select(Organisation.organisation_id)).all() == ["org-1"]
        assert session.scalars(sa.select(Site.site_id)).all() == ["site-1"]
    unknown = staffbank("rebuild", "identity")
    assert unknown.exit_code == 2 and "matching, reporting" in unknown.output


# --- the first platform admin -------------------------------------------------------------------

def _login(url, email, password):
    with Session(engine_for(url)) as session, UnitOfWork(session, producer="identity") as uow:
        attempt = credentials.attempt_login(uow, email, password)
        return queries.get_principal(session, attempt.user_id) if attempt.user_id else None


def test_create_admin_makes_a_platform_admin_who_can_log_in(make_database):
    url = make_database("identity", migrations_dir(IdentityService))
    env = {"IDENTITY_DATABASE_URL": url, "BOOTSTRAP_ADMIN_PASSWORD": "a long enough password"}

    result = staffbank("create-admin", "--email", "Ops@Example.org", env=env)

    assert result.exit_code == 0 and "created platform admin ops@example.org" in result.output, result.output
    principal = _login(url, "ops@example.org", "a long enough password")
    assert principal["roles"] == [{"role": "platform_admin", "scope_type": "platform", "scope_id": None,
                                   "bank_id": None}]
    with engine_for(url).connect() as conn:  # identity's relay publishes user.created when it runs
        assert conn.scalar(sa.select(outbox.c.event_type)) == "user.created"

    again = staffbank("create-admin", "--email", "ops@example.org",
                      env={**env, "BOOTSTRAP_ADMIN_PASSWORD": "another long password"})
    assert again.exit_code == 1 and "already exists; nothing changed" in again.output
    assert _login(url, "ops@example.org", "another long password") is None


def test_create_admin_asks_for_the_password_and_holds_it_to_the_rules(make_database):
    url = make_database("identity", migrations_dir(IdentityService))
    env = {"IDENTITY_DATABASE_URL": url, "BOOTSTRAP_ADMIN_PASSWORD": None,
           "BOOTSTRAP_ADMIN_EMAIL": "boss@example.org"}

    short = staffbank("create-admin", env=env, input="short\nshort\n")
    assert short.exit_code == 1 and "password" in short.output and "nothing" not in short.output
    assert staffbank("create-admin", "--password", "x", env=env).exit_code == 2  # never an argument
    assert _login(url, "boss@example.org", "short") is None

    typed = staffbank("create-admin", "--name", "Boss", env=env,
                      input="correct horse battery\ncorrect horse battery\n")
    assert typed.exit_code == 0, typed.output
    assert "correct horse battery" not in typed.output  # not echoed
    assert _login(url, "boss@example.org", "correct horse battery")["name"] == "Boss"


# --- migrations ------------------------------------------------------------------------------------

@pytest.fixture
def fresh_databases(database_server_url):
    """URLs of databases that do not exist yet (dropped after the test)."""
    made = []

    def make(name):
        made.append(with_database(database_server_url, f"staffbank_test_cli_{name}_{uuid.uuid4().hex[:8]}"))
        return made[-1]

    yield make
    for url in made:
        engine_for(url).dispose()
        drop_database(url)


def test_migrate_creates_each_services_database_and_its_tables(fresh_databases):
    env = {"PAYROLL_DATABASE_URL": fresh_databases("payroll"),
           "REPORTING_DATABASE_URL": fresh_databases("reporting")}

    result = staffbank("migrate", "payroll", "reporting", env=env)

    assert result.exit_code == 0, result.output
    for service, own_table in (("payroll", "timesheets"), ("reporting", "organisations")):
        with engine_for(env[f"{service.upper()}_DATABASE_URL"]).connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {"outbox", "inbox", own_table} <= tables  # the chassis's migrations and the service's
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert staffbank("migrate", "reporting", env=env).exit_code == 0  # current: nothing to do
    assert staffbank("migrate", "no-such-service", env=env).exit_code == 2


# --- broker accounts -------------------------------------------------------------------------------

def _connect(url, vhost):
    parts = urlsplit(url)
    connection = amqp.Connection(host=f"{parts.hostname}:{parts.port or 5672}",
                                 userid=unquote(parts.username), password=unquote(parts.password),
                                 virtual_host=vhost, confirm_publish=True)
    connection.connect()
    return connection


def test_broker_account_create_gives_an_hr_system_its_own_queues_and_delete_removes_it(
        broker_env, rabbit_config):
    name = f"hr-{uuid.uuid4().hex[:8]}"
    vhost = rabbit_config["vhost"]
    try:
        made = staffbank("broker-account", "create", name, "--vhost", vhost, env=broker_env)
        assert made.exit_code == 0, made.output
        url = made.stdout.strip()  # only the URL on stdout, for `URL=$(staffbank broker-account create ...)`
        assert urlsplit(url).username == name and urlsplit(url).path == "/" + vhost

        staffbank_side = _connect(rabbit_config["AMQP_URI"], vhost).channel()
        staffbank_side.exchange_declare("payroll.events", "topic", durable=True, auto_delete=False)
        hr = _connect(url, vhost)
        hr.channel().queue_declare(f"{name}.payroll", durable=True, auto_delete=False)  # its own: allowed
        with pytest.raises(amqp.exceptions.AccessRefused):  # it may not publish an event
            hr.channel().basic_publish(amqp.Message("{}"), exchange="payroll.events",
                                       routing_key="pay_run.closed")
        hr.close()

        assert staffbank("broker-account", "delete", name, env=broker_env).exit_code == 0
        with pytest.raises(amqp.exceptions.AccessRefused):
            _connect(url, vhost)
    finally:
        staffbank("broker-account", "delete", name, env=broker_env)

    refused = staffbank("broker-account", "create", "guest", env=broker_env)  # the platform's own user
    assert refused.exit_code == 1 and "Staffbank itself connects as" in refused.output
    assert staffbank("broker-account", "create", "Bad Name", env=broker_env).exit_code == 2


# --- the console script and the old entry points --------------------------------------------------

def test_the_console_script_runs_from_anywhere():
    script = Path(sys.executable).parent / "staffbank"
    helped = subprocess.run([script, "--help"], cwd="/", capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr  # `deploy` is installed with the rest (pyproject.toml)
    assert all(command in helped.stdout for command in
               ("dead-letters", "outbox", "rebuild", "create-admin", "migrate", "broker-account"))


def test_make_dead_letters_and_the_old_module_commands_still_run(broker_env):
    env = {**broker_env, "PATH": "/usr/bin:/bin"}
    for command in (["-m", "deploy.cli", "dead-letters", "list"],  # what `make dead-letters` runs
                    ["-m", "chassis.deadletters", "list"]):
        listed = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60)
        assert listed.returncode == 0 and "no dead-letter queues" in listed.stdout, listed.stderr
    assert subprocess.run([sys.executable, "-m", "chassis.brokeraccounts", "--help"], cwd=ROOT,
                          capture_output=True, timeout=60).returncode == 0
