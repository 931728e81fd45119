"""Call a service's RPC method from the command line (operators' tool).

    python -m chassis.call compliance run_expiry_sweep '"2027-01-31"'
    python -m chassis.call identity get_worker '"<worker id>"'

Each further argument is one JSON value passed positionally. Uses AMQP_URI.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402

from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from chassis.config import amqp_uri  # noqa: E402


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    service, method, *raw = argv
    args = [json.loads(value) for value in raw]
    with ServiceRpcProxy(service, {"AMQP_URI": amqp_uri()}, timeout=120) as proxy:
        result = getattr(proxy, method)(*args)
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
