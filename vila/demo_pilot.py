"""The demo region's finished pilot: 20 people in four professions (half with phones, half with
tablets, the emergency department among the units) and a comparison group, three months of work
and messages, and the three survey waves answered, so the board's report has content on first start.

Everything goes through the product's own paths: the pilot and its participants through the pilot
services, answers through the anonymous survey service, and the months of work and messages through
the policy engine and the message store (`vila.demo_pilot_work`). The report computes every figure
from those rows.
Deterministic: a fixed seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from kernel.directory.schemas import PersonCreate
from kernel.timezones import local_instant, zone
from notify import devices
from notify.models import Device
from notify.schemas import DeviceCreate
from pilot import pilots, surveys
from pilot.costs.inputs import CostInputs, RolloutRow
from pilot.models import Pilot
from pilot.schemas import AnswerCreate, CostsUpdate, ParticipantIn, PilotCreate, SurveyWindow
from vila import demo_pilot_work as work

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
    enrolled = work.local(start - timedelta(days=8), 9)  # before the baseline survey opened
    chosen = _enrol(session, pilot, units, keep_out, enrolled)
    for person_id, cohort in chosen.items():
        work.shifts(session, person_id, cohort.unit, start - timedelta(days=2), end, now)
    work.messages(session, rng, units, {c.unit for c in COHORTS}, work.senders(session, units), start, end)
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


def _devices(session: Session, rng: random.Random, people: dict[uuid.UUID, str], end: date) -> None:
    """The pilot devices (a phone or a tablet each) were handed out before the start and checked in
    through the pilot; two stopped checking in during its last weeks."""
    silent = set(rng.sample(sorted(people), 2))
    for device in session.scalars(select(Device).where(Device.person_id.in_(people))):
        if device.person_id is None:  # selected by person: never a shared tablet's
            continue
        device.name = "Arbetstelefon" if people[device.person_id] == "phone" else "Surfplatta"
        device.created_at = work.local(end - timedelta(days=WEEKS * 7 + 3), 8)
        device.last_seen_at = work.local(end - timedelta(days=25 if device.person_id in silent else 2), 12)
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
