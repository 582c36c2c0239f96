"""Factories that build people, groups and tokens straight through the services."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kernel.audit import service as audit
from kernel.audit.models import AuditRecord
from kernel.auth.service import issue_token
from kernel.clock import Clock
from kernel.db import unit_of_work
from kernel.directory import service as directory
from kernel.directory.models import Group, Person
from kernel.directory.schemas import GroupCreate, PersonCreate

_seq = itertools.count(1)


@dataclass
class Actor:
    person: Person
    token: str

    @property
    def id(self) -> uuid.UUID:
        return self.person.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def audit_entry(session: Session, now: datetime, label: str = "test", **after: object) -> AuditRecord:
    """One audit record written as the product writes them (chained), in the session's transaction."""
    return audit.record(
        session=session,
        now=now,
        actor_id=None,
        actor_label=label,
        action="test.write",
        target_type="thing",
        target_id=None,
        meta=audit.SYSTEM,
        after=dict(after) or None,
    )


class Factory:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def group(self, name: str | None = None, *, parent: Group | None = None, kind: str = "unit") -> Group:
        n = next(_seq)
        with unit_of_work(self.session_factory) as session:
            return directory.create_group(
                session=session,
                now=self.clock.now(),
                data=GroupCreate(
                    name=name or f"Enhet {n}",
                    code=f"g{n}-{uuid.uuid4().hex[:6]}",
                    kind=kind,  # type: ignore[arg-type]
                    parent_id=parent.id if parent else None,
                ),
            )

    def person(
        self,
        *,
        roles: Iterable[str] = ("staff",),
        groups: Iterable[Group] = (),
        manages: Iterable[Group] = (),
        name: str | None = None,
        timezone: str = "Europe/Stockholm",
        profession: str | None = "sjuksköterska",
        external_id: str | None = None,
    ) -> Person:
        n = next(_seq)
        with unit_of_work(self.session_factory) as session:
            person = directory.create_person(
                session=session,
                now=self.clock.now(),
                data=PersonCreate(
                    name=name or f"Person {n}",
                    email=f"person{n}.{uuid.uuid4().hex[:6]}@exempel.se",
                    timezone=timezone,
                    profession=profession,
                    roles=list(roles),  # type: ignore[arg-type]
                    groups=[g.id for g in groups],
                    external_id=external_id,
                ),
            )
            for g in manages:
                directory.add_managers(session=session, group_id=g.id, person_ids=[person.id])
            session.flush()
            session.refresh(person)
            return person

    def token(self, person: Person, *, roles: Iterable[str] | None = None) -> str:
        with unit_of_work(self.session_factory) as session:
            fresh = session.get(Person, person.id)
            assert fresh is not None
            _, secret = issue_token(session=session, person=fresh, now=self.clock.now(), roles=roles)
            return secret

    def actor(self, **kwargs: object) -> Actor:
        person = self.person(**kwargs)  # type: ignore[arg-type]
        return Actor(person=person, token=self.token(person))
