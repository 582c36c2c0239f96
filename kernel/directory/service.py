"""People and groups: typed, keyword-only services. They add and flush; the caller commits."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from kernel.auth.models import ApiToken
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from kernel.directory.schemas import GroupCreate, GroupUpdate, PersonCreate, PersonUpdate
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.events import PersonDeactivated, emit
from kernel.settings import Settings


def get_person(*, session: Session, person_id: uuid.UUID) -> Person | None:
    return session.get(Person, person_id)


def require_person(*, session: Session, person_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    return person


def names_of(*, session: Session, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(person_ids)
    if not wanted:
        return {}
    return {pid: name for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))}


def person_by_email(*, session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == email.strip().lower()))


def _check_email_free(session: Session, email: str, *, except_id: uuid.UUID | None = None) -> None:
    other = person_by_email(session=session, email=email)
    if other is not None and other.id != except_id:
        raise Conflict(f"a person with e-mail {email} already exists")


def _require_groups(session: Session, group_ids: Iterable[uuid.UUID]) -> list[Group]:
    wanted = set(group_ids)
    if not wanted:
        return []
    found = session.scalars(select(Group).where(Group.id.in_(wanted))).all()
    missing = wanted - {g.id for g in found}
    if missing:
        raise InvalidInput(f"unknown group(s): {', '.join(sorted(str(m) for m in missing))}")
    return list(found)


@dataclass(frozen=True)
class PersonDefaults:
    """What a person created without a time zone or language gets: VILA_DEFAULT_TIMEZONE and
    VILA_DEFAULT_LANGUAGE (`PersonDefaults.of(settings)`)."""

    timezone: str = "Europe/Stockholm"
    language: str = "sv"

    @classmethod
    def of(cls, settings: Settings) -> PersonDefaults:
        return cls(timezone=settings.default_timezone, language=settings.default_language)


BUILT_IN = PersonDefaults()


def create_person(
    *, session: Session, data: PersonCreate, now: datetime, defaults: PersonDefaults = BUILT_IN
) -> Person:
    email = data.email.strip().lower()
    _check_email_free(session, email)
    groups = _require_groups(session, data.groups)
    person = Person(
        name=data.name,
        email=email,
        timezone=data.timezone or defaults.timezone,
        profession=data.profession,
        language=data.language or defaults.language,
        roles=sorted(set(data.roles)),
        external_id=data.external_id,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    session.flush()
    for group in groups:
        session.add(GroupMember(group_id=group.id, person_id=person.id))
    session.flush()
    return person


def update_person(*, session: Session, person: Person, data: PersonUpdate, now: datetime) -> Person:
    changes = data.model_dump(exclude_unset=True)
    if "email" in changes and changes["email"] is not None:
        changes["email"] = changes["email"].strip().lower()
        _check_email_free(session, changes["email"], except_id=person.id)
    for key, value in changes.items():
        if value is None and key in ("name", "email", "timezone", "language", "roles"):
            raise InvalidInput(f"{key} cannot be empty")
        if key == "roles":
            value = sorted(set(value))
        setattr(person, key, value)
    person.updated_at = now
    session.flush()
    return person


def set_profession(
    *, session: Session, person_ids: Iterable[uuid.UUID], profession: str | None, now: datetime
) -> list[tuple[uuid.UUID, str | None]]:
    """Give many people one profession (None clears it), all or nothing: an unknown id refuses the
    whole request. Returns (person, profession before) for those whose profession changed."""
    ids = _require_people(session, person_ids)
    changed: list[tuple[uuid.UUID, str | None]] = []
    for person in session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)):
        if person.profession != profession:
            changed.append((person.id, person.profession))
            person.profession = profession
            person.updated_at = now
    session.flush()
    return changed


def professions(*, session: Session) -> list[tuple[str, int]]:
    """Every profession in use among active people, with how many have it."""
    rows = session.execute(
        select(Person.profession, func.count())
        .where(Person.active.is_(True), Person.profession.is_not(None))
        .group_by(Person.profession)
        .order_by(Person.profession)
    ).all()
    return [(str(p), int(n)) for p, n in rows]


def deactivate_person(*, session: Session, person: Person, now: datetime) -> Person:
    """Deactivate the person; their credentials are revoked by the follow-up (safe to repeat)."""
    if person.active:
        person.active = False
        person.deactivated_at = now
        person.updated_at = now
        session.flush()
    emit(session, PersonDeactivated(person.id), at=now)
    return person


def offboard(*, session: Session, person_id: uuid.UUID, now: datetime) -> int:
    """Revoke every live token of a deactivated person. Safe to run twice."""
    person = session.get(Person, person_id)
    if person is None or person.active:
        return 0
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_people(
    *,
    session: Session,
    limit: int,
    offset: int,
    q: str | None = None,
    group_ids: Sequence[uuid.UUID] | None = None,
    profession: str | None = None,
    role: str | None = None,
    active: bool | None = True,
    within: set[uuid.UUID] | None = None,
) -> tuple[list[Person], int]:
    """People matching the filters. `group_ids` includes subgroups; `within` limits to members of those groups."""
    stmt = select(Person)
    if q:
        # NFC: a name typed on a keyboard that decomposes Å (A + ring) still matches; lower() is
        # Unicode-aware on both databases (kernel.db gives SQLite one).
        like = f"%{unicodedata.normalize('NFC', q).lower()}%"
        stmt = stmt.where(or_(func.lower(Person.name).like(like), Person.email.like(like)))
    if profession:
        stmt = stmt.where(Person.profession == profession)
    if active is not None:
        stmt = stmt.where(Person.active.is_(active))
    if group_ids:
        scope = descendant_ids(session=session, group_ids=group_ids)
        stmt = stmt.where(Person.id.in_(select(GroupMember.person_id).where(GroupMember.group_id.in_(scope))))
    if within is not None:
        stmt = stmt.where(Person.id.in_(select(GroupMember.person_id).where(GroupMember.group_id.in_(within))))
    people = list(session.scalars(stmt.order_by(Person.name, Person.id)).all())
    if role:
        people = [p for p in people if role in p.roles]
    return people[offset : offset + limit], len(people)


# Groups ----------------------------------------------------------------------------------------


def get_group(*, session: Session, group_id: uuid.UUID) -> Group | None:
    return session.get(Group, group_id)


def require_group(*, session: Session, group_id: uuid.UUID) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"no group with id {group_id}")
    return group


def create_group(*, session: Session, data: GroupCreate, now: datetime) -> Group:
    if session.scalar(select(Group.id).where(Group.code == data.code)) is not None:
        raise Conflict(f"a group with code {data.code!r} already exists")
    if data.parent_id is not None and session.get(Group, data.parent_id) is None:
        raise InvalidInput(f"unknown parent group {data.parent_id}")
    group = Group(
        name=data.name,
        code=data.code,
        kind=data.kind,
        parent_id=data.parent_id,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    return group


def update_group(*, session: Session, group: Group, data: GroupUpdate, now: datetime) -> Group:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("parent_id") is not None:
        parent_id = changes["parent_id"]
        if session.get(Group, parent_id) is None:
            raise InvalidInput(f"unknown parent group {parent_id}")
        if parent_id in descendant_ids(session=session, group_ids=[group.id]):
            raise InvalidInput("a group cannot be moved below itself or one of its subgroups")
    for key, value in changes.items():
        if value is None and key != "parent_id":
            raise InvalidInput(f"{key} cannot be empty")
        setattr(group, key, value)
    group.updated_at = now
    session.flush()
    return group


def list_groups(
    *,
    session: Session,
    limit: int,
    offset: int,
    parent_id: uuid.UUID | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> tuple[list[Group], int]:
    stmt = select(Group).where(Group.active.is_(True))
    if parent_id is not None:
        stmt = stmt.where(Group.parent_id == parent_id)
    if kind:
        stmt = stmt.where(Group.kind == kind)
    if q:
        stmt = stmt.where(func.lower(Group.name).like(f"%{q.lower()}%"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    groups = session.scalars(stmt.order_by(Group.name).limit(limit).offset(offset)).all()
    return list(groups), int(total)


def descendant_ids(*, session: Session, group_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The groups given and every group below them (a recursive query, any depth)."""
    roots = list(set(group_ids))
    if not roots:
        return set()
    tree = select(Group.id.label("id")).where(Group.id.in_(roots)).cte("tree", recursive=True)
    tree = tree.union(select(Group.id).where(Group.parent_id == tree.c.id))
    return set(session.scalars(select(tree.c.id)).all())


