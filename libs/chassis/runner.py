"""Start one service in this process: `python -m chassis.runner identity.service:IdentityService`.

Checks the service's configuration first (chassis.config.check_config: e.g. a missing,
placeholder or weak TOKEN_SIGNING_KEY) and exits with EXIT_CONFIG (78) and the reason on
stderr if it cannot start. Then creates and migrates the service's database, logs JSON to
stdout, runs until SIGTERM/SIGINT and then stops gracefully (in-flight workers finish; unacked
messages go back to their queues). A stop that cannot finish in STOP_TIMEOUT_SECONDS
(nameko waits for the broker to cancel its consumers, which it cannot while the
broker is down) becomes a kill: whatever is unfinished rolls back, and its
messages, never acked, are delivered again (DESIGN.md rule 7: stopped in 10 s).
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - before anything opens a socket

import errno  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from chassis import metrics  # noqa: E402
from chassis.config import ConfigError, check_config, nameko_config  # noqa: E402
from chassis.context import configure_logging  # noqa: E402
from chassis.migrate import migrate  # noqa: E402

log = logging.getLogger("chassis.runner")
STOP_TIMEOUT_SECONDS = 7
KILL_TIMEOUT_SECONDS = 1
EXIT_CONFIG = 78  # sysexits' EX_CONFIG: starting again will not help (deploy/run.py stops there)


def load_service(spec):
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def migrations_dir(service_cls):
    """`services/<name>/migrations`: beside the service's package (DESIGN.md "Layout")."""
    package_dir = Path(sys.modules[service_cls.__module__].__file__).resolve().parent
    return package_dir.parent / "migrations"


def prepare(service_cls, config):
    migrate(config["DB_URL"], migrations_dir(service_cls))


def run(service_cls, config):
    runner = ServiceRunner(config)
    runner.add_service(service_cls)

    def stop_or_kill():
        with eventlet.Timeout(STOP_TIMEOUT_SECONDS, False):
            runner.stop()
            return
        log.warning("%s did not stop within %ss (is the broker down?); killing it",
                    service_cls.name, STOP_TIMEOUT_SECONDS)
        with eventlet.Timeout(KILL_TIMEOUT_SECONDS, False):
            runner.kill()
            return
        # nameko's consumer can sit in its reconnect loop past a kill: leave without it
        log.info("%s stopped", service_cls.name)
        logging.shutdown()
        os._exit(0)

    def shutdown(signum, frame):
        eventlet.spawn_n(stop_or_kill)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("%s started", service_cls.name)
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            break
        except OSError as exc:  # interrupted by the signal handler
            if exc.errno != errno.EINTR:
                raise
    log.info("%s stopped", service_cls.name)


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    service_cls = load_service(argv[0])
    configure_logging(service_cls.name)
    try:
        config = nameko_config(service_cls.name)
        check_config(service_cls, config)
    except ConfigError as exc:
        log.error("%s cannot start: %s", service_cls.name, exc)
        print(f"{service_cls.name} cannot start: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    prepare(service_cls, config)
    metrics.serve(config, service_cls.name)
    run(service_cls, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
