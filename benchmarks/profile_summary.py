"""Summarise a py-spy raw (collapsed stacks) profile: how much of a core the process used, the top
self and cumulative costs, self time by component (library) and inclusive time by stage of the
write path (authentication, scope, validation, the unit of work, the outbox, ...)."""

import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::\d+)?\)$")
SERVICE_CODE = ("identity/", "compliance/", "shifts/", "payroll/", "matching/", "notifications/",
                "reporting/", "contracts/")
OWN = ("gateway/", "chassis/", *SERVICE_CODE, "benchmarks/")  # our code, as opposed to libraries

# self time by the library the sampled frame is in (first match wins)
COMPONENTS = (
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("psycopg2 (DB driver)", ("psycopg2/",)),
    ("AMQP (kombu, py-amqp)", ("kombu/", "amqp/")),
    ("marshmallow (schemas)", ("marshmallow/",)),
    ("JSON", ("json/", "simplejson/")),
    ("logging", ("logging/",)),
    ("JWT", ("jwt/",)),
    ("werkzeug (HTTP)", ("werkzeug/",)),
    ("eventlet", ("eventlet/", "greenlet")),
    ("nameko", ("nameko/",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("chassis", ("chassis/",)),
    ("gateway code", ("gateway/",)),
    ("service code", SERVICE_CODE),
    ("dates, zoneinfo", ("datetime", "zoneinfo/", "_strptime", "dateutil/")),
)

# inclusive time by what the stack is doing: a stack counts for the first stage in this list that any
# of its frames matches ("file:function"), so cross-cutting work (logging) is taken out first and a
# gateway step counts whole, the RPCs it waits on included
STAGES = (
    ("logging (JSON lines)", r"^logging/|chassis/context.py:format"),
    ("metrics", r"^prometheus_client/"),
    ("gateway: token + get_principal RPC", r"gateway/http.py:authenticate$"),
    ("gateway: scope check (resolve_scope RPCs)", r"gateway/access.py:authorise$"),
    ("gateway: body/query validation", r"gateway/http.py:(load|read_json_body|query_dict)$"),
    ("gateway: response JSON", r"gateway/http.py:(json_response|problem_response)$"),
    ("gateway: route handler (its service RPC)", r"gateway/routes/"),
    ("gateway: werkzeug request/response", r"^werkzeug/|eventlet/wsgi.py"),
    ("outbox relay (publishing committed events)", r"chassis/outbox.py"),
    ("event handlers (consuming events)", r"chassis/handlers.py|/service.py:(on_|_consume|_handle)"),
    ("RPC reply (serialise, publish, ack)", r"chassis/rpc.py:handle_result$"),
    ("RPC end: store kept result + commit", r"chassis/db.py:end_call$"),
    ("outgoing RPCs (payroll rate, identity, compliance)", r"nameko/rpc.py:(__call__|call_async|_call)$"),
    ("unit of work: outbox rows + flush/commit", r"chassis/db.py:(__exit__|commit|_write_outbox)$"),
    ("RPC payload load (marshmallow)", r"chassis/schemas.py:load_or_invalid$"),
    ("domain: use cases, queries, rules", r"/(use_cases|queries|domain|working_time|access)\.py:"),
    ("RPC entrypoint (rest)", r"chassis/rpc.py:(timed|call)$|nameko/containers.py:_run_worker$"),
    ("timers and background loops", r"chassis/loops.py|nameko/timer.py|notifications/sender.py"),
    ("AMQP consuming (kombu, py-amqp)", r"nameko/messaging.py|^kombu/|^amqp/"),
    ("eventlet hub", r"^eventlet/"),
)


def parse(path):
    """[(frames, count)] of a raw py-spy file; frames as (file, function), outermost first. A
    `--nonblocking` sample reads a running process's memory and now and then gets garbage, bytes
    that are not UTF-8 among them: such a stack is left out."""
    stacks = []
    for line in Path(path).read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or "\ufffd" in stack:
            continue
        frames = []
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            frames.append((match["file"], match["function"]) if match else (frame, ""))
        stacks.append((frames, int(count)))
    return stacks


def label(frame):
    file, function = frame
    return f"{file}:{function}"


def component(file):
    for name, prefixes in COMPONENTS:
        if any(file.startswith(p) or f"/{p}" in file for p in prefixes):
            return name
    return "other (stdlib, ...)"


def stage(frames):
    labels = [label(frame) for frame in frames]
    for name, pattern in STAGES:
        if any(re.search(pattern, text) for text in labels):
            return name
    return "other"


def is_own(file):
    return any(file.startswith(p) or f"/{p}" in file for p in OWN)


def summarise_profile(path, seconds, rate):
    stacks = parse(path)
    total = sum(count for _, count in stacks)
    if not total:
        return {"samples": 0, "cpu": 0.0, "self": [], "cumulative": [], "categories": [], "stages": []}
    own_self, cumulative, categories, stages = Counter(), Counter(), Counter(), Counter()
    for frames, count in stacks:
        leaf = frames[-1]
        own_self[label(leaf)] += count
        categories[component(leaf[0])] += count
        stages[stage(frames)] += count
        for name in {label(f) for f in frames if is_own(f[0])}:
            cumulative[name] += count

    def shares(counter):
        return [(name, n / total) for name, n in counter.most_common()]

    return {
        "samples": total,
        "cpu": total / (seconds * rate),
        "self": shares(own_self)[:15],
        "cumulative": shares(cumulative)[:15],
        "categories": shares(categories),
        "stages": shares(stages),
    }
