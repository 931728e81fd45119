"""Three bare nameko services, nothing of the chassis: what one HTTP write costs on nameko 2.14,
eventlet and this broker with no authentication, database, schema or outbox.

- `floor_gateway`: `POST /post` makes one RPC (`floor_backend.work`) and answers 201 with its result;
  `GET /get` makes one RPC (`floor_backend.read`), the floor of a read;
- `floor_backend`: `work` dispatches one event (`posted`: nameko's EventDispatcher, persistent, with
  publisher confirms) and returns; `read` returns a small dict;
- `floor_listener`: handles `posted` (does nothing with it).
"""

import json
import uuid

from nameko.events import EventDispatcher, event_handler
from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http


class FloorGateway:
    name = "floor_gateway"
    backend = RpcProxy("floor_backend")

    @http("POST", "/post")
    def post(self, request):
        body = json.loads(request.get_data() or b"{}")
        return 201, {"Content-Type": "application/json"}, json.dumps(self.backend.work(body))

    @http("GET", "/get")
    def get(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps(self.backend.read())


class FloorBackend:
    name = "floor_backend"
    dispatch = EventDispatcher()

    @rpc
    def work(self, body):
        result = {"id": uuid.uuid4().hex, **body}
        self.dispatch("posted", result)
        return result

    @rpc
    def read(self):
        return {"id": uuid.uuid4().hex, "status": "ok"}


class FloorListener:
    name = "floor_listener"
    seen = 0

    @event_handler("floor_backend", "posted")
    def on_posted(self, payload):
        FloorListener.seen += 1


SERVICES = {"gateway": FloorGateway, "backend": FloorBackend, "listener": FloorListener}
