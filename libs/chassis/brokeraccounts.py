"""Broker accounts for outside consumers (DESIGN.md rule 8): an HR or payroll system gets a
RabbitMQ user that can declare, bind and read only its own queues, bound to Staffbank's public
exchanges (`identity.events`, `payroll.events`), and can never publish (to those exchanges, the
default exchange or `nameko-rpc`, so it can neither forge an event nor call an RPC).

    python -m chassis.brokeraccounts create acme-hr [--vhost /] [--password ...]
    python -m chassis.brokeraccounts delete acme-hr

`create` prints the account's AMQP URL (a generated password unless one is given). Its queues
must be named `<name>.<anything>` (e.g. `acme-hr.payroll`: `examples/hr_consumer.py --queue`).
RabbitMQ's permissions are three regular expressions per vhost: configure (declare or delete a
queue or exchange), write (publish to an exchange; bind a queue, on the queue's side) and read
(consume from a queue; bind, on the exchange's side). So:

- configure and write: `^<name>\\..*` (its own queues only: no exchange matches, so no publishing);
- read: its own queues and the public exchanges.

Uses the management API (`RABBIT_API_URI`, default http://guest:guest@127.0.0.1:15672).
"""

import argparse
import re
import secrets
import sys
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from chassis.config import amqp_uri, env

PUBLIC_EXCHANGES = ("identity.events", "payroll.events")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")


def permissions(name):
    """The configure, write and read expressions of an outside consumer called `name`."""
    own = rf"^{re.escape(name)}\..*"
    public = "|".join(re.escape(exchange) for exchange in PUBLIC_EXCHANGES)
    return {"configure": own, "write": own, "read": rf"^({re.escape(name)}\..*|{public})$"}


class Management:
    """The few calls of RabbitMQ's management API this needs."""

    def __init__(self, api_uri):
        api = urlsplit(api_uri)
        self.base = f"{api.scheme}://{api.hostname}:{api.port or 15672}/api"
        self.auth = (api.username or "guest", api.password or "guest")

    def _call(self, method, path, body=None):
        response = requests.request(method, f"{self.base}/{path}", json=body, auth=self.auth, timeout=10)
        if response.status_code == 404 and method == "DELETE":
            return
        response.raise_for_status()

    def put_user(self, name, password):
        self._call("PUT", f"users/{quote(name, safe='')}", {"password": password, "tags": ""})

    def put_permissions(self, vhost, name, expressions):
        self._call("PUT", f"permissions/{quote(vhost, safe='')}/{quote(name, safe='')}", expressions)

    def delete_user(self, name):
        self._call("DELETE", f"users/{quote(name, safe='')}")


def _vhost_of(uri):
    return urlsplit(uri).path.lstrip("/") or "/"


def create(name, broker_uri, api_uri, password=None):
    """Create (or reset) the account; returns its AMQP URL."""
    if not NAME.match(name):
        raise ValueError("a name is 2-41 lower-case letters, digits and dashes (not starting with a dash)")
    password = password or secrets.token_urlsafe(24)
    management, vhost = Management(api_uri), _vhost_of(broker_uri)
    management.put_user(name, password)
    management.put_permissions(vhost, name, permissions(name))
    broker = urlsplit(broker_uri)
    netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{broker.hostname}:{broker.port or 5672}"
    return urlunsplit((broker.scheme, netloc, broker.path, "", ""))


def delete(name, api_uri):
    Management(api_uri).delete_user(name)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chassis.brokeraccounts",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="create or reset an outside consumer's account")
    made.add_argument("name")
    made.add_argument("--password", help="default: generated")
    made.add_argument("--vhost", help="default: the one in AMQP_URI")
    gone = commands.add_parser("delete", help="delete the account")
    gone.add_argument("name")
    args = parser.parse_args(argv)
    api_uri = env("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
    if args.command == "delete":
        delete(args.name, api_uri)
        print(f"deleted {args.name}")
        return 0
    broker = amqp_uri()
    if args.vhost:
        parts = urlsplit(broker)
        broker = urlunsplit((parts.scheme, parts.netloc, "/" + quote(args.vhost, safe=""), "", ""))
    try:
        url = create(args.name, broker, api_uri, args.password)
    except ValueError as refused:
        print(refused, file=sys.stderr)
        return 2
    print(f"{url}\nqueues must be named {args.name}.<anything>; it may bind them to "
          f"{', '.join(PUBLIC_EXCHANGES)}, and cannot publish or call RPC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
