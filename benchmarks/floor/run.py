"""Run one floor service in this process: `python -m benchmarks.floor.run gateway|backend|listener`.

Settings from the environment: FLOOR_AMQP_URI (the broker, with the benchmark's vhost),
FLOOR_PORT (the gateway's HTTP port), MAX_WORKERS (10, as every Staffbank service). Stops on
SIGTERM/SIGINT."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import errno  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from benchmarks.floor.services import SERVICES  # noqa: E402


def main(argv):
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
