"""The demo region's finished pilot: 20 people in four professions (half with phones, half with
tablets, the emergency department among the units) and a comparison group, three months of work
and messages, and the three survey waves answered, so the board's report has content on first start.

Everything goes through the product's own paths: shifts through the availability service, each
message decided by the policy engine and persisted with its recipients, deliveries and rest-ledger
contacts, acknowledgements stamped in or out of working time as the engine says, and answers
through the anonymous survey service. The report computes every figure from those rows.
Deterministic: a fixed seed.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.db import new_id
from kernel.directory import service as directory
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from kernel.directory.schemas import PersonCreate
from kernel.timezones import local_instant, zone
from notify import devices
from notify.messages import Decided, facts_of, persist
from notify.models import Delivery, Device, Message, Recipient
from notify.schemas import DeviceCreate
from pilot import pilots, surveys
from pilot.costs.inputs import CostInputs, RolloutRow
from pilot.models import Pilot
from pilot.schemas import AnswerCreate, CostsUpdate, ParticipantIn, PilotCreate, SurveyWindow
from policies import service as policy_service
from policies.engine import decide_many
from policies.models import Shift
from policies.types import MessageFacts, PolicyParams, RecipientState

ZONE = "Europe/Stockholm"
WEEKS = 13


@dataclass(frozen=True)
class Cohort:
    unit: str
    profession: str
    phones: int  # of five


COHORTS = (
    Cohort("akuten", "sjuksköterska", 3),
    Cohort("akuten", "läkare", 2),
    Cohort("med12", "undersköterska", 3),
    Cohort("ambulans-norr", "ambulanssjuksköterska", 2),
)
COMPARISON = Cohort("med12", "sjuksköterska", 0)

# Mean answers (1-5) per profession and wave in the pilot arm: (reachability, stress, coordination,
# information, disturbance). The comparison group stays where it was.
TENDENCIES: dict[str, dict[str, tuple[float, ...]]] = {
    "sjuksköterska": {"baseline": (3.8, 3.3, 2.7, 2.6, 1.8), "final": (3.0, 2.7, 4.0, 3.8, 2.5)},
    "läkare": {"baseline": (3.6, 3.0, 3.1, 3.2, 1.9), "final": (3.4, 2.9, 3.5, 3.6, 2.9)},
    "undersköterska": {"baseline": (3.4, 3.1, 2.5, 2.3, 1.7), "final": (2.8, 2.6, 3.9, 4.1, 2.1)},
    "ambulanssjuksköterska": {"baseline": (3.9, 3.4, 3.2, 2.9, 1.6), "final": (3.7, 3.3, 3.3, 3.1, 1.8)},
    "comparison": {"baseline": (3.6, 3.2, 2.8, 2.7, 1.5), "final": (3.7, 3.3, 2.8, 2.8, 1.5)},
}
FREE_TEXT = (
    "Skönt att slippa leta efter rätt person – meddelandet till gruppen räckte.",
    "Surfplattan är för stor att ha i fickan på akuten.",
    "Jag läste utbildningsmaterialet hemma utan att någon förväntade sig det. Bra att det väntade till morgonen.",
    "Det plingade mitt i ett patientsamtal första veckorna, innan jag lärde mig knappen Med patient.",
    "Lättare att byta pass när alla ser förfrågan samtidigt.",
    "Jag vet fortfarande inte vem jag ska ringa när telefonen går sönder.",
)
OPEN_QUESTIONS = (
    "Ska lånetelefonerna finnas på varje enhet eller centralt per sjukhus?",
    "Hur hindrar vi privata Apple- och Google-konton på regionens enheter, så att de kan återanvändas?",
    "Behöver ambulanssjuksköterskor en egen enhet när fordonen redan har surfplattor?",
    "Vem beslutar att abonnemang och anknytningar avslutas när någon slutar?",
)


def load(*, session: Session, now: datetime, keep_out: set[uuid.UUID]) -> Person:
    """Add the finished pilot to the demo region, leaving the people in `keep_out` (the demo's token
    holders) as they were; returns the evaluator who reads its report."""
    rng = random.Random(20260901)  # noqa: S311 - demo data, not secrets
    evaluator = _evaluator(session, now)
    today = now.astimezone(zone(ZONE)).date()
    start = today - timedelta(days=WEEKS * 7 + 9)
    end = start + timedelta(days=WEEKS * 7)
    units = {g.code: g for g in session.scalars(select(Group).where(Group.kind == "unit"))}
    pilot = pilots.create(
        session=session,
        now=now,
        data=PilotCreate(
            code="mobil-2026",
            name="Arbetstelefoner och surfplattor i vården",
            description=(
                "Tjugo medarbetare i fyra yrken fick en arbetstelefon eller en surfplatta under tre månader, "
                "med Vilas vilotidsregler. En jämförelsegrupp arbetade som vanligt."
            ),
            start_date=start,
            end_date=end - timedelta(days=1),
            status="finished",
            open_questions=list(OPEN_QUESTIONS),
            surveys=[
                _window("baseline", start - timedelta(days=7), start + timedelta(days=3)),
                _window("midpoint", start + timedelta(days=42), start + timedelta(days=52)),
                _window("final", end - timedelta(days=7), end + timedelta(days=4)),
            ],
        ),
    )
    enrolled = _at(start - timedelta(days=8), 9)  # before the baseline survey opened
    chosen = _enrol(session, pilot, units, keep_out, enrolled)
    senders = _senders(session, units)
    for person_id, cohort in chosen.items():
        _shifts(session, person_id, cohort.unit, start - timedelta(days=2), end, now)
    _messages(session, rng, units, senders, start, end)
    _devices(session, rng, _kinds(session, pilot), end)
    _answers(session, rng, pilot, chosen)
    pilots.set_costs(
        session=session,
        pilot=pilot,
        now=now,
        data=CostsUpdate(
            inputs=CostInputs(support_cases_per_device_per_year=Decimal("1.5")),
            rollout=[
                RolloutRow(profession="sjuksköterska", headcount=1400, device_kind="phone"),
                RolloutRow(profession="undersköterska", headcount=1600, device_kind="tablet"),
                RolloutRow(profession="läkare", headcount=700, device_kind="phone"),
                RolloutRow(profession="ambulanssjuksköterska", headcount=180, device_kind="phone"),
            ],
        ),
    )
    session.flush()
    return evaluator


def _window(wave: str, opens: date, closes: date) -> SurveyWindow:
    return SurveyWindow.model_validate(
        {
            "wave": wave,
            "opens_at": local_instant(ZONE, opens, time(7)),
            "closes_at": local_instant(ZONE, closes, time(20)),
        }
    )


def _evaluator(session: Session, now: datetime) -> Person:
    """The evaluator who reads the report; like every demo person, with a work phone."""
    administration = session.scalar(select(Group).where(Group.kind == "administration"))
    evaluator = directory.create_person(
        session=session,
        now=now,
        data=PersonCreate(
            name="Ulla Utvärderare",
            email="ulla.utvarderare@exempel.se",
            profession="utredare",
            roles=["staff", "evaluator"],
            groups=[administration.id] if administration else [],
        ),
    )
    token = f"{uuid.uuid5(uuid.NAMESPACE_DNS, evaluator.email).hex}".ljust(64, "0")
    devices.register(
        session=session,
        person_id=evaluator.id,
        now=now,
        data=DeviceCreate(platform="ios", provider="apns", token=token, name="Arbetstelefon", ownership="work"),
    )
    return evaluator


def _enrol(
    session: Session, pilot: Pilot, units: dict[str, Group], keep_out: set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Cohort]:
    """Five of each cohort (six in the comparison group), never a manager or a token holder; each
    person's registered device decides phone or tablet."""
    skip = set(session.scalars(select(GroupManager.person_id))) | keep_out
    chosen: dict[uuid.UUID, Cohort] = {}
    people: list[ParticipantIn] = []
    for cohort in (*COHORTS, COMPARISON):
        members = session.scalars(
            select(Person.id)
            .join(GroupMember, GroupMember.person_id == Person.id)
            .where(GroupMember.group_id == units[cohort.unit].id, Person.profession == cohort.profession)
            .order_by(Person.name)
        ).all()
        picked = [pid for pid in members if pid not in skip and pid not in chosen][: 6 if cohort is COMPARISON else 5]
        for i, pid in enumerate(picked):
            chosen[pid] = cohort
            if cohort is COMPARISON:
                data = {"person_id": pid, "arm": "comparison"}
            else:
                data = {"person_id": pid, "arm": "pilot", "device_kind": "phone" if i < cohort.phones else "tablet"}
            people.append(ParticipantIn.model_validate(data))
    pilots.enrol(session=session, pilot=pilot, people=people, now=now)
    return chosen


