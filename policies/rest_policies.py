"""Rest policies: their versions, their assignment to groups, and the version in force for each person.

Typed, keyword-only functions over a session: they add and flush, and the caller owns the
transaction and commits. `policies_for` runs a fixed number of set-based queries, never one per person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from kernel.directory.models import Group, GroupMember
from kernel.errors import InvalidInput, NotFound
from policies.core.types import DEFAULT_POLICY, PolicyParams, WorkSource
from policies.models import PolicyAssignment, RestPolicy, RestPolicyVersion
from policies.schemas.rest_policies import PolicyCreate, PolicyVersionCreate
from policies.states import listed_ids


def _version_from(
    data: PolicyVersionCreate, *, policy_id: uuid.UUID, version: int, author_id: uuid.UUID | None, now: datetime
) -> RestPolicyVersion:
    return RestPolicyVersion(
        policy_id=policy_id,
        version=version,
        effective_from=data.effective_from,
        daily_rest_hours=data.daily_rest_hours,
        weekly_rest_hours=data.weekly_rest_hours,
        working_time=list(data.working_time),
        hold_target=data.hold_target,
        morning_time=data.morning_time,
        urgent_override_allowed=data.urgent_override_allowed,
        override_roles=sorted(set(data.override_roles)),
        override_reason_required=data.override_reason_required,
        override_weekly_cap=data.override_weekly_cap,
        compensatory_days=data.compensatory_days,
        content_free_push=data.content_free_push,
        private_devices_allowed=data.private_devices_allowed,
        approval_note=data.approval_note,
        author_id=author_id,
        created_at=now,
    )


def create_policy(
    *, session: Session, data: PolicyCreate, author_id: uuid.UUID | None, now: datetime
) -> tuple[RestPolicy, RestPolicyVersion]:
    if session.scalar(select(RestPolicy.id).where(RestPolicy.name == data.name)) is not None:
        raise InvalidInput(f"a policy named {data.name!r} already exists")
    policy = RestPolicy(name=data.name, description=data.description, created_at=now)
    session.add(policy)
    session.flush()
    version = _version_from(data, policy_id=policy.id, version=1, author_id=author_id, now=now)
    session.add(version)
    session.flush()
    return policy, version


def require_policy(*, session: Session, policy_id: uuid.UUID) -> RestPolicy:
    policy = session.get(RestPolicy, policy_id)
    if policy is None:
        raise NotFound("no such policy")
    return policy


def add_version(
    *, session: Session, policy: RestPolicy, data: PolicyVersionCreate, author_id: uuid.UUID | None, now: datetime
) -> RestPolicyVersion:
    latest = session.scalar(select(func.max(RestPolicyVersion.version)).where(RestPolicyVersion.policy_id == policy.id))
    version = _version_from(data, policy_id=policy.id, version=(latest or 0) + 1, author_id=author_id, now=now)
    session.add(version)
    session.flush()
    return version


def versions_of(*, session: Session, policy_id: uuid.UUID) -> list[RestPolicyVersion]:
    stmt = select(RestPolicyVersion).where(RestPolicyVersion.policy_id == policy_id).order_by(RestPolicyVersion.version)
    return list(session.scalars(stmt).all())


def groups_of_policy(*, session: Session, policy_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(PolicyAssignment.group_id).where(PolicyAssignment.policy_id == policy_id)
    return sorted(session.scalars(stmt).all(), key=str)


def list_policies(*, session: Session) -> list[RestPolicy]:
    return list(session.scalars(select(RestPolicy).order_by(RestPolicy.name)).all())


def assign_policy(
    *, session: Session, policy: RestPolicy, group_id: uuid.UUID, by: uuid.UUID | None, now: datetime
) -> tuple[PolicyAssignment, uuid.UUID | None]:
    """Assign the policy to the group (replacing the group's previous one, returned)."""
    if session.get(Group, group_id) is None:
        raise NotFound("no such group")
    current = session.get(PolicyAssignment, group_id)
    previous = current.policy_id if current else None
    if current is None:
        current = PolicyAssignment(group_id=group_id, policy_id=policy.id, assigned_by=by, assigned_at=now)
        session.add(current)
    else:
        current.policy_id, current.assigned_by, current.assigned_at = policy.id, by, now
    session.flush()
    return current, previous


def unassign_policy(*, session: Session, group_id: uuid.UUID) -> uuid.UUID | None:
    current = session.get(PolicyAssignment, group_id)
    if current is None:
        return None
    previous = current.policy_id
    session.delete(current)
    session.flush()
    return previous


def params_of(version: RestPolicyVersion, name: str) -> PolicyParams:
    sources: frozenset[WorkSource] = frozenset(
        s for s in ("shift", "weekly_hours", "jour", "beredskap") if s in version.working_time
    )
    return PolicyParams(
        daily_rest_hours=version.daily_rest_hours,
        weekly_rest_hours=version.weekly_rest_hours,
        working_time=sources,
        hold_target="morning" if version.hold_target == "morning" else "next_shift",
        morning_time=version.morning_time,
        urgent_override_allowed=version.urgent_override_allowed,
        override_roles=frozenset(version.override_roles),
        override_reason_required=version.override_reason_required,
        override_weekly_cap=version.override_weekly_cap,
        compensatory_days=version.compensatory_days,
        content_free_push=version.content_free_push,
        private_devices_allowed=version.private_devices_allowed,
        policy_id=version.policy_id,
        version_id=version.id,
        version=version.version,
        name=name,
    )


def policies_for(*, session: Session, person_ids: Iterable[uuid.UUID], at: datetime) -> dict[uuid.UUID, PolicyParams]:
    """The policy version in force at `at` for each person (the default where none applies).

    A person inherits from the nearest group with an assigned policy, walking up from every group
    they belong to; at equal distance the deeper (more specific) group wins, then the group code.
    People who share a version share one `PolicyParams` object.
    """
    ids = list(dict.fromkeys(person_ids))
    # Three queries: groups with their assignments, versions in force, members.
    groups: dict[uuid.UUID, tuple[uuid.UUID | None, str]] = {}
    assignments: dict[uuid.UUID, uuid.UUID] = {}
    for gid, parent, code, assigned in session.execute(
        select(Group.id, Group.parent_id, Group.code, PolicyAssignment.policy_id).outerjoin(
            PolicyAssignment, PolicyAssignment.group_id == Group.id
        )
    ):
        groups[gid] = (parent, code)
        if assigned is not None:
            assignments[gid] = assigned
    if not assignments or not ids:
        return dict.fromkeys(ids, DEFAULT_POLICY)
    in_force: dict[uuid.UUID, tuple[RestPolicyVersion, str]] = {}
    for version, name in session.execute(
        select(RestPolicyVersion, RestPolicy.name)
        .join(RestPolicy, RestPolicy.id == RestPolicyVersion.policy_id)
        .where(RestPolicyVersion.effective_from <= at)
        .order_by(RestPolicyVersion.policy_id, RestPolicyVersion.version)
    ):
        latest = in_force.get(version.policy_id)
        if latest is None or (version.effective_from, version.version) > (latest[0].effective_from, latest[0].version):
            in_force[version.policy_id] = (version, name)
    params = {pid: params_of(version, name) for pid, (version, name) in in_force.items()}

    depth_memo: dict[uuid.UUID, int] = {}

    def depth(gid: uuid.UUID) -> int:
        chain: list[uuid.UUID] = []
        current: uuid.UUID | None = gid
        while current is not None and current not in depth_memo and current not in chain:
            chain.append(current)
            current = groups.get(current, (None, ""))[0]
        base = depth_memo.get(current, -1) if current is not None else -1
        for step in reversed(chain):
            base += 1
            depth_memo[step] = base
        return depth_memo[gid]

    # For each group: the nearest assigned group above it (itself included), as a sort key.
    nearest_memo: dict[uuid.UUID, tuple[int, int, str, uuid.UUID] | None] = {}

    def nearest(gid: uuid.UUID) -> tuple[int, int, str, uuid.UUID] | None:
        if gid in nearest_memo:
            return nearest_memo[gid]
        distance = 0
        current: uuid.UUID | None = gid
        seen: set[uuid.UUID] = set()
        found = None
        while current is not None and current not in seen:
            seen.add(current)
            policy_id = assignments.get(current)
            if policy_id is not None and policy_id in params:
                found = (distance, -depth(current), groups.get(current, (None, ""))[1], policy_id)
                break
            current = groups.get(current, (None, ""))[0]
            distance += 1
        nearest_memo[gid] = found
        return found

    # Each group once, with the positions (in `ids`) of its listed members: the group's policy
    # is resolved once, and no UUID is built or hashed per person.
    best: list[tuple[int, int, str, uuid.UUID] | None] = [None] * len(ids)
    member = GroupMember.__table__.c
    listed = listed_ids(ids, session.connection().dialect.name)
    for group_id, positions in session.execute(
        select(member.group_id, func.aggregate_strings(cast(listed.c.n, String()), ","))
        .select_from(GroupMember.__table__.join(listed, member.person_id == listed.c.id))
        .group_by(member.group_id)
    ).all():
        candidate = nearest(group_id)
        if candidate is None:
            continue
        for n in map(int, positions.split(",")):
            known = best[n]
            if known is None or candidate < known:
                best[n] = candidate
    return dict(zip(ids, (params[key[3]] if key is not None else DEFAULT_POLICY for key in best), strict=True))
