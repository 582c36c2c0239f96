"""What the engine would decide for one person (a message's outcome, their availability), and the
facts about people that the routes ask alongside it (group members, roles, the local date).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory.models import GroupMember, Person
from kernel.errors import NotFound
from policies.core.engine import AvailabilityInterval, availability, decide
from policies.core.types import Decision, MessageFacts, PolicyParams, RecipientState
from policies.core.wallclock import local_date
from policies.rest_policies import policies_for
from policies.states import load_states


def explain(
    *, session: Session, person_id: uuid.UUID, message: MessageFacts, at: datetime
) -> tuple[Decision, PolicyParams]:
    """What would happen to `message` for the person at `at`, and under which policy."""
    states = load_states(session=session, person_ids=[person_id], at=at)
    if person_id not in states:
        raise NotFound("no such person")
    policy = policies_for(session=session, person_ids=[person_id], at=at)[person_id]
    return decide(states[person_id], message, policy, at), policy


def availability_of(
    *, session: Session, person_id: uuid.UUID, at: datetime, days: int = 7
) -> tuple[RecipientState, PolicyParams, tuple[AvailabilityInterval, ...]]:
    horizon = timedelta(days=days)
    states = load_states(session=session, person_ids=[person_id], at=at, horizon=horizon + timedelta(days=7))
    if person_id not in states:
        raise NotFound("no such person")
    policy = policies_for(session=session, person_ids=[person_id], at=at)[person_id]
    state = states[person_id]
    return state, policy, availability(state, policy, at, at + horizon)


def member_ids(*, session: Session, group_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    stmt = select(GroupMember.person_id).where(GroupMember.group_id.in_(list(group_ids)))
    return set(session.scalars(stmt).all())


def today(zone: str, at: datetime) -> date:
    return local_date(zone, at)


def roles_of(*, session: Session, person_id: uuid.UUID) -> list[str]:
    roles = session.scalar(select(Person.roles).where(Person.id == person_id))
    if roles is None:
        raise NotFound("no such sender")
    return list(roles)
