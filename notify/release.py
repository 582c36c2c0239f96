"""The release of held messages: by batches of people, ONE digest per person, safe with many workers.

    notify.release_holds   (beat's tick, or a wake-up at the next due instant; the `release` queue)
      plans: the people with due holds, in jobs of `release_batch` people, unless a release is
      still under way; then the wake-up for the next due instant.
    notify.release_people  (the `release` queue)
      claims its people (PostgreSQL: their person rows, FOR NO KEY UPDATE SKIP LOCKED; SQLite: the
      database's write lock), takes ALL their due held deliveries, decides them again now, and
      writes one digest per person, whose pushes go out on the `release` queue as well.

A person is released by one transaction at a time, with every due row they have, so the digest
never depends on how rows fell into batches or which worker came first. The cost is linear: one
query per table per batch, the engine's states loaded once per batch, dicts by person and
message instead of scans, and set-based updates.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, cast, false, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from kernel.db import among, bulk_insert, bulk_update, is_postgres, new_id, unit_of_work
from kernel.directory.models import Person
from kernel.i18n import both
from kernel.jobs import PlanRelease, RedecideHolds, ReleasePeople, SendDeliveries
from notify import pipeline
from notify.delivery import claimed_sends, deliver, enqueue_sends, facts_for_stored, reasons_json, record_contacts
from notify.digests import Item, digest_text
from notify.mail import service as mail
from notify.models import Delivery, Digest, Message, Recipient
from notify.outbox import PENDING, RUNNING, Job, JobContext, JobRegistry, enqueue, run_claimed
from notify.release_timing import next_due, schedule_wake
from policies.core.engine import decide_many
from policies.core.types import Decision, MessageFacts, Reason
from policies.rest_policies import policies_for
from policies.states import load_states

log = logging.getLogger("vila.release")

RECHECK = timedelta(seconds=2)  # while a release is under way, look again this soon
_SENDS = JobRegistry()  # what a release job runs itself: the sends of its own digests
_SENDS.register(SendDeliveries, pipeline.send_claimed)

_RELEASED = Reason("released", *both("reason.released"))


class HeldRow(NamedTuple):
    id: uuid.UUID
    message_id: uuid.UUID
    person_id: uuid.UUID
    device_id: uuid.UUID
    recipient_id: uuid.UUID | None
    level: str | None
    content_free: bool
    attempts: int


_HELD_COLUMNS = (
    Delivery.id,
    Delivery.message_id,
    Delivery.person_id,
    Delivery.device_id,
    Delivery.recipient_id,
    Delivery.level,
    Delivery.content_free,
    Delivery.attempts,
)


# Jobs ------------------------------------------------------------------------------------------


def plan(ctx: JobContext, payload: PlanRelease) -> None:
    """Queue the release of everyone with due holds, a batch of people per job."""
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        if _under_way(session):
            schedule_wake(session, at=now + RECHECK, now=now)
            return
        due = session.scalars(
            select(Delivery.person_id).where(Delivery.state == "held", Delivery.not_before <= now).distinct()
        ).all()
        people = sorted(p for p in due if p is not None)  # a shared tablet's delivery is never held
        size = ctx.settings.release_batch
        for i in range(0, len(people), size):
            enqueue(session, ReleasePeople(person_ids=tuple(people[i : i + size])), now=now)
        schedule_wake(session, at=next_due(session, after=now), now=now)
    if people:
        log.info("release planned: %d people in %d job(s)", len(people), -(-len(people) // size))


def _under_way(session: Session) -> bool:
    """A release job is waiting or running: its people are not planned again meanwhile."""
    return (
        session.scalar(
            select(Job.id).where(Job.state.in_((PENDING, RUNNING)), Job.name == ReleasePeople.job_name).limit(1)
        )
        is not None
    )


def release_people(ctx: JobContext, payload: ReleasePeople) -> None:
    """Release the due holds of these people: those another release holds are left to it."""
    ids = sorted(payload.person_ids)
    now = ctx.clock.now()
    sends: list[Job] = []
    with unit_of_work(ctx.session_factory) as session:
        mine = claim_people(session, ids, wait=False)
        if mine:
            rows = _held(session, among(session, Delivery.person_id, mine), Delivery.not_before <= now)
            sends = release(ctx, session, rows, now=now, claim_sends=True)
    # Push this batch's digests now, here: queued, they would wait behind the release's other
    # batches. The release's own transaction claimed them (deliveries and send jobs, with one
    # lease), so no other worker takes them; if this one dies, the sweeper finds the job's lease
    # run out and its next run claims the deliveries, whose lease has run out with it.
    for job in sends:
        run_claimed(ctx, _SENDS, job.id, name=job.name, payload=dict(job.payload), attempts=job.attempts)


def redecide_holds(ctx: JobContext, payload: RedecideHolds) -> None:
    """A person's availability changed (a DND ended early, a shift was added): decide all their
    held messages again now. Those still held get their new release instant."""
    person_id = payload.person_id
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        if claim_people(session, [person_id], wait=True):
            release(ctx, session, _held(session, Delivery.person_id == person_id), now=now)


def release_held(ctx: JobContext, session: Session, ids: list[uuid.UUID], *, now: datetime) -> None:
    """Decide these held deliveries again now, in the caller's transaction (role handoffs)."""
    found = session.scalars(select(Delivery.person_id).where(among(session, Delivery.id, ids))).all()
    people = sorted({p for p in found if p is not None})
    if claim_people(session, people, wait=True):
        release(ctx, session, _held(session, among(session, Delivery.id, ids)), now=now)


