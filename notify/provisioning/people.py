"""Provisioned people: create, change only the provisioned fields, deactivate (with offboarding) and reactivate."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.directory import service as directory
from kernel.directory.fields import PROVISIONABLE
from kernel.directory.models import Person
from kernel.directory.service import BUILT_IN, PersonDefaults
from kernel.errors import Conflict, InvalidInput
from kernel.timezones import validate_timezone
from kernel.vocabulary import LANGUAGES
from notify.fleet import offboarding
from notify.fleet.lifecycle import By

_LIMITS = {
    "name": 200,
    "email": 254,
    "external_id": 200,
    "profession": 64,
    "employment_type": 64,
    "employee_number": 64,
    "department": 200,
}


def log(session: Session, *, by: By, now: datetime, action: str, person: Person, before: dict[str, Any] | None) -> None:
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action=action,
        target_type="person",
        target_id=person.id,
        meta=by.meta,
        before=before,
        after=person.snapshot(),
    )


def deactivate(*, session: Session, person: Person, by: By, now: datetime) -> bool:
    """A person's deactivation, from any way in: they can no longer sign in, their push devices are
    blocked at once, their tokens are revoked by a job, and their device checklist starts. Nothing
    the audit or the rest ledger needs is deleted. False when they were inactive already."""
    if not person.active:
        return False
    directory.deactivate_person(session=session, person=person, now=now)
    offboarding.person_deactivated(session=session, person_id=person.id, by=by, now=now)
    return True


def reactivate(*, session: Session, person: Person, now: datetime) -> bool:
    """A person back (a returning employee): active again; devices and tokens stay ended, they register anew."""
    if person.active:
        return False
    person.active = True
    person.deactivated_at = None
    person.updated_at = now
    session.flush()
    return True


# Taken when a person is created, never provisioned afterwards: the person's own from then on. Absent
# (None), the installation's VILA_DEFAULT_TIMEZONE and VILA_DEFAULT_LANGUAGE apply.
FIRST_ONLY = ("timezone", "language")


def clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check provisioned values (keys from PROVISIONABLE, and FIRST_ONLY); InvalidInput says which is wrong."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in PROVISIONABLE and key not in FIRST_ONLY:
            raise InvalidInput(f"{key} is not a provisionable field")
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and len(value) > _LIMITS.get(key, 200):
                raise InvalidInput(f"{key} is longer than {_LIMITS.get(key, 200)} characters")
        if key in ("name", "email") and not value:
            raise InvalidInput(f"{key} cannot be empty")
        if key == "email":
            value = str(value).lower()
            if "@" not in value:
                raise InvalidInput(f"{value!r} is not an e-mail address")
        if key == "profession" and value is not None:
            value = str(value).lower()
        if key == "timezone" and value is not None:
            try:
                value = validate_timezone(value)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        if key == "language" and value is not None and value not in LANGUAGES:
            raise InvalidInput(f"language {value!r} is not one of {', '.join(LANGUAGES)}")
        out[key] = value
    return out


def first_settings(data: Mapping[str, Any], defaults: PersonDefaults) -> dict[str, Any]:
    """A new person's time zone and language: as given, else the installation's defaults."""
    return {
        "timezone": data.get("timezone") or defaults.timezone,
        "language": data.get("language") or defaults.language,
    }


def _check_unique(session: Session, values: Mapping[str, Any], *, except_id: uuid.UUID | None) -> None:
    """E-mail and external id free (one query for both), and the manager a stored person."""
    email, external = values.get("email"), values.get("external_id")
    clauses = []
    if email:
        clauses.append(Person.email == email)
    if external:
        clauses.append(Person.external_id == external)
    if clauses:
        for other_id, other_email, other_external in session.execute(
            select(Person.id, Person.email, Person.external_id).where(or_(*clauses))
        ):
            if other_id == except_id:
                continue
            key, value = ("email", email) if email and other_email == email else ("external_id", other_external)
            raise Conflict(f"a person with {key} {value} already exists")
    manager = values.get("manager_id")
    if manager is not None:
        if manager == except_id:
            raise InvalidInput("a person cannot be their own manager")
        if session.get(Person, manager) is None:
            raise InvalidInput(f"unknown manager {manager}")


def create(
    *,
    session: Session,
    values: Mapping[str, Any],
    provisioned: frozenset[str],
    by: By,
    now: datetime,
    action: str,
    defaults: PersonDefaults = BUILT_IN,
) -> Person:
    """A new person from provisioned values. Fields outside `provisioned` are not taken, except the
    name and e-mail a person cannot be without (they are then Vila's own from here on). Without a
    time zone or language, the person gets `defaults` (VILA_DEFAULT_TIMEZONE, VILA_DEFAULT_LANGUAGE)."""
    data = clean(values)
    _check_unique(session, data, except_id=None)
    active = data.pop("active", True) is not False or "active" not in provisioned
    person = Person(
        name=data["name"],
        email=data["email"],
        roles=["staff"],
        active=True,
        created_at=now,
        updated_at=now,
        **first_settings(data, defaults),
        **{k: v for k, v in data.items() if k in provisioned and k not in ("name", "email")},
    )
    person.provisioned = sorted(k for k in {*data, "active"} if k in provisioned)
    session.add(person)
    session.flush()
    log(session, by=by, now=now, action=f"{action}.create", person=person, before=None)
    if not active:
        deactivate(session=session, person=person, by=by, now=now)
    return person


def apply(
    *,
    session: Session,
    person: Person,
    values: Mapping[str, Any],
    provisioned: frozenset[str],
    by: By,
    now: datetime,
    action: str,
) -> list[str]:
    """Bring a person's provisioned fields to these values; fields outside `provisioned` are left as
    Vila has them. Returns the names of the fields that changed (and audits the change)."""
    given = {k: v for k, v in values.items() if k not in FIRST_ONLY}
    data = {k: v for k, v in clean(given).items() if k in provisioned}
    _check_unique(session, data, except_id=person.id)
    before = person.snapshot()
    changed = [k for k, v in data.items() if k != "active" and getattr(person, k) != v]
    for key in changed:
        setattr(person, key, data[key])
    marked = sorted(set(person.provisioned or ()) | set(data))
    if marked != (person.provisioned or []):
        person.provisioned = marked
    if "active" in data:
        wanted = data["active"] is not False
        if wanted and reactivate(session=session, person=person, now=now):
            changed.append("active")
        elif not wanted and deactivate(session=session, person=person, by=by, now=now):
            changed.append("active")
    if changed:
        person.updated_at = now
        session.flush()
        log(session, by=by, now=now, action=f"{action}.update", person=person, before=before)
    return changed


def by_ids(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
    wanted = list(set(ids))
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(wanted)))} if wanted else {}
