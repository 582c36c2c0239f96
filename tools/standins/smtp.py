"""A local SMTP stand-in (aiosmtpd) for the e-mail channel, in tests and the embedded mode.

It accepts mail on loopback and keeps every message it was given (`received`), and writes each to
a folder as an .eml file when it has one, so a newcomer can open what Vila sent. Bounces come two
ways, as from a real server: an address in `refuse` is refused at RCPT with 550 5.1.1 (the sender
sees it at once), and mail to an address in `bounce_later` is accepted and then answered with a
delivery status notification (RFC 3464) kept in `dsns`, for Vila's bounce intake to read.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    folder: Path | None
    refuse: set[str] = field(default_factory=set)
    bounce_later: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    dsns: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        mail_from = str(envelope.mail_from or "")
        with self.lock:
            self.received.append(Received(mail_from, list(envelope.rcpt_tos), parsed))
            for rcpt in envelope.rcpt_tos:
                if rcpt.lower() in self.bounce_later:
                    self.dsns.append(dsn_for(rcpt, mail_from, str(parsed.get("Message-ID", ""))))
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{uuid.uuid4().hex}.eml").write_bytes(data)
        return "250 Message accepted for delivery"


def dsn_for(recipient: str, sender: str, original_id: str) -> bytes:
    """A delivery status notification (RFC 3464) saying the mail to `recipient` failed for good."""
    boundary = "vila-dsn-" + uuid.uuid4().hex
    lines = [
        "From: MAILER-DAEMON@standin.invalid",
        f"To: {sender}",
        "Subject: Undelivered Mail Returned to Sender",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        f"Your message to <{recipient}> could not be delivered: the mailbox does not exist.",
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; standin.invalid",
        "",
        f"Original-Recipient: rfc822;{recipient}",
        f"Final-Recipient: rfc822;{recipient}",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown",
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        f"Message-ID: {original_id}",
        f"To: {recipient}",
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SmtpStandIn:
    """The stand-in on its own thread; `start()` and `stop()` it, or use it as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._handler = _Handler(folder)
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def dsns(self) -> list[bytes]:
        with self._handler.lock:
            return list(self._handler.dsns)

    def refuse(self, address: str) -> None:
        self._handler.refuse.add(address.lower())

    def bounce_later(self, address: str) -> None:
        self._handler.bounce_later.add(address.lower())

    def start(self) -> SmtpStandIn:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpStandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
