"""The e-mail channel's use cases: a person's choice, one e-mail per person at a release, its text,
and bounces (refused at once by the server, or reported later in a delivery status notification).

The e-mail is written only where a release lets held messages through (`at_release`): the same
decisions that let a push out now, never inside rest. A message recalled before the e-mail goes
out is left out of it.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

import pytz
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.directory.models import Person
from kernel.i18n import text
from kernel.jobs import SendEmails
from notify.mail.models import EmailChoice, EmailMessage
from notify.models import Message
from notify.outbox import enqueue

EMAIL_BATCH = 100


@dataclass(frozen=True)
class Choice:
    address: str
    enabled: bool
    bounced_at: datetime | None
    bounce_reason: str | None


def choice_of(*, session: Session, person: Person) -> Choice:
    row = session.get(EmailChoice, person.id)
    if row is None:
        return Choice(person.email, False, None, None)
    return Choice(row.address, row.enabled, row.bounced_at, row.bounce_reason)


def choose(*, session: Session, person: Person, enabled: bool, address: str | None, now: datetime) -> Choice:
    """Opt in or out; a new address (or opting in again) clears an earlier bounce."""
    row = session.get(EmailChoice, person.id)
    if row is None:
        row = EmailChoice(person_id=person.id, address=address or person.email, enabled=enabled, updated_at=now)
        session.add(row)
    else:
        if address and address.lower() != row.address.lower():
            row.address, row.bounced_at, row.bounce_reason = address, None, None
        elif enabled and not row.enabled:
            row.bounced_at, row.bounce_reason = None, None
        row.enabled, row.updated_at = enabled, now
    session.flush()
    return choice_of(session=session, person=person)


def at_release(*, session: Session, released: Mapping[uuid.UUID, Sequence[uuid.UUID]], now: datetime) -> int:
    """The release hook: one e-mail per person who chose it, with the messages released to them now."""
    if not released:
        return 0
    rows = session.scalars(
        select(EmailChoice).where(
            EmailChoice.person_id.in_(list(released)),
            EmailChoice.enabled.is_(True),
            EmailChoice.bounced_at.is_(None),
        )
    ).all()
    ids: list[uuid.UUID] = []
    for choice in rows:
        mail = EmailMessage(
            id=uuid.uuid4(),
            person_id=choice.person_id,
            address=choice.address,
            message_ids=[str(m) for m in released[choice.person_id]],
            state="pending",
            attempts=0,
            created_at=now,
        )
        session.add(mail)
        ids.append(mail.id)
    for i in range(0, len(ids), EMAIL_BATCH):
        enqueue(session, SendEmails(email_ids=tuple(ids[i : i + EMAIL_BATCH])), now=now)
    return len(ids)


def compose(
    *,
    messages: Sequence[Message],
    senders: Mapping[uuid.UUID, str],
    language: str,
    to: str,
    sender_address: str,
    base_url: str,
    zone: str = "Europe/Stockholm",
) -> MimeMessage:
    """ONE plain-text e-mail for the messages, oldest first; a sensitive message keeps its text home."""
    ordered = sorted(messages, key=lambda m: m.created_at)
    subject = (
        text("notice.mail.one", language, title=ordered[0].title if not ordered[0].sensitive else "1")
        if len(ordered) == 1
        else text("notice.mail.many", language, n=len(ordered))
    )
    parts = [text("notice.mail.intro", language), ""]
    for m in ordered:
        parts.append(f"## {m.title}" if not m.sensitive else "## —")
        when = m.created_at.astimezone(pytz.timezone(zone)).strftime("%Y-%m-%d %H:%M")
        parts.append(
            text(
                "notice.mail.from", language, sender=senders.get(m.sender_id, ""), audience=m.audience_label, when=when
            )
        )
        parts.append(text("notice.mail.sensitive", language) if m.sensitive else m.body)
        if m.deep_link and not m.sensitive:
            parts.append(m.deep_link)
        parts.append("")
    parts.append(text("notice.mail.inbox", language, url=base_url.rstrip("/") + "/inbox"))
    mail = MimeMessage()
    mail["From"] = sender_address
    mail["To"] = to
    mail["Subject"] = subject[:250]
    mail["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "vila.invalid")
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to Vila
    mail.set_content("\n".join(parts))
    return mail


def mark_bounced(*, session: Session, address: str, reason: str, now: datetime) -> list[uuid.UUID]:
    """Mark every choice with this address as bounced: nothing more is sent to it."""
    rows = session.scalars(select(EmailChoice).where(func.lower(EmailChoice.address) == address.lower())).all()
    for row in rows:
        row.bounced_at, row.bounce_reason, row.updated_at = now, reason[:500], now
    session.flush()
    return [r.person_id for r in rows]


@dataclass(frozen=True)
class Bounce:
    address: str
    status: str
    reason: str


def parse_dsn(raw: bytes) -> list[Bounce]:
    """The permanent failures (Action: failed, Status 5.x.x) a delivery status notification
    (RFC 3464) reports; an empty list when it is none."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    found: list[Bounce] = []
    for part in parsed.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else [email.message_from_string(str(payload))]
        for block in blocks:
            if isinstance(block, str):
                continue
            recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
            action, status = str(block.get("Action", "")).strip().lower(), str(block.get("Status", "")).strip()
            if not recipient or action != "failed" or not status.startswith("5"):
                continue
            address = recipient.split(";", 1)[-1].strip().strip("<>")
            found.append(Bounce(address, status, str(block.get("Diagnostic-Code", "") or f"status {status}")))
    return found
