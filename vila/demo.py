"""The demo region "Region Exempel": four units, about sixty people, managers, HR, an admin and
device administration with the region's phones and tablets (`vila/demo_fleet.py`).

Deterministic (a fixed seed), so a screenshot or a test sees the same people every time.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytz
from sqlalchemy.orm import Session

from kernel.auth.service import issue_token
from kernel.directory import service as directory
from kernel.directory.models import Person, Role
from kernel.directory.schemas import GroupCreate, PersonCreate
from kernel.timezones import local_instant
from notify import devices
from notify.schemas import DeviceCreate
from policies import availability, rest_policies, rosters
from policies.core.wallclock import local_date
from policies.schemas.availability import OnCallSlotCreate, ShiftCreate, WeeklyWindow
from policies.schemas.rest_policies import PolicyCreate
from policies.schemas.rosters import RosterCreate, RosterLayerIn
from vila import demo_fleet, demo_pilot

FIRST_NAMES = [
    "Anna",
    "Eva",
    "Maria",
    "Karin",
    "Sara",
    "Lena",
    "Kerstin",
    "Emma",
    "Ingrid",
    "Malin",
    "Johanna",
    "Linnéa",
    "Elin",
    "Sofia",
    "Hanna",
    "Ida",
    "Frida",
    "Maja",
    "Astrid",
    "Elsa",
    "Lars",
    "Mikael",
    "Anders",
    "Johan",
    "Erik",
    "Per",
    "Karl",
    "Peter",
    "Thomas",
    "Jan",
    "Fredrik",
    "Daniel",
    "Oskar",
    "Gustav",
    "Nils",
    "Viktor",
    "Ahmed",
    "Ali",
    "Mohammed",
    "Hassan",
    "Amira",
    "Leyla",
    "Nadia",
    "Zeynep",
    "Mehmet",
    "Juan",
    "Aino",
    "Mikko",
    "Joakim",
    "Samir",
]
LAST_NAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Jakobsson",
    "Magnusson",
    "Lindström",
    "Olofsson",
    "Lindqvist",
    "Lindgren",
    "Berg",
    "Axelsson",
    "Bergström",
    "Lundberg",
    "Lind",
    "Lundgren",
    "Mattsson",
    "Berglund",
    "Fredriksson",
    "Sandberg",
    "Henriksson",
    "Ali",
    "Hassan",
    "Yilmaz",
    "Korhonen",
    "Öberg",
    "Åberg",
]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    staff: tuple[tuple[str, int], ...]  # (profession, count)
    manager_title: str


UNITS = (
    Unit(
        "akuten",
        "Akutmottagningen Exempelstad",
        (("sjuksköterska", 8), ("undersköterska", 5), ("läkare", 5)),
        "Vårdenhetschef",
    ),
    Unit(
        "med12", "Medicinavdelning 12", (("sjuksköterska", 6), ("undersköterska", 7), ("läkare", 2)), "Vårdenhetschef"
    ),
    Unit(
        "ambulans-norr",
        "Ambulansstation Norr",
        (("ambulanssjuksköterska", 7), ("specialistsjuksköterska", 2)),
        "Stationschef",
    ),
    Unit(
        "vc-bjorkhagen",
        "Vårdcentralen Björkhagen",
        (("distriktssköterska", 4), ("läkare", 3), ("undersköterska", 2), ("fysioterapeut", 2)),
        "Verksamhetschef",
    ),
)

TOKEN_FILE = "demo-tokens.txt"  # noqa: S105 - a file name


def _email(first: str, last: str, taken: set[str]) -> str:
    table = str.maketrans("åäöéü", "aaoeu")
    base = f"{first}.{last}".lower().translate(table)
    email, n = f"{base}@exempel.se", 2
    while email in taken:
        email, n = f"{base}{n}@exempel.se", n + 1
    taken.add(email)
    return email


def is_loaded(session: Session) -> bool:
    return directory.count_people(session=session) > 0


def load(*, session: Session, now: datetime) -> dict[str, Person]:
    """Create the region. Returns one person per demo role (for tokens). The caller commits."""
    rng = random.Random(20261123)  # noqa: S311 - demo names, not secrets
    taken: set[str] = set()
    used_names: set[tuple[str, str]] = set()

    def person(profession: str | None, roles: list[Role], group_ids: list[uuid.UUID]) -> Person:
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (first, last) not in used_names:
                used_names.add((first, last))
                break
        data = PersonCreate(
            name=f"{first} {last}",
            email=_email(first, last, taken),
            profession=profession,
            roles=roles,
            groups=group_ids,
        )
        created = directory.create_person(session=session, data=data, now=now)
        _device(created)
        return created

    kinds = [("android", "Arbetstelefon"), ("ios", "Arbetstelefon"), ("ios", "Surfplatta"), ("android", "Surfplatta")]

    def _device(owner: Person) -> None:
        """Every demo person has one work device: half phones, half tablets, both platforms."""
        platform, label = kinds[len(used_names) % len(kinds)]
        token = f"{rng.getrandbits(256):064x}" if platform == "ios" else f"demo-fcm-{rng.getrandbits(128):032x}"
        devices.register(
            session=session,
            person_id=owner.id,
            now=now,
            data=DeviceCreate(
                platform=platform,
                provider="apns" if platform == "ios" else "fcm",
                token=token,
                name=label,
                ownership="work",
            ),
        )

    region = directory.create_group(
        session=session, now=now, data=GroupCreate(name="Region Exempel", code="region-exempel", kind="region")
    )
    admin_group = directory.create_group(
        session=session,
        now=now,
        data=GroupCreate(
            name="Hälso- och sjukvårdsförvaltningen", code="hsf", kind="administration", parent_id=region.id
        ),
    )
    people: dict[str, Person] = {}
    for unit in UNITS:
        group = directory.create_group(
            session=session,
            now=now,
            data=GroupCreate(name=unit.name, code=unit.code, kind="unit", parent_id=admin_group.id),
        )
        team_ids = []
        for label in ("Dag", "Kväll/natt"):
            team = directory.create_group(
                session=session,
                now=now,
                data=GroupCreate(
                    name=f"{unit.name} – {label}",
                    code=f"{unit.code}-{'dag' if label == 'Dag' else 'natt'}",
                    kind="team",
                    parent_id=group.id,
                ),
            )
            team_ids.append(team.id)
        manager = person(
            "vårdenhetschef" if unit.manager_title == "Vårdenhetschef" else "chef", ["staff", "manager"], [group.id]
        )
        directory.add_managers(session=session, group_id=group.id, person_ids=[manager.id])
        _day_worker(session, manager, now)
        people.setdefault("manager", manager)
        i = 0
        doctors: list[uuid.UUID] = []
        for profession, count in unit.staff:
            for _ in range(count):
                member = person(profession, ["staff"], [group.id, team_ids[i % 2]])
                people.setdefault("staff", member)
                if unit.code == "vc-bjorkhagen":
                    _day_worker(session, member, now)
                else:
                    _shifts(session, member, now, night=i % 2 == 1, offset=i)
                if i % 5 == 4:
                    _quiet_hours(session, member, now)
                if profession == "läkare":
                    doctors.append(member.id)
                i += 1
        if unit.code == "ambulans-norr":
            standby = person("ambulanssjuksköterska", ["staff"], [group.id])
            _standby(session, standby, group.id, now)
        if len(doctors) >= 2:
            # The unit's doctors take weekly turns on stand-by, handing off Mondays at 08:00.
            monday = local_date("Europe/Stockholm", now) - timedelta(days=local_date("Europe/Stockholm", now).weekday())
            rosters.create_roster(
                session=session,
                now=now,
                data=RosterCreate(
                    group_id=group.id,
                    name=f"Bakjour {unit.name}",
                    role=f"Bakjour {unit.code}",
                    kind="beredskap",
                    layers=[
                        RosterLayerIn(
                            rotation="weekly", start_date=monday, handoff_time=time(8, 0), participants=doctors
                        )
                    ],
                ),
            )
    people["hr"] = person("HR-specialist", ["staff", "hr"], [admin_group.id])
    people["admin"] = person("IT-samordnare", ["staff", "admin"], [region.id])
    # The administration's chief safety representative (huvudskyddsombud) follows rest-time compliance.
    people["union"] = person("undersköterska", ["staff", "union"], [admin_group.id])
    for who in (people["hr"], people["admin"], people["union"]):
        _day_worker(session, who, now)
    _policy(session, region.id, people["hr"].id, now)
    people["evaluator"] = demo_pilot.load(session=session, now=now, keep_out={p.id for p in people.values()})
    people["it"] = demo_fleet.load(session=session, now=now)
    session.flush()
    return people


ZONE = "Europe/Stockholm"


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return local_instant(ZONE, day, time(hour, minute))


def _day_worker(session: Session, who: Person, now: datetime) -> None:
    """Monday to Friday 08:00-17:00, as at a primary-care centre or an office."""
    window = WeeklyWindow(days=[1, 2, 3, 4, 5], start=time(8, 0), end=time(17, 0))
    availability.replace_working_hours(session=session, person_id=who.id, windows=[window], timezone=ZONE, now=now)


def _shifts(session: Session, who: Person, now: datetime, *, night: bool, offset: int) -> None:
    """Two weeks of a rotating schedule, starting yesterday: day shifts, or evenings and nights."""
    today = now.astimezone(pytz.timezone(ZONE)).date()
    for n in range(-1, 14):
        day = today + timedelta(days=n)
        if (n + offset) % 7 in (5, 6):  # two days off a week, staggered across the team
            continue
        if night:
            start, end = (
                (_local(day, 21, 30), _local(day + timedelta(days=1), 7, 30))
                if n % 2
                else (_local(day, 14, 30), _local(day, 22, 0))
            )
        else:
            start, end = _local(day, 6, 45), _local(day, 16, 0)
        availability.create_shift(
            session=session, person_id=who.id, now=now, data=ShiftCreate(planned_start=start, planned_end=end)
        )


def _quiet_hours(session: Session, who: Person, now: datetime) -> None:
    window = WeeklyWindow(days=[1, 2, 3, 4, 5, 6, 7], start=time(21, 0), end=time(7, 0))
    availability.replace_quiet_hours(session=session, person_id=who.id, windows=[window], timezone=ZONE, now=now)


def _standby(session: Session, who: Person, group_id: uuid.UUID, now: datetime) -> None:
    """A week of stand-by (beredskap) for the ambulance station's role."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    availability.create_on_call_slot(
        session=session,
        now=now,
        data=OnCallSlotCreate(
            person_id=who.id,
            role="Beredskap ambulans",
            kind="beredskap",
            start=start,
            end=start + timedelta(days=7),
            group_id=group_id,
        ),
    )


def _policy(session: Session, group_id: uuid.UUID, author: uuid.UUID, now: datetime) -> None:
    """The region's rest-time policy: the law and AB's defaults; managers may override urgently, with a reason."""
    policy, _ = rest_policies.create_policy(
        session=session,
        author_id=author,
        now=now,
        data=PolicyCreate(
            name="Allmänna bestämmelser (AB)",
            description="Dygnsvila 11 h, veckovila 36 h.",
            effective_from=now - timedelta(days=365),  # in force before the pilot began
            approval_note="Fastställd av HR i samverkan.",
            urgent_override_allowed=True,
            override_roles=["manager"],
            override_weekly_cap=2,
        ),
    )
    rest_policies.assign_policy(session=session, policy=policy, group_id=group_id, by=author, now=now)


def issue_demo_tokens(*, session: Session, people: dict[str, Person], now: datetime, data_dir: Path) -> Path:
    """One token per demo role, written to a file only the owner can read."""
    lines = ["# Vila demo tokens: role, person, token", ""]
    for role, who in people.items():
        _, secret = issue_token(session=session, person=who, now=now, name=f"demo-{role}", roles=[role])
        lines.append(f"{role:8} {who.email:40} {secret}")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
