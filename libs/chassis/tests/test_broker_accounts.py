"""An outside consumer's broker account (DESIGN.md rule 8), against the real RabbitMQ: it reads
Staffbank's public events from a queue of its own, and the broker refuses everything else it
tries (publishing an event, calling an RPC, touching a queue that is not its own)."""

import json
import time
import uuid
from urllib.parse import unquote, urlsplit

import amqp
import pytest

from chassis import brokeraccounts


@pytest.fixture
def account(request, rabbit_config):
    """(name, AMQP URL) of a new outside consumer's account on this test's vhost."""
    api_uri = request.config.getoption("RABBIT_API_URI")
    name = f"hr-{uuid.uuid4().hex[:8]}"
    url = brokeraccounts.create(name, rabbit_config["AMQP_URI"], api_uri)
    yield name, url
    brokeraccounts.delete(name, api_uri)


def _connect(url, vhost):
    parts = urlsplit(url)
    connection = amqp.Connection(host=f"{parts.hostname}:{parts.port or 5672}",
                                 userid=unquote(parts.username), password=unquote(parts.password),
                                 virtual_host=vhost, confirm_publish=True)  # a refused publish raises
    connection.connect()
    return connection


@pytest.fixture
def staffbank(rabbit_config):
    """A connection as Staffbank's services have it: they declare the public exchanges."""
    connection = _connect(rabbit_config["AMQP_URI"], rabbit_config["vhost"])
    channel = connection.channel()
    for exchange in (*brokeraccounts.PUBLIC_EXCHANGES, "nameko-rpc"):
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
    yield channel
    connection.close()


def _refused(connection, act):
    channel = connection.channel()  # the broker closes it on refusal
    with pytest.raises(amqp.exceptions.AccessRefused):
        act(channel)


def test_an_outside_consumer_reads_its_own_queue_and_can_do_nothing_else(account, staffbank, rabbit_config):
    name, url = account
    assert f"{name}:" in url
    hr = _connect(url, rabbit_config["vhost"])
    channel = hr.channel()
    queue = f"{name}.payroll"
    channel.queue_declare(queue, durable=True, auto_delete=False)
    channel.queue_bind(queue, "payroll.events", routing_key="pay_run.closed")

    envelope = {"event_id": str(uuid.uuid4()), "type": "pay_run.closed", "data": {}}
    staffbank.basic_publish(amqp.Message(json.dumps(envelope)), exchange="payroll.events",
                            routing_key="pay_run.closed")
    for _ in range(50):
        message = channel.basic_get(queue, no_ack=True)
        if message is not None:
            break
        time.sleep(0.1)
    assert message is not None and json.loads(message.body)["event_id"] == envelope["event_id"]

    forged = amqp.Message(json.dumps({**envelope, "type": "compliance.cleared"}))
    _refused(hr, lambda c: c.basic_publish(forged, exchange="identity.events",
                                           routing_key="compliance.cleared"))
    _refused(hr, lambda c: c.basic_publish(forged, exchange="nameko-rpc", routing_key="identity.create_user"))
    _refused(hr, lambda c: c.basic_publish(forged, exchange="", routing_key=queue))  # the default exchange
    _refused(hr, lambda c: c.queue_declare("rpc-identity", passive=False, durable=True, auto_delete=False))
    _refused(hr, lambda c: c.exchange_delete("payroll.events"))
    hr.close()


def test_names_that_would_widen_the_permissions_are_refused(rabbit_config, request):
    with pytest.raises(ValueError):
        brokeraccounts.create(".*", rabbit_config["AMQP_URI"], request.config.getoption("RABBIT_API_URI"))
    read = brokeraccounts.permissions("acme-hr")["read"]
    assert read == r"^(acme\-hr\..*|identity\.events|payroll\.events)$"
