"""The base every Staffbank nameko service extends."""

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from chassis.broker import bound_reconnect_backoff
from chassis.config import check_config
from chassis.context import Correlation
from chassis.db import Database

bound_reconnect_backoff()


class RequiredConfig(DependencyProvider):
    """Refuses to start a container whose config lacks what its service needs (chassis.config.
    check_config): a process without a usable signing key stops at once, not at its first request.
    `python -m chassis.runner` runs the same check before it touches the database."""

    def setup(self):
        check_config(self.container.service_cls, self.container.config)


class StaffbankService:
    """Gives a service its database (with outbox relay), correlation ids and health RPC.

    `required_config` names the settings a service cannot start without, beyond the broker and
    database (e.g. `("TOKEN_SIGNING_KEY",)`); they are checked when it starts."""

    name = None
    required_config = ()
    db = Database()
    correlation_id = Correlation()
    _required_config = RequiredConfig()

    @rpc
    def health(self):
        """Answers only if this service's database answers too (used by /readyz)."""
        self.db.session.execute(sa.text("SELECT 1"))
        return {"service": self.name, "status": "ok"}
