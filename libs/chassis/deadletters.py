"""Operators' tool for dead letters: list, show, replay.

    python -m chassis.deadletters list
    python -m chassis.deadletters show identity.on_compliance_cleared [--limit 20]
    python -m chassis.deadletters replay identity.on_compliance_cleared [--event-id ID ...]

A handler's dead letters wait in `<consumer queue>.dead-letter`. `replay` moves
them (all, or those with the given event ids) back to the consumer queue with a
fresh attempt count; the handler's idempotency makes replaying an event that did
take effect harmless. `list` uses the RabbitMQ management API (`RABBIT_API_URI`,
default http://guest:guest@127.0.0.1:15672) to find every dead-letter queue.
"""

import argparse
import json
import sys
from urllib.parse import quote, urlsplit

import requests
from kombu import Connection, Queue

from chassis.config import amqp_uri, env
from chassis.events import DEAD_LETTER_SUFFIX
from chassis.handlers import ATTEMPT_HEADER, ERROR_HEADER


def _vhost(uri):
    path = urlsplit(uri).path.lstrip("/")
    return path or "/"


def list_dead_letter_queues(uri, api_uri):
    api = urlsplit(api_uri)
    base = f"{api.scheme}://{api.hostname}:{api.port or 15672}"
    response = requests.get(
        f"{base}/api/queues/{quote(_vhost(uri), safe='')}",
        auth=(api.username or "guest", api.password or "guest"),
        params={"columns": "name,messages"},
        timeout=10,
    )
    response.raise_for_status()
    return sorted(
        (q["name"][: -len(DEAD_LETTER_SUFFIX)], q.get("messages", 0))
        for q in response.json()
        if q["name"].endswith(DEAD_LETTER_SUFFIX)
    )


def _drain(channel, queue_name):
    """Every message now in the queue, unacked (they return to it when the channel closes)."""
    queue = Queue(queue_name, channel=channel, no_declare=True)
    while True:
        message = queue.get(no_ack=False)
        if message is None:
            return
        yield message


def describe(message):
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = {}
    return {
        "event_id": body.get("event_id") if isinstance(body, dict) else None,
        "type": body.get("type") if isinstance(body, dict) else None,
        "attempts": headers.get(ATTEMPT_HEADER),
        "error": headers.get(ERROR_HEADER) or _death_reason(headers),
    }


def _death_reason(headers):
    deaths = headers.get("x-death") or []
    return f"broker dead-lettered: {deaths[0].get('reason')}" if deaths else None


def show(uri, queue, limit):
    with Connection(uri) as conn:
        channel = conn.channel()
        shown = []
        for message in _drain(channel, queue + DEAD_LETTER_SUFFIX):
            if len(shown) >= limit:
                break
            shown.append(describe(message))
        channel.close()  # nothing acked: every message stays dead-lettered
    return shown


def discard(uri, queue, event_ids=None):
    """Ack (delete) `queue`'s dead letters, all or those with `event_ids`; returns their event ids.
    The others go back to the dead-letter queue when the channel closes, as after `show`."""
    wanted = set(event_ids or [])
    discarded = []
    with Connection(uri) as conn:
        channel = conn.channel()
        for message in _drain(channel, queue + DEAD_LETTER_SUFFIX):
            info = describe(message)
            if wanted and info["event_id"] not in wanted:
                continue
            message.ack()
            discarded.append(info["event_id"])
        channel.close()
    return discarded


def replay(uri, queue, event_ids=None):
    """Move dead letters back to `queue`; returns the event ids replayed."""
    wanted = set(event_ids or [])
    replayed = []
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        # The handler's queue must exist, or the copies would vanish (raises if it does not).
        Queue(queue, channel=conn.channel()).queue_declare(passive=True)
        producer = conn.Producer(channel=conn.channel())
        for message in _drain(channel, queue + DEAD_LETTER_SUFFIX):
            info = describe(message)
            if wanted and info["event_id"] not in wanted:
                continue
            headers = {
                k: v for k, v in (message.headers or {}).items()
                if k not in (ATTEMPT_HEADER, ERROR_HEADER, "x-death")
                and not k.startswith("x-first-death") and not k.startswith("x-last-death")
            }
            producer.publish(
                message.body,
                exchange="",
                routing_key=queue,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
                type=message.properties.get("type"),
            )
            message.ack()  # only after the broker confirmed the copy
            replayed.append(info["event_id"])
        channel.close()
    return replayed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chassis.deadletters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-uri", default=amqp_uri())
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    p_show = sub.add_parser("show")
    p_show.add_argument("queue")
    p_show.add_argument("--limit", type=int, default=20)
    p_replay = sub.add_parser("replay")
    p_replay.add_argument("queue")
    p_replay.add_argument("--event-id", action="append", dest="event_ids")
    args = parser.parse_args(argv)

    if args.command == "list":
        api = env("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
        rows = list_dead_letter_queues(args.amqp_uri, api)
        if not rows:
            print("no dead-letter queues")
        for name, count in rows:
            print(f"{count:>8}  {name}")
    elif args.command == "show":
        for info in show(args.amqp_uri, args.queue, args.limit):
            print(json.dumps(info))
    else:
        replayed = replay(args.amqp_uri, args.queue, args.event_ids)
        print(f"replayed {len(replayed)} message(s) to {args.queue}")
        for event_id in replayed:
            print(f"  {event_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
