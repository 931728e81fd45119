"""`staffbank`: the operator's commands in one place (issue 21).

    staffbank dead-letters list|show|replay|discard ...   chassis.deadletters
    staffbank outbox [--service NAME]                      each service's unpublished outbox rows
    staffbank rebuild SERVICE                              `python -m <service>.rebuild`
    staffbank create-admin --email ...                     identity's bootstrap admin code path
    staffbank migrate [SERVICE...]                         chassis.migrate, as a starting process
    staffbank broker-account create|delete NAME ...        chassis.brokeraccounts

Each command is thin: it parses, calls what the chassis or a service already has, and prints.
It lives in deploy/ (not the chassis) because it names the services (deploy.run.SERVICES) and
imports some of them (identity, the rebuild modules), and the chassis imports no service.
Settings come from the environment as for the services themselves (README "Configuration"):
AMQP_URI, RABBIT_API_URI, DATABASE_URL or <SERVICE>_DATABASE_URL. `python -m deploy.cli`
runs it without the console script.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - as every process that runs the chassis (chassis.runner, chassis.call)

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import runpy  # noqa: E402
import sys  # noqa: E402
from urllib.parse import quote, urlsplit, urlunsplit  # noqa: E402

import click  # noqa: E402

from chassis.config import amqp_uri, database_url, env  # noqa: E402
from deploy.run import SERVICES  # noqa: E402

SERVICE_NAMES = [name for name, _ in SERVICES]
SERVICE_SPECS = dict(SERVICES)
DEFAULT_RABBIT_API_URI = "http://guest:guest@127.0.0.1:15672"  # as chassis.deadletters and brokeraccounts


def rabbit_api_uri():
    return env("RABBIT_API_URI", DEFAULT_RABBIT_API_URI)


@contextlib.contextmanager
def operational_errors(what):
    """A broker, management API or database that refuses or cannot be reached: one line and exit 1,
    not a traceback."""
    import amqp
    import requests
    import sqlalchemy as sa
    from kombu.exceptions import OperationalError

    try:
        yield
    except (amqp.exceptions.AMQPError, OperationalError, requests.RequestException, sa.exc.SQLAlchemyError,
            OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"{what}: {first_line}") from exc


def _redacted(url):
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Staffbank's operator commands. Settings come from the environment, as for the services
    (AMQP_URI, RABBIT_API_URI, DATABASE_URL or <SERVICE>_DATABASE_URL)."""


# --- dead letters (chassis.deadletters) ----------------------------------------------------

@cli.group("dead-letters")
@click.option("--amqp-uri", "uri", default=amqp_uri, show_default="AMQP_URI", help="the broker (and vhost)")
@click.pass_context
def dead_letters(ctx, uri):
    """A failing handler's messages wait in `<handler queue>.dead-letter` after their retries.
    Name a handler by its queue, e.g. identity.on_compliance_cleared."""
    ctx.obj = uri


@dead_letters.command("list")
@click.pass_obj
def dead_letters_list(uri):
    """Every handler queue with dead letters, and how many (the management API's count, a few
    seconds behind)."""
    from chassis import deadletters

    with operational_errors("cannot list the dead-letter queues"):
        rows = deadletters.list_dead_letter_queues(uri, rabbit_api_uri())
    if not rows:
        click.echo("no dead-letter queues")
    for name, count in rows:
        click.echo(f"{count:>8}  {name}")


@dead_letters.command("show")
@click.argument("queue")
@click.option("--limit", default=20, show_default=True, help="at most this many messages")
@click.pass_obj
def dead_letters_show(uri, queue, limit):
    """Each dead letter's event id, type, attempts and error, one JSON line each; consumes nothing."""
    from chassis import deadletters

    with operational_errors(f"cannot read {queue}'s dead letters"):
        shown = deadletters.show(uri, queue, limit)
    for info in shown:
        click.echo(json.dumps(info))


@dead_letters.command("replay")
@click.argument("queue")
@click.option("--event-id", "event_ids", multiple=True, help="only this event (repeatable); default: all")
@click.pass_obj
def dead_letters_replay(uri, queue, event_ids):
    """Move dead letters back to the handler's queue with a fresh attempt count (fix the cause
    first). An event that did take effect is a no-op there (the inbox)."""
    from chassis import deadletters

    with operational_errors(f"cannot replay to {queue}"):
        replayed = deadletters.replay(uri, queue, list(event_ids))
    click.echo(f"replayed {len(replayed)} message(s) to {queue}")
    for event_id in replayed:
        click.echo(f"  {event_id}")


