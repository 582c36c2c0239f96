"""Messages: preview, send, status and history for senders; inbox, read and acknowledge for recipients."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import AuditDep, Auditor, ClockDep, CurrentPerson, PageDep, SessionDep, SettingsDep, UowDep
from kernel.directory.schemas import Page
from kernel.errors import Conflict
from kernel.uow import UnitOfWork
from notify import chains, idempotency, inboxes, previews, scheduling, sending, tracking
from notify.models import IdempotencyRecord, Message
from notify.schemas import (
    InboxItem,
    MessageCreate,
    MessageRead,
    MessageSizeProbe,
    MessageStatus,
    Preview,
    PushSize,
    SendAccepted,
)

router = APIRouter(prefix="/api/v1", tags=["messages"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Same key and body within 24 h: same answer."),
]


ReaderLanguage = Annotated[
    Literal["sv", "en"] | None,
    Query(description="The language of the summary and reasons (the page's); default the sender's."),
]


@router.post("/messages/preview", response_model=Preview)
def preview(
    body: MessageCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep, language: ReaderLanguage = None
) -> Preview:
    """Who would be reached now (or at `send_at`, as far as is known now), who later and why,
    without sending anything."""
    return previews.preview(session=session, body=body, sender=me, at=body.send_at or clock.now(), language=language)


@router.post("/messages/size", response_model=PushSize)
def size(body: MessageSizeProbe, clock: ClockDep, _me: CurrentPerson) -> PushSize:
    """How many bytes the largest push of this title, text and link would take, against the
    providers' limit: the same computation that answers a send with 413."""
    return sending.push_size(body, now=clock.now())


@router.post("/messages", response_model=SendAccepted, status_code=status.HTTP_202_ACCEPTED)
def send(
    body: MessageCreate,
    request: Request,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    settings: SettingsDep,
    uow: UowDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Accept a message. It is stored before this answers; delivery follows in workers."""
    now = clock.now()
    digest = idempotency.request_hash(body)
    if idempotency_key:
        first = idempotency.replay(session=session, sender_id=me.person_id, key=idempotency_key, digest=digest, now=now)
        if first is not None:
            return JSONResponse(first, status_code=status.HTTP_202_ACCEPTED, headers={"Idempotent-Replayed": "true"})
    try:
        if body.send_at is not None:
            message = scheduling.schedule(
                session=session, body=body, sender=me, now=now, idempotency_key=idempotency_key
            )
            record = None
            if idempotency_key:
                session.flush()
                record = idempotency.reserve(
                    session=session,
                    sender_id=me.person_id,
                    key=idempotency_key,
                    digest=digest,
                    message_id=message.id,
                    now=now,
                )
            chains.bind(session=session, message=message, chain_id=body.escalation_chain_id, at=now)
            result = SendAccepted(
                message_id=message.id,
                status="scheduled",
                recipients_total=0,
                counts=None,
                summary=[],
                status_url=str(request.url_for("message_status", message_id=message.id)),
            )
            return _accepted(session, uow, audit, message, result, record)
        accepted = sending.accept(
            session=session,
            body=body,
            sender=me,
            now=now,
            idempotency_key=idempotency_key,
            request_digest=digest,
            settings=settings,
        )
    except idempotency.KeyTaken:
        # A concurrent request with this key committed first: its answer, or a 409 for another body.
        session.rollback()
        key = idempotency_key or ""
        first = idempotency.replay(session=session, sender_id=me.person_id, key=key, digest=digest, now=now)
        if first is None:
            raise Conflict("a request with this Idempotency-Key is in progress; try again shortly") from None
        return JSONResponse(first, status_code=status.HTTP_202_ACCEPTED, headers={"Idempotent-Replayed": "true"})
    message = accepted.message
    chains.bind(session=session, message=message, chain_id=body.escalation_chain_id, at=now)
    result = SendAccepted(
        message_id=message.id,
        status="decided" if accepted.decided else "deciding",
        recipients_total=message.recipients_total,
        counts=sending.counts_of(accepted.decided) if accepted.decided else None,
        summary=previews.summary(
            accepted.decided.decisions, language=me.language, zone=previews.zone_of(session, me.person_id), at=now
        )
        if accepted.decided
        else [],
        status_url=str(request.url_for("message_status", message_id=message.id)),
    )
    return _accepted(session, uow, audit, message, result, accepted.idempotency)


def _accepted(
    session: Session,
    uow: UnitOfWork,
    audit: Auditor,
    message: Message,
    result: SendAccepted,
    record: IdempotencyRecord | None,
) -> JSONResponse:
    payload = result.model_dump(mode="json")
    if record is not None:
        record.response = payload
    audit.log(
        session,
        action="message.send",
        target_type="message",
        target_id=message.id,
        after={
            "priority": message.priority,
            "audience": message.audience_label,
            "recipients": message.recipients_total,
            "override_reason": message.override_reason,
            "send_at": message.send_at.isoformat() if message.send_at else None,
        },
    )
    uow.commit()
    return JSONResponse(payload, status_code=status.HTTP_202_ACCEPTED)


@router.get("/messages", response_model=Page[MessageRead])
def history(session: SessionDep, me: CurrentPerson, page: PageDep) -> Page[MessageRead]:
    """Messages you have sent, newest first."""
    rows, total = tracking.sent_by(session=session, sender_id=me.person_id, limit=page.limit, offset=page.offset)
    return Page[MessageRead](
        items=[MessageRead.model_validate(m) for m in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/messages/{message_id}", response_model=MessageStatus, name="message_status")
def message_status(message_id: uuid.UUID, session: SessionDep, me: CurrentPerson, page: PageDep) -> MessageStatus:
    """Counts and per-recipient status for the sender; reads outside working time stay private."""
    message = tracking.require_message(session=session, message_id=message_id)
    tracking.require_status_rights(session=session, message=message, principal=me)
    return tracking.status(session=session, message=message, language=me.language, limit=page.limit, offset=page.offset)


@router.get("/inbox", response_model=Page[InboxItem])
def inbox(
    session: SessionDep,
    me: CurrentPerson,
    page: PageDep,
    unread: Annotated[bool, Query(description="Only unread messages.")] = False,
) -> Page[InboxItem]:
    """Your messages, held ones included: reading a held message here does not push it."""
    items, total = inboxes.inbox(
        session=session,
        person_id=me.person_id,
        language=me.language,
        unread_only=unread,
        limit=page.limit,
        offset=page.offset,
    )
    return Page[InboxItem](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/inbox/{message_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def read(
    message_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> None:
    inboxes.mark_read(session=session, message_id=message_id, principal=me, now=clock.now())
    audit.exempt()
    uow.commit()


@router.post("/inbox/{message_id}/ack", status_code=status.HTTP_204_NO_CONTENT)
def acknowledge(
    message_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> None:
    inboxes.acknowledge(session=session, message_id=message_id, principal=me, now=clock.now())
    audit.exempt()
    uow.commit()