# Claiming people -------------------------------------------------------------------------------


def claim_people(session: Session, person_ids: Sequence[uuid.UUID], *, wait: bool) -> list[uuid.UUID]:
    """Take the right to release these people for the rest of the transaction; returns those taken.

    PostgreSQL: their person rows, locked FOR NO KEY UPDATE (which new recipients' foreign keys do
    not wait for), in id order; without `wait`, those another release holds are skipped. Rows are
    read only after this, so a person released meanwhile shows no due rows any more. SQLite has
    no row locks: the transaction takes the database's write lock first, so releases run one at
    a time and each reads what the previous one wrote."""
    if not person_ids:
        return []
    if is_postgres(session):
        stmt = (
            select(Person.id)
            .where(among(session, Person.id, list(person_ids)))
            .order_by(Person.id)
            .with_for_update(skip_locked=not wait, key_share=True)
        )
        return list(session.scalars(stmt).all())
    session.execute(update(Delivery).where(false()).values(state=Delivery.state))
    return list(person_ids)


def _held(session: Session, *where: ColumnElement[bool]) -> list[HeldRow]:
    # Core, not the ORM: plain columns need none of its row processing, which cost as much as
    # fetching the rows in a profile of a release (20,000 rows per batch of 5,000 people).
    session.flush()  # what the ORM's execute would do first: the caller's pending changes count
    rows = session.connection().execute(select(*_HELD_COLUMNS).where(Delivery.state == "held", *where)).all()
    return [HeldRow(*r) for r in rows if r.person_id is not None]  # type: ignore[arg-type]  # checked


# The release -----------------------------------------------------------------------------------


