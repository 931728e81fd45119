"""How every nameko consumer reconnects to the broker, and settles a message whose connection
is gone.

nameko 2.14's QueueConsumer reconnects with kombu's default backoff (2 s, growing by 2 s, up
to 30 s between attempts): after a 60 s broker outage a service could wait 16 s more before it
tried again, past API.md's "serves again within 10 s of the return". Here the wait grows by
1 s from 1 s and never exceeds RECONNECT_INTERVAL_MAX, so a service is back within a few
seconds of the broker. Applied once, when the chassis is imported (chassis.service).

`settle` acks or requeues a message, and takes a connection lost meanwhile as done: the broker
has already taken the message back and will deliver it again, and the inbox (events) or the
result kept under the correlation id (RPC) makes that delivery a no-op. Let through, the error
killed the service's container (found by the soak: `make soak`), DESIGN.md rule 7.
"""

import logging
from contextlib import contextmanager

from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)

# What acking or requeueing on a connection the broker has just dropped may raise.
CONNECTION_LOST = (KombuError, AMQPError, ConnectionError, OSError)

RECONNECT_INTERVAL_MAX = 3  # seconds


@contextmanager
def _establish_connection(self):
    with self.create_connection() as connection:
        connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                     interval_start=1, interval_step=1,
                                     interval_max=RECONNECT_INTERVAL_MAX)
        yield connection


def bound_reconnect_backoff():
    QueueConsumer.establish_connection = _establish_connection


def settle(action, message, what):
    """Run `action(message)` (a queue consumer's ack_message or requeue_message); a connection
    lost meanwhile is logged, not raised: the broker delivers the message again."""
    try:
        action(message)
    except CONNECTION_LOST as exc:
        log.warning("could not %s a message, its connection is gone (%s): the broker will deliver it "
                    "again", what, exc)
