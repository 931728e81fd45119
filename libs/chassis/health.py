"""`python -m chassis.health <service>`: can this service's process work? Is the process itself
answering, does its broker answer and serve its RPC queue, does its own database answer? For
container health checks (docker-compose.yml) and Kubernetes probes (deploy/k8s); the gateway's
probes ask its HTTP `/readyz?deep=0` instead.

It reads the settings the service reads (chassis.config.nameko_config: METRICS_PORT, AMQP_URI,
DATABASE_URL or <SERVICE>_DATABASE_URL) and checks, each within TIMEOUT_SECONDS:
- process (when METRICS_PORT is set, as in every container): the process's own metrics endpoint
  answers (chassis.metrics). It is served by a green thread of the process's event loop, so a
  process that is stuck, or is still migrating before it starts, does not answer;
- broker: connects with AMQP_URI and looks up the service's RPC queue `rpc-<service>` (passively:
  it declares nothing), which must have a consumer. The queue exists once the service has started
  and is consumed while a replica of it runs and is connected: no consumer means no replica takes
  requests (a consumer that the broker cancelled, processes stuck reconnecting);
- database: connects to the service's own database (`staffbank_<service>`) and runs `SELECT 1`.

Prints one line per check; exits 0 if all pass, else 1 with the reasons on stderr (Docker and
Kubernetes keep the output of a failed check: `docker inspect`, `kubectl describe pod`). Nothing
is imported from nameko or the service, so a check costs under a second and about 50 MB beside
the process it checks.
"""

import functools
import signal
import sys

from chassis.config import ConfigError, nameko_config

TIMEOUT_SECONDS = 3  # to connect, in each check
CHECK_DEADLINE_SECONDS = 4  # each check as a whole: all three end within a probe's timeout of 15 s
EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2


class TimedOut(BaseException):
    """A check past its deadline (SIGALRM): a BaseException, so that no library's `except Exception`
    takes it for an error to retry."""


def rpc_queue(service):
    """The queue nameko's RPC entrypoint consumes (nameko.rpc.RPC_QUEUE_TEMPLATE)."""
    return f"rpc-{service}"


def process_problem(port, address="127.0.0.1", timeout=TIMEOUT_SECONDS):
    """None if the process serving metrics on `port` answers, else why not."""
    import urllib.request

    host = "127.0.0.1" if address in (None, "", "0.0.0.0", "::") else address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as response:
            response.read()
        return None
    except Exception as exc:
        return f"metrics on port {port} do not answer: {type(exc).__name__}: {exc}"


def broker_problem(amqp_uri, queue, timeout=TIMEOUT_SECONDS):
    """None if the broker at `amqp_uri` answers and `queue` has a consumer, else why not."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=timeout, heartbeat=0) as connection:
            connection.connect()
            channel = connection.channel()
            try:
                _, _, consumers = channel.queue_declare(queue=queue, passive=True)
            except NotFound:
                return f"queue {queue} does not exist (the service has not started on this broker)"
            if consumers < 1:
                return f"nothing consumes {queue} (no replica of the service takes requests)"
            return None
    except Exception as exc:  # whatever kombu, amqp or the socket raise: the reason is what matters
        return f"{type(exc).__name__}: {exc}"


def database_problem(url, timeout=TIMEOUT_SECONDS):
    """None if the database at `url` answers `SELECT 1`, else why not."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool, connect_args={
        "connect_timeout": timeout, "options": f"-c statement_timeout={int(timeout * 1000)}"})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def checks(service, timeout=TIMEOUT_SECONDS):
    """[(name, a callable answering None if the check passes, else why not)] for `service`, with its
    own settings (ConfigError if they are unusable)."""
    config = nameko_config(service)
    found = []
    if config.get("METRICS_PORT"):
        found.append(("process", functools.partial(
            process_problem, config["METRICS_PORT"], config.get("METRICS_ADDRESS"), timeout)))
    found.append(("broker", functools.partial(
        broker_problem, config["AMQP_URI"], rpc_queue(service), timeout)))
    found.append(("database", functools.partial(database_problem, config["DB_URL"], timeout)))
    return found


def _alarm(signum, frame):
    raise TimedOut()


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m chassis.health <service>   (e.g. identity)", file=sys.stderr)
        return EXIT_USAGE
    service = argv[0]
    try:
        probes = checks(service)
    except ConfigError as exc:
        probes = [("configuration", functools.partial(str, exc))]
    # a broker or database that accepts the connection and then says nothing still ends its check
    # (the probe's own timeout would otherwise kill the whole check without a reason)
    signal.signal(signal.SIGALRM, _alarm)
    results = {}
    for name, probe in probes:
        signal.alarm(CHECK_DEADLINE_SECONDS)
        try:
            results[name] = probe()
        except TimedOut:
            results[name] = f"no answer within {CHECK_DEADLINE_SECONDS} s"
        finally:
            signal.alarm(0)
    for name, problem in results.items():
        if problem is None:
            print(f"{service}: {name} ok")
        else:
            print(f"{service}: {name} unavailable: {problem}", file=sys.stderr)
    return EXIT_OK if all(problem is None for problem in results.values()) else EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