def release(
    ctx: JobContext, session: Session, rows: Sequence[HeldRow], *, now: datetime, claim_sends: bool = False
) -> list[Job]:
    """Decide these held deliveries again now; what may go out goes as one push per person and
    device: the message itself when it is one, else a digest of them all. Returns the send jobs
    of those pushes: queued, or with `claim_sends` claimed for the caller to run (the pushes'
    deliveries written as sending and their jobs as running, under one lease): one write per
    delivery fewer than claiming them afterwards, and no wake-up through the broker."""
    by_pair: dict[tuple[uuid.UUID, uuid.UUID], list[HeldRow]] = defaultdict(list)  # (message, person)
    people_of: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)  # message -> people
    for r in rows:
        by_pair[(r.message_id, r.person_id)].append(r)
        people_of[r.message_id].add(r.person_id)
    if not by_pair:
        return []
    messages = {m.id: m for m in session.scalars(select(Message).where(among(session, Message.id, list(people_of))))}
    everyone = list({pid for pids in people_of.values() for pid in pids})
    states = load_states(session=session, person_ids=everyone, at=now)
    pols = policies_for(session=session, person_ids=everyone, at=now)
    deliverable: dict[uuid.UUID, dict[uuid.UUID, Decision]] = defaultdict(dict)  # person -> message -> decision
    delivered_recipients: list[uuid.UUID] = []
    contacts: list[tuple[uuid.UUID, Decision, MessageFacts]] = []  # for the rest ledger
    held_again: dict[datetime, list[uuid.UUID]] = defaultdict(list)
    dropped: dict[str, list[uuid.UUID]] = defaultdict(list)
    for message_id, people in people_of.items():
        message = messages.get(message_id)
        if message is None:
            continue
        facts = facts_for_stored(session=session, message=message, at=now)
        if facts.priority == "urgent" and facts.override_reason is not None:
            # An override is the sender's judgement about the moment it was sent; a held urgent
            # message is released as an ordinary urgent one, never as an override later.
            facts = replace(facts, override_reason=None)
        decisions = decide_many((states[p] for p in people if p in states), facts, pols, now)
        for pid, decision in decisions.items():
            mine = by_pair[(message_id, pid)]
            rid = mine[0].recipient_id
            ids = [r.id for r in mine]
            if decision.kind == "hold" and decision.release_at is not None:
                held_again[decision.release_at].extend(ids)
                _recipient(session, rid, release_at=decision.release_at, reasons=reasons_json(decision))
            elif decision.kind == "drop":
                dropped["expired while held"].extend(ids)
                _recipient(session, rid, decision="drop", reasons=reasons_json(decision))
            elif decision.kind == "reroute" and decision.reroute_to:
                dropped["rerouted at release"].extend(ids)
                _recipient(
                    session, rid, decision="reroute", reroute_to=decision.reroute_to, reasons=reasons_json(decision)
                )
                direct = replace(facts, audience_role=None, cover=())
                deliver(
                    session=session,
                    message=message,
                    person_ids=[decision.reroute_to],
                    facts=direct,
                    audience=1,
                    settings=ctx.settings,
                    now=now,
                )
            elif decision.kind == "deliver":
                deliverable[pid][message_id] = decision
                if rid is not None:
                    delivered_recipients.append(rid)
                contacts.append((pid, decision, facts))
    record_contacts(session=session, contacts=contacts, policies_of=pols, now=now)
    for instant, ids in held_again.items():
        _deliveries(session, ids, not_before=instant)
    for error, ids in dropped.items():
        _deliveries(session, ids, state="dropped", error=error, not_before=None)
    if delivered_recipients:
        session.execute(
            update(Recipient)
            .where(among(session, Recipient.id, delivered_recipients))
            .values(decision="deliver", reasons=_appended(session, Recipient.reasons, _RELEASED))
            .execution_options(synchronize_session=False)
        )
    # The e-mail channel's hook: what this release lets through, also as one e-mail per person.
    if ctx.settings.smtp_host and deliverable:
        mail.at_release(session=session, released={p: list(d) for p, d in deliverable.items()}, now=now)
    lease_until = now + timedelta(seconds=ctx.settings.job_lease_s) if claim_sends else None
    to_send = _push_per_person(session, deliverable, by_pair, messages, now=now, lease_until=lease_until)
    if lease_until is None:
        sends = enqueue_sends(session=session, delivery_ids=to_send, queue="release", now=now)
    else:
        sends = claimed_sends(session=session, delivery_ids=to_send, queue="release", now=now, lease_until=lease_until)
    if held_again:
        schedule_wake(session, at=min(held_again), now=now)
    log.info("released %d people: %d pushes, %d held again", len(deliverable), len(to_send), len(held_again))
    return sends


