"""The base every Staffbank nameko service extends."""

import sqlalchemy as sa
from nameko.rpc import rpc

from chassis.broker import bound_reconnect_backoff
from chassis.context import Correlation
from chassis.db import Database

bound_reconnect_backoff()


class StaffbankService:
    """Gives a service its database (with outbox relay), correlation ids and health RPC."""

    name = None
    db = Database()
    correlation_id = Correlation()

    @rpc
    def health(self):
        """Answers only if this service's database answers too (used by /readyz)."""
        self.db.session.execute(sa.text("SELECT 1"))
        return {"service": self.name, "status": "ok"}
