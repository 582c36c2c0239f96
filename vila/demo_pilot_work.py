"""The demo pilot's three months of work: the participants' shifts, and each unit's messages decided
by the policy engine and persisted with their recipients, deliveries and rest-ledger contacts,
acknowledged in or out of working time as the engine says. The report's usage figures come from
these rows (`vila.demo_pilot` builds the pilot around them)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.db import new_id
from kernel.directory.models import Group, GroupManager, GroupMember
from kernel.timezones import local_instant
from notify.delivery import Decided, facts_of, persist
from notify.models import Delivery, Message, Recipient
from policies.core.engine import decide_many
from policies.core.types import MessageFacts, PolicyParams, RecipientState
from policies.models import Shift
from policies.rest_policies import policies_for
from policies.states import load_states

ZONE = "Europe/Stockholm"


def senders(session: Session, units: dict[str, Group]) -> dict[str, uuid.UUID]:
    rows = session.execute(select(GroupManager.group_id, GroupManager.person_id)).all()
    by_group = {gid: pid for gid, pid in rows}
    return {code: by_group[g.id] for code, g in units.items() if g.id in by_group}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return local_instant(ZONE, day, time(hour, minute))


def shifts(session: Session, person_id: uuid.UUID, unit: str, first: date, end: date, now: datetime) -> None:
    """The pilot's weeks of work: rotating day and evening shifts on the wards, day and night
    shifts at the ambulance station; two days off a week, staggered."""
    rows: list[Shift] = []
    offset = int(person_id.hex[-2:], 16) % 7
    day, n = first, 0
    while day < end:
        n += 1
        if (n + offset) % 7 in (5, 6):
            day += timedelta(days=1)
            continue
        week = (day.toordinal() // 7 + offset) % 2
        if unit == "ambulans-norr":
            night = (local(day, 19), local(day + timedelta(days=1), 7))
            start, stop = (local(day, 7), local(day, 19)) if week == 0 else night
        else:
            start, stop = (local(day, 7), local(day, 16)) if week == 0 else (local(day, 13, 30), local(day, 22))
        rows.append(Shift(person_id=person_id, planned_start=start, planned_end=stop, created_at=now, updated_at=now))
        day += timedelta(days=1 if unit != "ambulans-norr" or week == 0 else 2)
    session.add_all(rows)  # generated one after another, so none overlaps: no need to check each
    session.flush()


@dataclass(frozen=True)
class Post:
    """A message a unit's manager sends every week (weekday 0 is Monday), local time."""

    weekday: int
    hour: int
    minute: int
    priority: str
    ack: bool
    titles: tuple[str, ...]
    reason: str | None = None


SCHEDULE = (
    Post(0, 9, 15, "normal", False, ("Veckans information", "Planering för veckan")),
    Post(0, 10, 40, "urgent", True, ("Bemanning: extra pass i kväll", "Behov av förstärkning")),
    Post(1, 19, 30, "info", False, ("Nyhetsbrev från förvaltningen", "Ny utbildning i journalsystemet")),
    Post(2, 14, 5, "normal", False, ("Ändrad mötestid", "Påminnelse om arbetsplatsträff")),
    Post(3, 10, 20, "urgent", True, ("Byte av pass söks", "Akut: saknar personal på förmiddagen")),
    Post(3, 20, 45, "info", False, ("Läsvärt inför morgondagen", "Rutin uppdaterad")),
    Post(4, 9, 0, "normal", False, ("Helgens bemanning", "Information inför helgen")),
)
OVERRIDE = Post(4, 21, 15, "urgent", True, ("Kan du komma in i natt?",), "Akut bemanningsbrist i natt")
EMERGENCY = Post(0, 3, 10, "emergency", True, ("Masskadeläge – kom in om du kan",), "Masskadeläge: trafikolycka")


@dataclass
class Week:
    """A unit's people as the engine sees them for one week: states loaded once, with a horizon that
    also covers the releases and acknowledgements of the week's last messages."""

    states: dict[uuid.UUID, RecipientState]
    policies: dict[uuid.UUID, PolicyParams]
    until: datetime


def _week(session: Session, people: list[uuid.UUID], at: datetime) -> Week:
    horizon = timedelta(days=12)
    return Week(
        states=load_states(session=session, person_ids=people, at=at, horizon=horizon),
        policies=policies_for(session=session, person_ids=people, at=at),
        until=at + horizon,
    )


