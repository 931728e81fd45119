"""A real SMTP server for tests and for `make run`: aiosmtpd on 127.0.0.1 and a free (or given)
port, keeping every message that arrives so a test can read it, and, given a folder, writing each
there as an .eml file (`make run` keeps them in .run/mail). Stop and start it again (same port)
to play an outage.

    with SmtpSink() as smtp:
        config = service_config(NotificationsService, SMTP_PORT=smtp.port)
        ...
        poll(lambda: smtp.to("ada@example.org"))
"""

import email
import email.policy
import re
import socket
from datetime import UTC, datetime
from pathlib import Path


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    def __init__(self, port=None, folder=None, on_message=None):
        self.port = port or _free_port()
        self.folder = Path(folder) if folder else None
        self.on_message = on_message  # called with each message as it arrives
        self.messages = []
        self.refused = set()  # addresses answered 550, as a server that knows no such mailbox
        self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        if self.folder is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
            to = re.sub(r"[^\w.@-]", "_", str(message["To"]))[:80]
            (self.folder / f"{stamp}-{to}.eml").write_bytes(envelope.content)
        if self.on_message is not None:
            self.on_message(message)
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller  # a test dependency only

        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def to(self, address):
        """The messages that arrived for `address`, in arrival order."""
        return [m for m in self.messages if m["To"] == address]

    def text(self, message):
        return message.get_content()


class IdentityStandIn:
    """Answers notifications' questions (get_bank, get_organisation, get_site, get_worker,
    role_holders) as identity would after publishing the events it was told of (`learn`), for
    notifications' service-level tests. identity's own tests cover its real answers."""

    STATUS_EVENTS = ("worker.onboarding", "worker.activated", "worker.suspended", "worker.left")

    def __init__(self):
        self.banks, self.organisations, self.sites, self.workers, self.users = {}, {}, {}, {}, {}

    def learn(self, event_type, data):
        if event_type == "bank.created":
            self.banks[data["bank_id"]] = {"id": data["bank_id"], "name": data["name"]}
        elif event_type == "organisation.created":
            fields = ("bank_id", "name", "kind", "ods_code")
            self.organisations[data["organisation_id"]] = {"id": data["organisation_id"],
                                                           **{k: data.get(k) for k in fields}}
        elif event_type == "site.created":
            self.sites[data["site_id"]] = {"id": data["site_id"], **data}
        elif event_type == "user.created":
            self.users[data["user_id"]] = data
        elif event_type == "worker.registered":
            self.workers[data["worker_id"]] = {"id": data["worker_id"], **data}
        elif event_type in self.STATUS_EVENTS and data["worker_id"] in self.workers:
            self.workers[data["worker_id"]]["status"] = data["status"]

    def get_bank(self, bank_id):
        return self.banks.get(bank_id)

    def get_organisation(self, organisation_id):
        return self.organisations.get(organisation_id)

    def get_site(self, site_id):
        return self.sites.get(site_id)

    def get_worker(self, worker_id):
        from chassis.errors import NotFound

        if worker_id not in self.workers:
            raise NotFound("no such worker")
        return self.workers[worker_id]

    def role_holders(self, roles, place_ids):
        """Those with a grant of one of `roles` on the platform or one of the places, with all
        their grants (identity.queries.role_holders)."""
        def holds(grant):
            return grant["role"] in roles and (grant["scope_type"] == "platform"
                                               or grant.get("scope_id") in place_ids)

        return [user for _, user in sorted(self.users.items()) if any(holds(g) for g in user["roles"])]