def ancestor_ids(*, session: Session, group_id: uuid.UUID) -> list[uuid.UUID]:
    """The group and its ancestors, nearest first."""
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = group_id
    while current is not None and current not in chain:
        chain.append(current)
        current = session.scalar(select(Group.parent_id).where(Group.id == current))
    return chain


def members(*, session: Session, group_id: uuid.UUID) -> list[Person]:
    stmt = select(Person).join(GroupMember, GroupMember.person_id == Person.id).where(GroupMember.group_id == group_id)
    return list(session.scalars(stmt.order_by(Person.name)).all())


def managers(*, session: Session, group_id: uuid.UUID) -> list[Person]:
    stmt = (
        select(Person).join(GroupManager, GroupManager.person_id == Person.id).where(GroupManager.group_id == group_id)
    )
    return list(session.scalars(stmt.order_by(Person.name)).all())


def subgroups(*, session: Session, group_id: uuid.UUID) -> list[Group]:
    return list(session.scalars(select(Group).where(Group.parent_id == group_id).order_by(Group.name)).all())


def group_ids_of(*, session: Session, person_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(GroupMember.group_id).where(GroupMember.person_id == person_id)).all())


def managed_group_ids(*, session: Session, person_id: uuid.UUID) -> set[uuid.UUID]:
    """Groups the person manages, with all their subgroups."""
    direct = session.scalars(select(GroupManager.group_id).where(GroupManager.person_id == person_id)).all()
    return descendant_ids(session=session, group_ids=direct)


