"""The broker's own floor with pika: how fast this RabbitMQ takes persistent messages with publisher
confirms into a durable quorum queue (the kind every Staffbank handler consumes from), from one
publisher waiting for each confirm (as a relay publishing one event at a time) and from ten, and how
fast a consumer takes them off again acknowledging each (prefetch 10, as MAX_WORKERS)."""

import statistics
import threading
import time

import pika

from benchmarks.common import percentile

QUEUE = "bench.broker-floor"
BODY = b"x" * 300


def _publisher(amqp_uri, deadline, latencies, lock):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    mine = []
    while time.monotonic() < deadline:
        started = time.monotonic()
        channel.basic_publish("", QUEUE, BODY, properties, mandatory=True)
        mine.append(time.monotonic() - started)
    connection.close()
    with lock:
        latencies.extend(mine)


def publish(amqp_uri, publishers, seconds):
    latencies, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    threads = [
        threading.Thread(target=_publisher, args=(amqp_uri, deadline, latencies, lock))
        for _ in range(publishers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.monotonic() - started


def consume(amqp_uri, expected, seconds=60):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=10)
    got = 0
    started = time.monotonic()
    for method, _, _ in channel.consume(QUEUE, inactivity_timeout=2):
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
        got += 1
        if got >= expected or time.monotonic() - started > seconds:
            break
    elapsed = time.monotonic() - started
    channel.cancel()
    connection.close()
    return got, elapsed


def broker_floor(amqp_uri, seconds=4):
    """Rows {name, rate, detail} for the report."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    connection.close()
    rows = []
    try:
        for publishers in (1, 10):
            latencies, elapsed = publish(amqp_uri, publishers, seconds)
            ms = [s * 1000 for s in latencies]
            rows.append(
                {
                    "name": f"publish persistent + confirm, {publishers} publisher(s)",
                    "rate": len(ms) / elapsed,
                    "detail": f"n={len(ms)} p50={statistics.median(ms):.2f} ms "
                    f"p95={percentile(ms, 95):.2f} ms",
                }
            )
            got, elapsed = consume(amqp_uri, len(ms))
            rows.append(
                {
                    "name": "consume + ack each (prefetch 10), 1 consumer",
                    "rate": got / elapsed,
                    "detail": f"n={got} in {elapsed:.1f} s",
                }
            )
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        connection.channel().queue_delete(QUEUE)
        connection.close()
    return rows
