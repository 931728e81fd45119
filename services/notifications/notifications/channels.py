"""The channels a notification leaves by, behind one interface: `send(Outgoing)`, raising
`SendFailed` when it may work later and `Undeliverable` when it never will.

Email goes over SMTP (`SMTP_HOST`, `SMTP_PORT`, from `SMTP_SENDER`); SMS and push are logging
adapters until a provider is chosen (they log what they would send). The in-app inbox is not
one of these: the commit that writes a notification delivers it."""

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 5


class SendFailed(Exception):
    """Not sent this time; a later attempt may succeed."""


class Undeliverable(SendFailed):
    """Refused for good (the server rejected the address with a 5xx): retrying would not help.
    Every other failure (connection, timeout, a refusal of the whole message) is retried."""


@dataclass(frozen=True)
class Outgoing:
    to: str | None
    subject: str
    text: str
    message_id: str  # the delivery's (or digest's) id: the same message keeps the same id


class EmailChannel:
    name = "email"

    def __init__(self, host, port, sender, timeout=SMTP_TIMEOUT_SECONDS):
        self.host, self.port, self.sender, self.timeout = host, int(port), sender, timeout

    def message(self, outgoing):
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = outgoing.to
        email["Subject"] = outgoing.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = f"<{outgoing.message_id}@staffbank>"
        email.set_content(outgoing.text)
        return email

    def send(self, outgoing):
        if not outgoing.to:
            raise Undeliverable("no email address")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(self.message(outgoing))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = Undeliverable if all(code >= 500 for code in codes) else SendFailed
            raise error(f"recipient refused: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc


class LoggingChannel:
    """SMS or push until a provider is wired in: logs what it would send."""

    def __init__(self, name):
        self.name = name

    def send(self, outgoing):
        log.info("%s to %s: %s", self.name, outgoing.to, outgoing.subject,
                 extra={"channel": self.name, "message_id": outgoing.message_id})


def channels_from(config):
    """The channel of each outbound name, as the service's config sets them up."""
    return {
        "email": EmailChannel(config.get("SMTP_HOST") or "127.0.0.1", config.get("SMTP_PORT") or 1025,
                              config.get("SMTP_SENDER") or "staffbank@localhost"),
        "sms": LoggingChannel("sms"),
        "push": LoggingChannel("push"),
    }