@dead_letters.command("discard")
@click.argument("queue")
@click.option("--event-id", "event_ids", multiple=True, help="this event (repeatable)")
@click.option("--all", "everything", is_flag=True, help="every dead letter of the queue")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_obj
def dead_letters_discard(uri, queue, event_ids, everything, yes):
    """Delete dead letters for good (an event nobody must apply: `show` it first). Name them with
    --event-id, or pass --all."""
    if bool(event_ids) == everything:
        raise click.UsageError("name the dead letters with --event-id ID (repeatable), or pass --all")
    what = "every dead letter" if everything else f"{len(event_ids)} dead letter(s)"
    if not yes:
        click.confirm(f"delete {what} of {queue} for good?", abort=True)
    from chassis import deadletters

    with operational_errors(f"cannot discard {queue}'s dead letters"):
        discarded = deadletters.discard(uri, queue, None if everything else event_ids)
    click.echo(f"discarded {len(discarded)} message(s) from {queue}")
    for event_id in discarded:
        click.echo(f"  {event_id}")


# --- the outbox backlog ----------------------------------------------------------------------

def outbox_backlog(url):
    """(unpublished rows, seconds the oldest has waited) in the database at `url`."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from chassis.outbox import backlog

    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        return backlog(engine)
    finally:
        engine.dispose()


def _age(seconds):
    if not seconds:
        return "-"
    seconds = int(seconds)
    for unit, size, smaller, smaller_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60),
                                              ("min", 60, "s", 1)):
        if seconds >= size:
            return f"{seconds // size} {unit} {seconds % size // smaller_size} {smaller}"
    return f"{seconds} s"


@cli.command("outbox")
@click.option("--service", "services", multiple=True, type=click.Choice(SERVICE_NAMES),
              help="only this service (repeatable); default: every one")
def outbox(services):
    """Each service's outbox backlog: events committed but not yet published, and how long the
    oldest has waited. It drains by itself once the broker is reachable. Exit 1 if a database
    could not be read."""
    import sqlalchemy as sa

    unreadable = 0
    click.echo(f"{'service':<14} {'unpublished':>11}  oldest")
    for name in services or SERVICE_NAMES:
        try:
            count, oldest = outbox_backlog(database_url(name))
        except sa.exc.SQLAlchemyError as exc:  # one unreadable database does not hide the others
            unreadable += 1
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            click.echo(f"{name:<14} {'?':>11}  cannot read {_redacted(database_url(name))}: {reason}")
            continue
        click.echo(f"{name:<14} {count:>11}  {_age(oldest)}")
    if unreadable:
        sys.exit(1)


# --- read models -------------------------------------------------------------------------------

def rebuildable():
    """The services with a read model to rebuild: those with a `<service>.rebuild` module."""
    return [name for name in SERVICE_NAMES if importlib.util.find_spec(f"{name}.rebuild") is not None]


@cli.command("rebuild")
@click.argument("service")
def rebuild(service):
    """Rebuild SERVICE's read model from its event log (`python -m <service>.rebuild`: matching,
    reporting): one transaction, handlers wait and catch up after, readers see the old model until
    it commits. On SERVICE's database (<SERVICE>_DATABASE_URL or DATABASE_URL)."""
    services = rebuildable()
    if service not in services:
        raise click.BadParameter(f"{service!r} has no read model to rebuild; one of: {', '.join(services)}",
                                 param_hint="SERVICE")
    try:
        runpy.run_module(f"{service}.rebuild", run_name="__main__")
    except SystemExit as done:
        if done.code:
            sys.exit(done.code)


# --- the first platform admin ------------------------------------------------------------------

@cli.command("create-admin")
@click.option("--email", envvar="BOOTSTRAP_ADMIN_EMAIL", show_envvar=True, required=True,
              help="the admin's email (login)")
