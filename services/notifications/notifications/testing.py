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