def _senders(session: Session, units: dict[str, Group]) -> dict[str, uuid.UUID]:
    rows = session.execute(select(GroupManager.group_id, GroupManager.person_id)).all()
    by_group = {gid: pid for gid, pid in rows}
    return {code: by_group[g.id] for code, g in units.items() if g.id in by_group}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_instant(ZONE, day, time(hour, minute))


def _shifts(session: Session, person_id: uuid.UUID, unit: str, first: date, end: date, now: datetime) -> None:
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
            start, stop = (_at(day, 7), _at(day, 19)) if week == 0 else (_at(day, 19), _at(day + timedelta(days=1), 7))
        else:
            start, stop = (_at(day, 7), _at(day, 16)) if week == 0 else (_at(day, 13, 30), _at(day, 22))
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
        states=policy_service.load_states(session=session, person_ids=people, at=at, horizon=horizon),
        policies=policy_service.policies_for(session=session, person_ids=people, at=at),
        until=at + horizon,
    )


def _messages(
    session: Session, rng: random.Random, units: dict[str, Group], senders: dict[str, uuid.UUID], start: date, end: date
) -> None:
    """Each pilot unit's manager writes to the unit on a weekly rhythm; every other Friday evening an
    urgent request with an override reason, and one night an emergency at the emergency department."""
    codes = sorted({c.unit for c in COHORTS})
    members = {
        code: list(session.scalars(select(GroupMember.person_id).where(GroupMember.group_id == units[code].id)))
        for code in codes
    }
    for week_no in range((end - start).days // 7):
        monday = start + timedelta(days=7 * week_no)
        for code in codes:
            week = _week(session, members[code], _at(monday, 0))
            for offset in range(7):
                day = monday + timedelta(days=offset)
                plan = [post for post in SCHEDULE if post.weekday == offset]
                if offset == 4 and week_no % 2 == 1:
                    plan.append(OVERRIDE)
                if code == "akuten" and week_no == 6 and offset == 3:
                    plan.insert(0, EMERGENCY)
                for post in plan:
                    at = _at(day, post.hour, post.minute + rng.randrange(0, 10))
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
    (`notify.messages.in_working_time`: would a normal message reach them now), asked once for
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


def _devices(session: Session, rng: random.Random, people: dict[uuid.UUID, str], end: date) -> None:
    """The pilot devices (a phone or a tablet each) were handed out before the start and checked in
    through the pilot; two stopped checking in during its last weeks."""
    silent = set(rng.sample(sorted(people), 2))
    for device in session.scalars(select(Device).where(Device.person_id.in_(people))):
        device.name = "Arbetstelefon" if people[device.person_id] == "phone" else "Surfplatta"
        device.created_at = _at(end - timedelta(days=WEEKS * 7 + 3), 8)
        device.last_seen_at = _at(end - timedelta(days=25 if device.person_id in silent else 2), 12)
    session.flush()


def _kinds(session: Session, pilot: Pilot) -> dict[uuid.UUID, str]:
    rows = pilots.participants(session=session, pilot_id=pilot.id)
    return {r.participant.person_id: r.participant.device_kind for r in rows if r.participant.device_kind}


def _answers(session: Session, rng: random.Random, pilot: Pilot, chosen: dict[uuid.UUID, Cohort]) -> None:
    """Everyone answers the baseline and the final wave; at the mid-point one doctor and one person
    in the comparison group do not, so that the report shows a group hidden for having fewer than 5."""
    skip_mid = {
        next(p for p, c in chosen.items() if c.profession == "läkare"),
        next(p for p, c in chosen.items() if c is COMPARISON),
    }
    texts = iter(FREE_TEXT)
    for survey in pilots.surveys(session=session, pilot_id=pilot.id):
        for person_id, cohort in chosen.items():
            if survey.wave == "midpoint" and person_id in skip_mid:
                continue
            key = "comparison" if cohort is COMPARISON else cohort.profession
            base, final = TENDENCIES[key]["baseline"], TENDENCIES[key]["final"]
            means = {"baseline": base, "final": final}.get(
                survey.wave, tuple((b + f) / 2 for b, f in zip(base, final, strict=True))
            )
            values = [max(1, min(5, round(rng.gauss(m, 0.7)))) for m in means]
            note = next(texts, None) if survey.wave == "final" and rng.random() < 0.5 else None
            surveys.answer(
                session=session,
                survey_id=survey.id,
                person_id=person_id,
                now=survey.opens_at + timedelta(days=1),
                data=AnswerCreate(
                    reachability=values[0],
                    stress=values[1],
                    coordination=values[2],
                    information=values[3],
                    disturbance=values[4],
                    free_text=note,
                ),
            )