def messages(
    session: Session,
    rng: random.Random,
    units: dict[str, Group],
    unit_codes: set[str],
    senders: dict[str, uuid.UUID],
    start: date,
    end: date,
) -> None:
    """Each pilot unit's manager writes to the unit on a weekly rhythm; every other Friday evening an
    urgent request with an override reason, and one night an emergency at the emergency department."""
    codes = sorted(unit_codes)
    members = {
        code: list(session.scalars(select(GroupMember.person_id).where(GroupMember.group_id == units[code].id)))
        for code in codes
    }
    for week_no in range((end - start).days // 7):
        monday = start + timedelta(days=7 * week_no)
        for code in codes:
            week = _week(session, members[code], local(monday, 0))
            for offset in range(7):
                day = monday + timedelta(days=offset)
                plan = [post for post in SCHEDULE if post.weekday == offset]
                if offset == 4 and week_no % 2 == 1:
                    plan.append(OVERRIDE)
                if code == "akuten" and week_no == 6 and offset == 3:
                    plan.insert(0, EMERGENCY)
                for post in plan:
                    at = local(day, post.hour, post.minute + rng.randrange(0, 10))
                    _send(session, rng, week, senders[code], units[code], at, post)


def _send(
    session: Session, rng: random.Random, week: Week, sender: uuid.UUID, unit: Group, at: datetime, post: Post
) -> None:
    """One message, decided by the engine for every member and persisted like any other."""
    message = Message(
        id=new_id(),
        sender_id=sender,
        title=rng.choice(post.titles),
        body="Se detaljerna i intranätet eller fråga din chef.",
        priority=post.priority,
        requires_ack=post.ack,
        ack_timeout_s=1800 if post.ack else None,
        sensitive=False,
        override_reason=post.reason,
        audience={"groups": [str(unit.id)]},
        audience_label=unit.name,
        sender_roles=["manager", "staff"],
        state="decided",
        recipients_total=len(week.states),
        chunks_total=1,
        created_at=at,
    )
    session.add(message)
    session.flush()
    facts = facts_of(
        priority=post.priority,
        sender_id=sender,
        sender_roles=message.sender_roles,
        override_reason=post.reason,
        expires_at=None,
        message_id=message.id,
    )
    decisions = decide_many(week.states.values(), facts, week.policies, at)
    persist(session=session, message=message, decided=Decided(decisions, week.policies), facts=facts, now=at)
    _delivered(session, message.id, at)
    if post.ack:
        _acknowledge(session, rng, week, message.id, at)


def _delivered(session: Session, message_id: uuid.UUID, at: datetime) -> None:
    """Long since sent: pushed at once, or released as a digest when the hold ended."""
    session.execute(
        update(Delivery)
        .where(Delivery.message_id == message_id, Delivery.state == "pending")
        .values(state="sent", sent_at=at)
        .execution_options(synchronize_session=False)
    )
    for delivery in session.scalars(
        select(Delivery).where(Delivery.message_id == message_id, Delivery.state == "held")
    ):
        delivery.state, delivery.sent_at = "digested", delivery.not_before


def _acknowledge(session: Session, rng: random.Random, week: Week, message_id: uuid.UUID, at: datetime) -> None:
    """Most recipients acknowledge some minutes after the message reaches them. Whether that was in
    working time is what the engine says at that instant, as when a person presses the button
    (`notify.delivery.in_working_time`: would a normal message reach them now), asked once for
    everyone who acknowledges at the same instant."""
    when: dict[datetime, list[Recipient]] = defaultdict(list)
    for row in session.scalars(select(Recipient).where(Recipient.message_id == message_id)):
        reached = at if row.decision == "deliver" else row.release_at
        if reached is None or row.decision not in ("deliver", "hold") or rng.random() < 0.15:
            continue
        pace = 0.6 + (row.person_id.int % 9) / 10  # some answer faster than others
        delay = timedelta(minutes=round(rng.choice((2, 4, 6, 9, 13, 18, 25, 40, 70)) * pace))
        if reached + delay < week.until:  # people held to the horizon (no shifts in the pilot) never answer
            when[reached + delay].append(row)
    normal = MessageFacts(priority="normal")
    for instant, rows in when.items():
        states = [week.states[r.person_id] for r in rows]
        decisions = decide_many(states, normal, week.policies, instant)
        for row in rows:
            decision = decisions.get(row.person_id)
            row.acked_at = row.read_at = instant
            row.acked_in_working_time = row.read_in_working_time = decision is not None and decision.kind == "deliver"
    session.flush()