@click.option("--name", help="the admin's name (default: identity's, 'Platform administrator')")
def create_admin(email, name):
    """Create a platform admin in identity's database, as identity does at start for
    BOOTSTRAP_ADMIN_EMAIL (migrating the database first if needed). The password comes from
    BOOTSTRAP_ADMIN_PASSWORD or is asked for; it must pass the password rules. Exit 1, changing
    nothing, if an account already has the email."""
    from sqlalchemy.orm import Session

    from chassis.db import UnitOfWork
    from chassis.engines import engine_for
    from chassis.errors import Invalid
    from chassis.schemas import load_or_invalid
    from identity import schemas, use_cases

    password = env("BOOTSTRAP_ADMIN_PASSWORD")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    payload = {"email": email, "password": password, **({"name": name} if name else {})}
    try:  # the rules an account created over the API meets (POST /v1/users)
        data = load_or_invalid(schemas.UserCreate(), payload, partial=True)
    except Invalid as invalid:
        problems = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                             for field, messages in invalid.errors.items())
        raise click.ClickException(f"not created: {problems}") from None
    extra = {"name": data["name"]} if "name" in data else {}
    url = database_url("identity")
    with operational_errors(f"cannot write to {_redacted(url)}"):
        migrate_service("identity")
        with Session(engine_for(url)) as session, UnitOfWork(session, producer="identity") as uow:
            created = use_cases.ensure_platform_admin(uow, data["email"], data["password"], **extra)
    if created is None:
        raise click.ClickException(f"an account with the email {data['email']} already exists; "
                                   "nothing changed")
    click.echo(f"created platform admin {created['email']} ({created['id']})")


# --- migrations --------------------------------------------------------------------------------

def migrate_service(name):
    """What a service's process does before it starts (chassis.runner.prepare): create its
    database if missing, then run the chassis's and the service's migrations."""
    from chassis.migrate import migrate
    from chassis.runner import load_service, migrations_dir

    migrate(database_url(name), migrations_dir(load_service(SERVICE_SPECS[name])))


@cli.command("migrate")
@click.argument("services", nargs=-1, type=click.Choice(SERVICE_NAMES))
def migrate(services):
    """Create and migrate each SERVICE's database (default: every service's), as each process does
    when it starts; a database already current is left as it is."""
    for name in services or SERVICE_NAMES:
        url = database_url(name)
        with operational_errors(f"cannot migrate {name} ({_redacted(url)})"):
            migrate_service(name)
        click.echo(f"{name}: {_redacted(url)} is current")


# --- outside consumers' broker accounts (chassis.brokeraccounts) -------------------------------

def _platform_users():
    """The broker users Staffbank itself connects as: never an outside consumer's account."""
    return {urlsplit(amqp_uri()).username or "guest", urlsplit(rabbit_api_uri()).username or "guest"}


def _refuse_platform_user(name):
    if name in _platform_users():
        raise click.ClickException(f"{name} is the broker user Staffbank itself connects as (AMQP_URI or "
                                   "RABBIT_API_URI); an outside consumer needs an account of its own")


@cli.group("broker-account")
def broker_account():
    """Broker accounts for outside consumers (HR, payroll systems): each may declare, bind and read
    only its own queues `<name>.*`, bound to identity.events and payroll.events, and never publish."""


@broker_account.command("create")
@click.argument("name")
@click.option("--vhost", help="default: the one in AMQP_URI")
@click.option("--ask-password", is_flag=True, help="type the password (default: a generated one)")
def broker_account_create(name, vhost, ask_password):
    """Create (or reset) NAME's account and print its AMQP URL."""
    from chassis import brokeraccounts

    _refuse_platform_user(name)
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True) if ask_password else None
    broker = amqp_uri()
    if vhost:
        parts = urlsplit(broker)
        broker = urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))
    try:
        with operational_errors(f"cannot create {name}'s account"):
            url = brokeraccounts.create(name, broker, rabbit_api_uri(), password)
    except ValueError as refused:
        raise click.BadParameter(str(refused), param_hint="NAME") from None
    click.echo(url)
    click.echo(f"queues must be named {name}.<anything>; it may bind them to "
               f"{', '.join(brokeraccounts.PUBLIC_EXCHANGES)}, and cannot publish or call RPC", err=True)


@broker_account.command("delete")
@click.argument("name")
def broker_account_delete(name):
    """Delete NAME's account (its queues stay, for an operator to delete or hand over)."""
    from chassis import brokeraccounts

    _refuse_platform_user(name)
    with operational_errors(f"cannot delete {name}'s account"):
        brokeraccounts.delete(name, rabbit_api_uri())
    click.echo(f"deleted {name}")


def main():
    cli(prog_name="staffbank")


if __name__ == "__main__":
    main()