def _require_people(session: Session, person_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    wanted = set(person_ids)
    found = set(session.scalars(select(Person.id).where(Person.id.in_(wanted))).all())
    missing = wanted - found
    if missing:
        raise InvalidInput(f"unknown person(s): {', '.join(sorted(str(m) for m in missing))}")
    return sorted(wanted)


def add_members(*, session: Session, group_id: uuid.UUID, person_ids: Iterable[uuid.UUID]) -> int:
    ids = _require_people(session, person_ids)
    existing = set(session.scalars(select(GroupMember.person_id).where(GroupMember.group_id == group_id)).all())
    new = [pid for pid in ids if pid not in existing]
    session.add_all(GroupMember(group_id=group_id, person_id=pid) for pid in new)
    session.flush()
    return len(new)


def remove_members(*, session: Session, group_id: uuid.UUID, person_ids: Iterable[uuid.UUID]) -> int:
    result = session.execute(
        delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.person_id.in_(list(person_ids)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def add_managers(*, session: Session, group_id: uuid.UUID, person_ids: Iterable[uuid.UUID]) -> int:
    ids = _require_people(session, person_ids)
    existing = set(session.scalars(select(GroupManager.person_id).where(GroupManager.group_id == group_id)).all())
    new = [pid for pid in ids if pid not in existing]
    session.add_all(GroupManager(group_id=group_id, person_id=pid) for pid in new)
    for person in session.scalars(select(Person).where(Person.id.in_(new))):
        if "manager" not in person.roles:
            person.roles = sorted({*person.roles, "manager"})
    session.flush()
    return len(new)


def remove_managers(*, session: Session, group_id: uuid.UUID, person_ids: Iterable[uuid.UUID]) -> int:
    result = session.execute(
        delete(GroupManager).where(GroupManager.group_id == group_id, GroupManager.person_id.in_(list(person_ids)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_people(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Person)) or 0)
