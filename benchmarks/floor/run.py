"""Run one floor service in this process: `python -m benchmarks.floor.run <role>`, the role one of
gateway, backend, listener (the bare floor: benchmarks/floor/services.py) or kept_gateway, kept,
kept_listener_1..3 (the floor with the platform's guarantees: benchmarks/floor/kept.py).

Settings from the environment: FLOOR_AMQP_URI (the broker, with the benchmark's vhost),
FLOOR_PORT (the gateway's HTTP port), MAX_WORKERS (10, as every Staffbank service); for the kept
floor FLOOR_DATABASE_PREFIX (each role's database is this plus its role, made and migrated here).
Stops on SIGTERM/SIGINT."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import errno  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from benchmarks.floor import KEPT_ROLES  # noqa: E402
from benchmarks.floor.services import SERVICES  # noqa: E402

# benchmarks.floor.kept is imported only to run one of its roles (run_kept): the chassis changes
# how kombu reconnects, and the bare floor must stay bare.


def main(argv):
    if len(argv) == 1 and argv[0] in KEPT_ROLES:
        return run_kept(argv[0])
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(__doc__, file=sys.stderr)
        return 2
    config = {
        "AMQP_URI": os.environ["FLOOR_AMQP_URI"],
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{os.environ.get('FLOOR_PORT', '18190')}",
        "max_workers": int(os.environ.get("MAX_WORKERS", "10")),
        "serializer": "json",
    }
    runner = ServiceRunner(config)
    runner.add_service(SERVICES[argv[0]])

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    print(f"floor {argv[0]} started", flush=True)
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            return 0
        except OSError as exc:  # interrupted by the signal handler
            if exc.errno != errno.EINTR:
                raise


def run_kept(role):
    """A floor service on the chassis, run as `python -m chassis.runner` runs a Staffbank service."""
    from benchmarks.floor.kept import KEPT_SERVICES
    from benchmarks.floor.kept import metadata as kept_metadata
    from chassis.config import nameko_config
    from chassis.engines import engine_for
    from chassis.migrate import migrate
    from chassis.runner import run

    service_cls = KEPT_SERVICES[role]
    url = os.environ["FLOOR_DATABASE_PREFIX"] + role
    migrate(url)  # the chassis's tables: outbox, inbox, kept results
    kept_metadata.create_all(engine_for(url))
    config = nameko_config(service_cls.name, AMQP_URI=os.environ["FLOOR_AMQP_URI"], DB_URL=url,
                           WEB_SERVER_ADDRESS=f"127.0.0.1:{os.environ.get('FLOOR_PORT', '18191')}")
    print(f"floor {role} started", flush=True)
    run(service_cls, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