def _push_per_person(
    session: Session,
    deliverable: dict[uuid.UUID, dict[uuid.UUID, Decision]],
    by_pair: dict[tuple[uuid.UUID, uuid.UUID], list[HeldRow]],
    messages: dict[uuid.UUID, Message],
    *,
    now: datetime,
    lease_until: datetime | None,
) -> list[uuid.UUID]:
    """One push per person and device; the deliveries it stands for are marked digested. The
    pushes' deliveries are pending, or with `lease_until` already claimed (sending)."""
    go = "pending" if lease_until is None else "sending"
    languages = dict(
        session.execute(select(Person.id, Person.language).where(among(session, Person.id, list(deliverable)))).all()
    )
    updates: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    to_send: list[uuid.UUID] = []
    # The people of a batch mostly share their messages (the same broadcasts): order them, and
    # write each distinct digest text, once per batch.
    rank = {m: i for i, m in enumerate(sorted(messages, key=lambda m: (messages[m].created_at, str(m))))}
    names = {m: str(m) for m in messages}
    texts: dict[tuple[str, tuple[int, ...], tuple[bool, ...]], tuple[str, str]] = {}
    for pid, decided in deliverable.items():
        if len(decided) == 1:
            ((message_id, decision),) = decided.items()
            for r in by_pair[(message_id, pid)]:
                updates.append(_row(r, go, "message", decision.level or r.level, lease_until=lease_until))
                to_send.append(r.id)
            continue
        ordered = sorted(decided, key=rank.__getitem__)
        private = tuple(messages[m].sensitive or any(r.content_free for r in by_pair[(m, pid)]) for m in ordered)
        language = languages.get(pid, "sv")
        key = (language, tuple(rank[m] for m in ordered), private)
        text = texts.get(key)
        if text is None:
            items = [
                Item(title=messages[m].title, label=messages[m].audience_label, private=p)
                for m, p in zip(ordered, private, strict=True)
            ]
            text = texts[key] = digest_text(items, language)
        title, body = text
        digest_id = new_id()
        digests.append(
            {
                "id": digest_id,
                "person_id": pid,
                "message_ids": [names[m] for m in ordered],
                "title": title,
                "body": body,
                "created_at": now,
            }
        )
        carriers: dict[uuid.UUID, uuid.UUID] = {}  # device -> its delivery of the newest message
        for m in ordered:
            for r in by_pair[(m, pid)]:
                carriers[r.device_id] = r.id
        carrying = set(carriers.values())
        for m in ordered:
            for r in by_pair[(m, pid)]:
                if r.id in carrying:
                    updates.append(_row(r, go, "digest", "active", digest_id, lease_until=lease_until))
                    to_send.append(r.id)
                else:
                    updates.append(_row(r, "digested", "message", r.level, digest_id))
    bulk_insert(session, Digest, digests)
    bulk_update(session, Delivery, updates)
    return to_send


def _row(
    r: HeldRow,
    state: str,
    kind: str,
    level: str | None,
    digest_id: uuid.UUID | None = None,
    *,
    lease_until: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": r.id,
        "state": state,
        "kind": kind,
        "level": level,
        "digest_id": digest_id,
        "not_before": None,
        "lease_until": lease_until,
        "attempts": r.attempts + 1 if state == "sending" else r.attempts,
    }


def _recipient(session: Session, recipient_id: uuid.UUID | None, **values: Any) -> None:
    if recipient_id is not None:
        session.execute(
            update(Recipient)
            .where(Recipient.id == recipient_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _deliveries(session: Session, ids: list[uuid.UUID], **values: Any) -> None:
    session.execute(
        update(Delivery)
        .where(among(session, Delivery.id, ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _appended(session: Session, column: Any, reason: Reason) -> Any:
    """`column` (a JSON list of reasons) with one more, computed by the database for every row."""
    entry = {"rule": reason.rule, "sv": reason.sv, "en": reason.en}
    if is_postgres(session):
        return column.op("||")(cast(literal(json.dumps([entry])), JSONB))
    return func.json_insert(column, "$[#]", func.json(json.dumps(entry, ensure_ascii=False)))
