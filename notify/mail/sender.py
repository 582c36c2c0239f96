"""Sending the e-mail channel's mail over SMTP (aiosmtplib), and the `notify.send_email` job.

Results split as push results do: sent; refused for good (5xx for the recipient: the address is
marked bounced); or transient (connection, timeout, 4xx: tried again later, at most
`MAX_ATTEMPTS` times).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from typing import Protocol

import aiosmtplib
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.jobs import SendEmails
from kernel.settings import Settings
from notify.mail import service
from notify.mail.models import EmailMessage
from notify.models import Message
from notify.outbox import JobContext, backoff, enqueue

log = logging.getLogger("vila.mail")

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class MailSent:
    pass


@dataclass(frozen=True)
class MailRefused:
    reason: str


@dataclass(frozen=True)
class MailLater:
    reason: str


MailResult = MailSent | MailRefused | MailLater


class Mailer(Protocol):
    def send(self, mails: Sequence[MimeMessage]) -> list[MailResult]:
        """Send every mail; one result per mail, in the same order."""
        ...


class SmtpMailer:
    """One SMTP connection per batch, through aiosmtplib."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, mails: Sequence[MimeMessage]) -> list[MailResult]:
        return asyncio.run(self._send(mails))

    async def _send(self, mails: Sequence[MimeMessage]) -> list[MailResult]:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_s,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return [MailLater(f"cannot reach the SMTP server: {exc}")] * len(mails)
        results: list[MailResult] = []
        try:
            for mail in mails:
                results.append(await self._one(client, mail))
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        return results

    @staticmethod
    async def _one(client: aiosmtplib.SMTP, mail: MimeMessage) -> MailResult:
        try:
            await client.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return MailRefused(reason) if all(500 <= c < 600 for c in codes) else MailLater(reason)
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"{exc.code} {exc.message}"
            return MailRefused(reason) if 500 <= exc.code < 600 else MailLater(reason)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return MailLater(str(exc))
        return MailSent()


def _mailer(ctx: JobContext) -> Mailer:
    mailer = ctx.resources.get("mailer")
    if mailer is not None:
        return mailer  # type: ignore[no-any-return]
    return SmtpMailer(ctx.settings)


def send_email(ctx: JobContext, payload: SendEmails) -> None:
    """Claim, write and send a batch of e-mails; record each result."""
    ids = list(payload.email_ids)
    now = ctx.clock.now()
    lease = timedelta(seconds=ctx.settings.job_lease_s)
    with unit_of_work(ctx.session_factory) as session:
        claimed = list(
            session.scalars(
                update(EmailMessage)
                .where(
                    EmailMessage.id.in_(ids),
                    or_(
                        and_(
                            EmailMessage.state == "pending",
                            or_(EmailMessage.not_before.is_(None), EmailMessage.not_before <= now),
                        ),
                        and_(EmailMessage.state == "sending", EmailMessage.lease_until < now),
                    ),
                )
                .values(state="sending", lease_until=now + lease, attempts=EmailMessage.attempts + 1)
                .returning(EmailMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
        outgoing: list[tuple[uuid.UUID, MimeMessage]] = []
        for mail in session.scalars(select(EmailMessage).where(EmailMessage.id.in_(claimed))):
            mime = _write(session, mail, ctx.settings)
            if mime is None:
                mail.state, mail.lease_until, mail.error = "recalled", None, "every message in it was recalled"
                continue
            mail.smtp_message_id = str(mime["Message-ID"])[:300]
            outgoing.append((mail.id, mime))
    if not outgoing:
        return
    results = _mailer(ctx).send([m for _, m in outgoing])
    retry: list[uuid.UUID] = []
    with unit_of_work(ctx.session_factory) as session:
        for (mail_id, _), result in zip(outgoing, results, strict=True):
            done = session.get(EmailMessage, mail_id)
            if done is None:
                continue
            mail = done
            mail.lease_until = None
            if isinstance(result, MailSent):
                mail.state, mail.sent_at, mail.error = "sent", now, None
            elif isinstance(result, MailRefused):
                mail.state, mail.error = "bounced", result.reason[:500]
                service.mark_bounced(session=session, address=mail.address, reason=result.reason, now=now)
            elif mail.attempts >= MAX_ATTEMPTS:
                mail.state, mail.error = "failed", result.reason[:500]
                log.error("e-mail %s given up after %d attempts: %s", mail.id, mail.attempts, result.reason)
            else:
                mail.state, mail.error = "pending", result.reason[:500]
                mail.not_before = now + timedelta(seconds=backoff(mail.attempts, base_s=30.0, cap_s=1800.0))
                retry.append(mail.id)
        if retry:
            latest = max(
                m.not_before
                for m in session.scalars(select(EmailMessage).where(EmailMessage.id.in_(retry)))
                if m.not_before
            )
            enqueue(session, SendEmails(email_ids=tuple(retry)), now=now, not_before=latest)


def _write(session: Session, mail: EmailMessage, settings: Settings) -> MimeMessage | None:
    messages = list(
        session.scalars(
            select(Message).where(
                Message.id.in_([uuid.UUID(m) for m in mail.message_ids]), Message.recalled_at.is_(None)
            )
        )
    )
    if not messages:
        return None
    person = session.get(Person, mail.person_id)
    senders = dict(
        session.execute(select(Person.id, Person.name).where(Person.id.in_({m.sender_id for m in messages}))).all()
    )
    return service.compose(
        messages=messages,
        senders=senders,
        language=person.language if person else "sv",
        zone=person.timezone if person else "Europe/Stockholm",
        to=mail.address,
        sender_address=settings.smtp_from,
        base_url=settings.base_url,
    )
