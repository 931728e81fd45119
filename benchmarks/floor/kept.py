"""The floor with the platform's guarantees (issue 22): the bare floor's write, made on the chassis
every Staffbank service runs on, with nothing of any service's domain.

- `floor_kept_gateway`: the bare floor's `@http` gateway, whose `POST /post` makes one RPC, here
  through the chassis's `ServiceRpc` (requests that expire with their caller), to `floor_kept.work`;
- `floor_kept` (`@domain_rpc`): the call is one transaction that inserts one row and emits one event
  (`floor.posted`) through the outbox, its result kept under the request's correlation id so a
  redelivered request is answered without acting again; the outbox relay publishes the event with
  confirms, mandatory;
- `floor_kept_listener_1..3`: three consumers of `floor.posted` (a posted shift's facts are applied
  by three: matching, notifications, reporting), each a chassis event handler applying it in one
  unit of work with its inbox claim (exactly once), retries and dead-lettering.

What it costs beside the bare floor is what DESIGN.md's reliability rules cost on this machine
before any domain work: the figure a write of the platform cannot go below.
"""

import uuid

import sqlalchemy as sa
from marshmallow import Schema, fields

import contracts
from benchmarks.floor.services import FloorGateway
from chassis.handlers import event_handler
from chassis.rpc import ServiceRpc, domain_rpc
from chassis.service import StaffbankService

LISTENERS = 3

metadata = sa.MetaData()
rows = sa.Table(
    "floor_rows", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("body", sa.JSON, nullable=False),
)


class FloorPosted(Schema):
    id = fields.Str(required=True)


contracts.CATALOGUE[("floor.posted", 1)] = ("floor_kept", FloorPosted)


class FloorKeptGateway(FloorGateway):
    """The bare floor's gateway, calling `floor_kept` through the chassis's `ServiceRpc`."""

    name = "floor_kept_gateway"
    backend = ServiceRpc("floor_kept")


class FloorKept(StaffbankService):
    name = "floor_kept"

    @domain_rpc
    def work(self, body):
        result = {"id": uuid.uuid4().hex, **body}
        with self.db.unit_of_work() as uow:
            uow.session.execute(rows.insert().values(id=result["id"], body=body))
            uow.emit("floor.posted", {"id": result["id"]})
        return result

    @domain_rpc
    def read(self):
        """The floor's read (GET /get), answered as every service's reads are."""
        return {"id": uuid.uuid4().hex, "status": "ok"}


def _listener(number):
    def on_posted(self, event):
        with self.db.unit_of_work() as uow:
            uow.session.execute(rows.insert().values(id=event.data["id"], body={}))

    return type(f"FloorKeptListener{number}", (StaffbankService,), {
        "name": f"floor_kept_listener_{number}",
        "on_posted": event_handler("floor_kept", "floor.posted")(on_posted),
    })


KEPT_SERVICES = {"kept_gateway": FloorKeptGateway, "kept": FloorKept,
                 **{f"kept_listener_{n}": _listener(n) for n in range(1, LISTENERS + 1)}}
