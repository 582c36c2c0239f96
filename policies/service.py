"""Availability, policies and the rest ledger: typed, keyword-only functions over a session.

Services add and flush; the caller (a route or a task) owns the transaction and commits.

The loader is what the messaging pipeline calls before deciding:

    load_states(*, session, person_ids, at, horizon) -> dict[UUID, RecipientState]
    policies_for(*, session, person_ids, at) -> dict[UUID, PolicyParams]

Both run a fixed number of set-based queries, never one per person; the ids go to the database
as one parameter (an array on PostgreSQL, a JSON list on SQLite).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    Time,
    Uuid,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kernel.batch import gc_paused
from kernel.directory import service as directory
from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import InvalidInput, NotFound
from kernel.events import AvailabilityChanged, emit
from policies.core.engine import AvailabilityInterval, availability, decide
from policies.core.holidays import holiday_ordinals
from policies.core.types import (
    DEFAULT_POLICY,
    Decision,
    Interval,
    MessageFacts,
    OnCallKind,
    OnCallSlot,
    PolicyParams,
    RecipientState,
    WorkSource,
)
from policies.core.wallclock import expand_weekly, local_date, weekly_overlaps
from policies.models import (
    DndSession,
    Leave,
    OnCallSlotRow,
    PolicyAssignment,
    QuietHours,
    RestLedgerEntry,
    RestPolicy,
    RestPolicyVersion,
    Shift,
    WorkingHours,
)
from policies.schemas.availability import (
    DndStart,
    LeaveCreate,
    OnCallSlotCreate,
    ShiftCreate,
    ShiftUpdate,
    WeeklyWindow,
)
from policies.schemas.rest_policies import PolicyCreate, PolicyVersionCreate

LOOKBACK = timedelta(days=3)
DEFAULT_HORIZON = timedelta(days=7)
WEEK = timedelta(days=7)


def _aware(value: datetime) -> datetime:
    """Rows read through plain columns come back naive on SQLite; they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Weekly windows ---------------------------------------------------------------------------------


def _check_windows(windows: Sequence[WeeklyWindow], what: str) -> None:
    clash = weekly_overlaps([(w.mask, w.start, w.end) for w in windows])
    if clash is not None:
        first, second = clash
        raise InvalidInput(
            f"{what} windows {first + 1} and {second + 1} overlap; merge them or move one",
            details={"windows": [first, second]},
        )


def _person_zone(session: Session, person_id: uuid.UUID) -> str:
    zone = session.scalar(select(Person.timezone).where(Person.id == person_id))
    if zone is None:
        raise NotFound("no such person")
    return zone


def replace_quiet_hours(
    *, session: Session, person_id: uuid.UUID, windows: Sequence[WeeklyWindow], timezone: str | None, now: datetime
) -> list[QuietHours]:
    zone = timezone or _person_zone(session, person_id)
    _check_windows(windows, "quiet-hours")
    session.execute(delete(QuietHours).where(QuietHours.person_id == person_id))
    rows = [
        QuietHours(
            person_id=person_id, weekdays=w.mask, start_time=w.start, end_time=w.end, timezone=zone, created_at=now
        )
        for w in windows
    ]
    session.add_all(rows)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return rows


def list_quiet_hours(*, session: Session, person_id: uuid.UUID) -> list[QuietHours]:
    stmt = select(QuietHours).where(QuietHours.person_id == person_id).order_by(QuietHours.start_time)
    return list(session.scalars(stmt).all())


def replace_working_hours(
    *,
    session: Session,
    person_id: uuid.UUID,
    windows: Sequence[WeeklyWindow],
    timezone: str | None,
    now: datetime,
    holidays: str | None = None,
) -> list[WorkingHours]:
    """Replace the person's working hours; with `holidays` (a holiday calendar such as "SE")
    they do not apply on that calendar's public holidays."""
    zone = timezone or _person_zone(session, person_id)
    _check_windows(windows, "working-hours")
    session.execute(delete(WorkingHours).where(WorkingHours.person_id == person_id))
    rows = [
        WorkingHours(
            person_id=person_id,
            weekdays=w.mask,
            start_time=w.start,
            end_time=w.end,
            timezone=zone,
            holidays=holidays,
            created_at=now,
        )
        for w in windows
    ]
    session.add_all(rows)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return rows


def list_working_hours(*, session: Session, person_id: uuid.UUID) -> list[WorkingHours]:
    stmt = select(WorkingHours).where(WorkingHours.person_id == person_id).order_by(WorkingHours.start_time)
    return list(session.scalars(stmt).all())


def days_of(mask: int) -> list[int]:
    """ISO weekdays (1 = Monday) of a weekday mask."""
    return [day + 1 for day in range(7) if mask & (1 << day)]


# Shifts -----------------------------------------------------------------------------------------


def first_overlap(session: Session, model: Any, owner: Any, start: datetime, end: datetime) -> Any:
    """The first row of `model` (one with `start_at` and `end_at`) of the same owner that overlaps
    [start, end), or None: leave, on-call slots and roster overrides must not overlap their own kind."""
    stmt = select(model).where(owner, model.start_at < end, model.end_at > start).limit(1)
    return session.scalars(stmt).first()


def _shift_overlap(
    session: Session, person_id: uuid.UUID, start: datetime, end: datetime, skip: uuid.UUID | None
) -> Shift | None:
    stmt = select(Shift).where(
        Shift.person_id == person_id,
        Shift.planned_start < end,
        func.coalesce(Shift.actual_end, Shift.planned_end) > start,
    )
    if skip is not None:
        stmt = stmt.where(Shift.id != skip)
    return session.scalars(stmt.limit(1)).first()


def create_shift(*, session: Session, person_id: uuid.UUID, data: ShiftCreate, now: datetime) -> Shift:
    end = data.actual_end or data.planned_end
    clash = _shift_overlap(session, person_id, data.planned_start, end, None)
    if clash is not None:
        raise InvalidInput("the shift overlaps another shift of the same person", details={"shift_id": str(clash.id)})
    shift = Shift(
        person_id=person_id,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        actual_end=data.actual_end,
        kind=data.kind,
        note=data.note,
        created_at=now,
        updated_at=now,
    )
    session.add(shift)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return shift


def require_shift(*, session: Session, shift_id: uuid.UUID) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    return shift


def update_shift(*, session: Session, shift: Shift, data: ShiftUpdate, now: datetime) -> Shift:
    if "actual_end" in data.model_fields_set:
        if data.actual_end is not None:
            if data.actual_end <= shift.planned_start:
                raise InvalidInput("actual_end must be after the shift's planned start")
            clash = _shift_overlap(session, shift.person_id, shift.planned_start, data.actual_end, shift.id)
            if clash is not None:
                raise InvalidInput("with this actual end the shift would overlap the next one")
        shift.actual_end = data.actual_end
    if "note" in data.model_fields_set:
        shift.note = data.note
    shift.updated_at = now
    session.flush()
    emit(session, AvailabilityChanged(shift.person_id), at=now)
    return shift


def delete_shift(*, session: Session, shift: Shift, now: datetime) -> None:
    session.delete(shift)
    session.flush()
    emit(session, AvailabilityChanged(shift.person_id), at=now)


def list_shifts(*, session: Session, person_id: uuid.UUID, start: datetime, end: datetime) -> list[Shift]:
    stmt = (
        select(Shift)
        .where(
            Shift.person_id == person_id,
            Shift.planned_start < end,
            func.coalesce(Shift.actual_end, Shift.planned_end) > start,
        )
        .order_by(Shift.planned_start)
    )
    return list(session.scalars(stmt).all())


# DND --------------------------------------------------------------------------------------------


def active_dnd(*, session: Session, person_id: uuid.UUID, at: datetime) -> DndSession | None:
    stmt = (
        select(DndSession)
        .where(
            DndSession.person_id == person_id,
            DndSession.start_at <= at,
            DndSession.end_at > at,
            DndSession.ended_at.is_(None),
        )
        .order_by(DndSession.start_at.desc())
    )
    return session.scalars(stmt.limit(1)).first()


def start_dnd(*, session: Session, person_id: uuid.UUID, data: DndStart, now: datetime) -> DndSession:
    """Start "with a patient": a running session is replaced, and the new one ends by itself."""
    end = data.until if data.until is not None else now + timedelta(minutes=data.minutes or 0)
    if end <= now:
        raise InvalidInput("do-not-disturb must end in the future")
    if end - now > timedelta(hours=12):
        raise InvalidInput("do-not-disturb lasts at most 12 hours; use quiet hours or leave for longer")
    running = active_dnd(session=session, person_id=person_id, at=now)
    if running is not None:
        running.ended_at = now
    dnd = DndSession(person_id=person_id, start_at=now, end_at=end, source="manual", note=data.note, created_at=now)
    session.add(dnd)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return dnd


def end_dnd(*, session: Session, person_id: uuid.UUID, now: datetime) -> DndSession | None:
    running = active_dnd(session=session, person_id=person_id, at=now)
    if running is not None:
        running.ended_at = now
        session.flush()
        emit(session, AvailabilityChanged(person_id), at=now)
    return running


# Leave ------------------------------------------------------------------------------------------


def create_leave(
    *, session: Session, person_id: uuid.UUID, data: LeaveCreate, by: uuid.UUID | None, now: datetime
) -> Leave:
    clash = first_overlap(session, Leave, Leave.person_id == person_id, data.start, data.end)
    if clash is not None:
        raise InvalidInput("the leave overlaps leave already registered", details={"leave_id": str(clash.id)})
    leave = Leave(
        person_id=person_id,
        kind=data.kind,
        start_at=data.start,
        end_at=data.end,
        note=data.note,
        created_by=by,
        created_at=now,
    )
    session.add(leave)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return leave


def require_leave(*, session: Session, leave_id: uuid.UUID) -> Leave:
    leave = session.get(Leave, leave_id)
    if leave is None:
        raise NotFound("no such leave")
    return leave


def delete_leave(*, session: Session, leave: Leave, now: datetime) -> None:
    session.delete(leave)
    session.flush()
    emit(session, AvailabilityChanged(leave.person_id), at=now)


def list_leave(*, session: Session, person_id: uuid.UUID, since: datetime | None = None) -> list[Leave]:
    stmt = select(Leave).where(Leave.person_id == person_id)
    if since is not None:
        stmt = stmt.where(Leave.end_at > since)
    return list(session.scalars(stmt.order_by(Leave.start_at)).all())


# On-call slots ----------------------------------------------------------------------------------


def create_on_call_slot(*, session: Session, data: OnCallSlotCreate, now: datetime) -> OnCallSlotRow:
    directory.require_person(session=session, person_id=data.person_id)
    if data.group_id is not None:
        directory.require_group(session=session, group_id=data.group_id)
    clash = first_overlap(session, OnCallSlotRow, OnCallSlotRow.person_id == data.person_id, data.start, data.end)
    if clash is not None:
        raise InvalidInput("the slot overlaps another on-call slot of the same person")
    slot = OnCallSlotRow(
        person_id=data.person_id,
        group_id=data.group_id,
        role=data.role,
        kind=data.kind,
        start_at=data.start,
        end_at=data.end,
        created_at=now,
    )
    session.add(slot)
    session.flush()
    emit(session, AvailabilityChanged(data.person_id), at=now)
    return slot


def list_on_call(*, session: Session, person_id: uuid.UUID, since: datetime) -> list[OnCallSlotRow]:
    stmt = select(OnCallSlotRow).where(OnCallSlotRow.person_id == person_id, OnCallSlotRow.end_at > since)
    return list(session.scalars(stmt.order_by(OnCallSlotRow.start_at)).all())


def cover_for_role(
    *, session: Session, role: str, at: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> tuple[OnCallSlot, ...]:
    """Who is on call for a roster role from `at` on: the `cover` of a role-addressed message."""
    rows = session.execute(
        select(OnCallSlotRow.person_id, OnCallSlotRow.start_at, OnCallSlotRow.end_at, OnCallSlotRow.kind)
        .where(OnCallSlotRow.role == role, OnCallSlotRow.end_at > at, OnCallSlotRow.start_at < at + horizon)
        .order_by(OnCallSlotRow.start_at, OnCallSlotRow.person_id)
    ).all()
    return tuple(OnCallSlot(start, end, _kind(kind), role, person) for person, start, end, kind in rows)


def _kind(value: str) -> OnCallKind:
    return "jour" if value == "jour" else "beredskap"


# Policies ---------------------------------------------------------------------------------------


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
    listed = _listed(ids, session.connection().dialect.name)
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


# The loader -------------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What the loader gathers about one person; spans as POSIX seconds until sorted."""

    zone: str | None = None  # None until the person's own row is read
    shifts: str = ""  # see _facts_query
    weekly: list[tuple[Interval, ...]] = field(default_factory=list)
    quiet: list[tuple[Interval, ...]] = field(default_factory=list)
    dnd: list[tuple[float, float]] = field(default_factory=list)
    leave: list[tuple[float, float]] = field(default_factory=list)
    on_call: list[tuple[float, float, str, str]] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)
    overrides: int = 0


def _joined(parts: list[tuple[Interval, ...]]) -> tuple[Interval, ...]:
    # One weekly row (the usual case) keeps the shared, cached expansion as it is.
    if len(parts) == 1:
        return parts[0]
    return tuple(sorted(iv for part in parts for iv in part))


def _id_list(ids: list[uuid.UUID], dialect: str) -> str:
    """Ids as one text parameter: a PostgreSQL array literal, or a JSON list for SQLite."""
    if dialect == "postgresql":
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps([i.hex for i in ids])


def _epoch(column: ColumnElement[datetime], dialect: str) -> ColumnElement[float]:
    """An instant as POSIX seconds (a float), computed by the database.

    Reading ~60,000 instants as datetimes costs more than the query; the loader makes one
    datetime per distinct instant instead (shifts start at the same few wall times)."""
    if dialect == "postgresql":
        # date_part is double precision; extract() is numeric since PostgreSQL 14, and slower.
        return func.date_part("epoch", column, type_=Float(53))
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds plus the fraction, exactly.
    return cast(cast(func.strftime("%s", column), Integer()) + cast(func.substr(column, 20), Float()), Float())


def _listed(ids: list[uuid.UUID], dialect: str) -> CTE:
    """The ids as a table (`id`, `n` its 0-based position), sent as one parameter (`_id_list`).

    Rows that name a person by position need no UUID (nor its text) built per row."""
    param = bindparam(None, _id_list(ids, dialect), type_=String())
    if dialect == "postgresql":
        unnested = (
            func.unnest(cast(param, postgresql.ARRAY(Uuid())))
            .table_valued("id", with_ordinality="n")
            .render_derived("ids")
        )
        return select(unnested.c.id, (unnested.c.n - 1).label("n")).cte("listed")
    each = func.json_each(param).table_valued("key", "value").alias("ids")
    return select(each.c.value.label("id"), each.c.key.label("n")).cte("listed")


def _micros(column: ColumnElement[datetime], dialect: str) -> ColumnElement[int]:
    """An instant as whole microseconds since the epoch (exact, unlike a float in text)."""
    if dialect == "postgresql":
        # Within a fraction of a microsecond of the whole number; the cast rounds to it.
        return cast(func.date_part("epoch", column, type_=Float(53)) * 1_000_000, BigInteger())
    return cast(func.strftime("%s", column), Integer()) * 1_000_000 + cast(func.substr(column, 21, 6), Integer())


# Row tags of the loader's one query (`_facts_query`).
_PERSON, _SHIFT, _WEEKLY, _QUIET, _DND, _LEAVE, _SLOT, _LEDGER = range(8)


def _facts_query(ids: list[uuid.UUID], dialect: str, at: datetime, lo: datetime, hi: datetime) -> CompoundSelect[Any]:
    """Every fact about the listed people in one result, one round trip and one pass over the
    id list: rows of (tag, position in `ids`, a, b, mask, t1, t2, s1, s2, flag), in no order
    (the loader sorts each person's facts). The columns a row uses depend on its tag."""
    listed = _listed(ids, dialect)

    def epoch(column: ColumnElement[datetime]) -> ColumnElement[float]:
        return _epoch(column, dialect)

    def part(
        tag: int,
        table: FromClause,
        *,
        a: ColumnElement[Any] | None = None,
        b: ColumnElement[Any] | None = None,
        mask: ColumnElement[Any] | None = None,
        t1: ColumnElement[Any] | None = None,
        t2: ColumnElement[Any] | None = None,
        s1: ColumnElement[Any] | None = None,
        s2: ColumnElement[Any] | None = None,
        flag: ColumnElement[Any] | None = None,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> Select[Any]:
        key = table.c.id if table is Person.__table__ else table.c.person_id
        columns = (
            ("a", a, Float(53)),
            ("b", b, Float(53)),
            ("mask", mask, Integer()),
            ("t1", t1, Time()),
            ("t2", t2, Time()),
            ("s1", s1, String()),
            ("s2", s2, String()),
            ("flag", flag, Boolean()),
        )
        return (
            select(
                literal_column(str(tag), Integer()).label("tag"),
                listed.c.n,
                *((column if column is not None else cast(null(), kind)).label(name) for name, column, kind in columns),
            )
            .select_from(table.join(listed, key == listed.c.id))
            .where(*where)
        )

    person, shift = Person.__table__, Shift.__table__
    weekly, quiet = WorkingHours.__table__, QuietHours.__table__
    dnd, leave, slot, ledger = DndSession.__table__, Leave.__table__, OnCallSlotRow.__table__, RestLedgerEntry.__table__
    # A DND ends at its planned end, or earlier when the person ended it.
    dnd_end = case((dnd.c.ended_at < dnd.c.end_at, dnd.c.ended_at), else_=dnd.c.end_at)
    parts = union_all(
        part(_PERSON, person, s1=person.c.timezone),
        part(
            _SHIFT,
            shift,
            # One row per person: "start end,start end,..." in microseconds. People on the same
            # roster pattern get the same text, which the loader turns into intervals once.
            s1=func.aggregate_strings(
                cast(_micros(shift.c.planned_start, dialect), String())
                + " "
                + cast(_micros(func.coalesce(shift.c.actual_end, shift.c.planned_end), dialect), String()),
                ",",
            ),
            where=(
                shift.c.planned_start < hi,
                shift.c.planned_start > lo - timedelta(hours=36),
                func.coalesce(shift.c.actual_end, shift.c.planned_end) > lo,
            ),
        ).group_by(listed.c.n),
        *(
            part(
                tag,
                table,
                mask=table.c.weekdays,
                t1=table.c.start_time,
                t2=table.c.end_time,
                s1=table.c.timezone,
                s2=table.c.holidays if tag == _WEEKLY else None,
            )
            for tag, table in ((_WEEKLY, weekly), (_QUIET, quiet))
        ),
        part(
            _DND,
            dnd,
            a=epoch(dnd.c.start_at),
            b=epoch(dnd_end),
            where=(dnd.c.end_at > at, dnd.c.start_at < hi),
        ),
        part(
            _LEAVE,
            leave,
            a=epoch(leave.c.start_at),
            b=epoch(leave.c.end_at),
            where=(leave.c.end_at > lo, leave.c.start_at < hi),
        ),
        part(
            _SLOT,
            slot,
            a=epoch(slot.c.start_at),
            b=epoch(slot.c.end_at),
            s1=slot.c.kind,
            s2=slot.c.role,
            where=(slot.c.end_at > lo, slot.c.start_at < hi),
        ),
        part(
            _LEDGER,
            ledger,
            a=epoch(ledger.c.at),
            s1=ledger.c.kind,
            flag=ledger.c.restarts_rest,
            where=(
                ledger.c.at > min(lo, at - WEEK),
                ledger.c.at < hi,
                (ledger.c.restarts_rest.is_(True)) | (ledger.c.kind == "override"),
            ),
        ),
    )
    return parts


def load_states(
    *,
    session: Session,
    person_ids: Iterable[uuid.UUID],
    at: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    lookback: timedelta = LOOKBACK,
) -> dict[uuid.UUID, RecipientState]:
    """The engine's view of each person over [at, at + horizon), with work from `lookback`
    before `at` so that a rest window that began earlier is known. Unknown ids are left out.

    One query, whatever the number of people (see `_facts_query`)."""
    with gc_paused():
        return _load_states(session=session, person_ids=person_ids, at=at, horizon=horizon, lookback=lookback)


def _load_states(
    *,
    session: Session,
    person_ids: Iterable[uuid.UUID],
    at: datetime,
    horizon: timedelta,
    lookback: timedelta,
) -> dict[uuid.UUID, RecipientState]:
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return {}
    lo, hi = at - lookback, at + horizon
    lo_ts, at_ts, week_ago_ts = lo.timestamp(), at.timestamp(), (at - WEEK).timestamp()
    conn = session.connection()
    dialect = conn.dialect.name
    facts: defaultdict[int, _Facts] = defaultdict(_Facts)  # by position in `ids`
    days: dict[tuple[str, bool], tuple[date, date]] = {}

    def day_range(zone: str, with_lookback: bool) -> tuple[date, date]:
        found = days.get((zone, with_lookback))
        if found is None:
            first = local_date(zone, lo if with_lookback else at) - timedelta(days=1)
            found = days[(zone, with_lookback)] = (first, local_date(zone, hi))
        return found

    # Weekly windows shared by many people (same zone, days and times) are looked up once.
    windows: dict[tuple[Any, ...], tuple[Interval, ...]] = {}
    for tag, n, a, b, mask, t1, t2, s1, s2, flag in conn.execute(_facts_query(ids, dialect, at, lo, hi)).all():
        if tag == _SHIFT:
            facts[n].shifts = s1
        elif tag == _PERSON:
            facts[n].zone = s1
        elif tag == _WEEKLY or tag == _QUIET:
            pattern = (tag, s1, mask, t1, t2, s2)
            expanded = windows.get(pattern)
            if expanded is None:
                first, last = day_range(s1, tag == _WEEKLY)
                # Working hours may skip a holiday calendar's public holidays ("weekdays except holidays").
                skip = holiday_ordinals(s2, first, last) if s2 else frozenset()
                expanded = windows[pattern] = expand_weekly(s1, mask, t1, t2, first, last, skip)
            record = facts[n]
            (record.weekly if tag == _WEEKLY else record.quiet).append(expanded)
        elif tag == _DND:
            if b > a:
                facts[n].dnd.append((a, b))
        elif tag == _LEAVE:
            facts[n].leave.append((a, b))
        elif tag == _SLOT:
            facts[n].on_call.append((a, b, s2, s1))
        else:
            record = facts[n]
            if s1 == "override" and week_ago_ts <= a < at_ts:
                record.overrides += 1
            if flag and a > lo_ts:
                record.restarts.append(a)

    # One datetime per distinct instant, one Interval per distinct span: thousands of shifts
    # share a handful of start and end times.
    instants: dict[float, datetime] = {}
    spans: dict[tuple[float, float], Interval] = {}

    def instant(ts: float) -> datetime:
        found = instants.get(ts)
        if found is None:
            found = instants[ts] = datetime.fromtimestamp(ts, UTC)
        return found

    def intervals(pairs: list[tuple[float, float]]) -> tuple[Interval, ...]:
        if len(pairs) > 1:
            pairs.sort()
        out = []
        for pair in pairs:
            found = spans.get(pair)
            if found is None:
                found = spans[pair] = Interval(instant(pair[0]), instant(pair[1]))
            out.append(found)
        return tuple(out)

    patterns: dict[str, tuple[Interval, ...]] = {}

    def shifts_of(packed: str) -> tuple[Interval, ...]:
        found = patterns.get(packed)
        if found is None:
            pairs = []
            for pair in packed.split(","):
                start, end = pair.split(" ")
                pairs.append((int(start) / 1e6, int(end) / 1e6))
            found = patterns[packed] = intervals(pairs)
        return found

    window = Interval(at, hi)
    states: dict[uuid.UUID, RecipientState] = {}
    for n in sorted(facts):
        f = facts[n]
        if f.zone is None:
            continue
        if len(f.on_call) > 1:
            f.on_call.sort()
        states[ids[n]] = RecipientState(
            person_id=ids[n],
            zone=f.zone,
            horizon=window,
            shifts=shifts_of(f.shifts) if f.shifts else (),
            weekly_hours=_joined(f.weekly) if f.weekly else (),
            quiet=_joined(f.quiet) if f.quiet else (),
            dnd=intervals(f.dnd) if f.dnd else (),
            leave=intervals(f.leave) if f.leave else (),
            on_call=tuple(OnCallSlot(instant(a), instant(b), _kind(kind), role) for a, b, role, kind in f.on_call),
            rest_restarts=tuple(instant(ts) for ts in sorted(f.restarts)),
            overrides_7d=f.overrides,
        )
    return states


# Decisions, availability and the ledger ---------------------------------------------------------


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


def record_contact(
    *,
    session: Session,
    person_id: uuid.UUID,
    decision: Decision,
    message: MessageFacts,
    policy: PolicyParams,
    at: datetime,
    settle: bool = True,
) -> RestLedgerEntry | None:
    """Write the decision's contact to the rest ledger, if it carries one, and (unless the caller
    settles a batch itself) place it in its rest period (`policies.rest_records.settle`)."""
    note = decision.ledger
    if note is None:
        return None
    entry = RestLedgerEntry(
        person_id=person_id,
        at=at,
        kind=note.kind,
        states=list(note.states),
        on_call=note.on_call,
        priority=message.priority,
        rules=list(decision.rules),
        reason=note.reason,
        sender_id=message.sender_id,
        message_id=message.message_id,
        policy_version_id=policy.version_id,
        restarts_rest=note.restarts_rest,
        compensatory_minutes=note.compensatory_minutes,
        compensatory_due=note.compensatory_due,
        granted_minutes=0,
        created_at=at,
    )
    session.add(entry)
    session.flush()
    if settle:
        from policies.rest_records import settle as settle_periods  # it reads facts through this module

        settle_periods(session=session, person_ids=[person_id], since=at, until=at + timedelta(microseconds=1), now=at)
    return entry


def list_ledger(
    *,
    session: Session,
    person_ids: Iterable[uuid.UUID] | None,
    since: datetime,
    until: datetime,
    limit: int,
    offset: int,
) -> tuple[list[RestLedgerEntry], int, int, int]:
    """Entries in [since, until), newest first, with the total count and minutes owed and granted."""
    conditions = [RestLedgerEntry.at >= since, RestLedgerEntry.at < until]
    if person_ids is not None:
        conditions.append(RestLedgerEntry.person_id.in_(list(person_ids)))
    total, owed, granted = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(RestLedgerEntry.compensatory_minutes), 0),
            func.coalesce(func.sum(RestLedgerEntry.granted_minutes), 0),
        ).where(*conditions)
    ).one()
    rows = session.scalars(
        select(RestLedgerEntry)
        .where(*conditions)
        .order_by(RestLedgerEntry.at.desc(), RestLedgerEntry.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total), int(owed), int(granted)


def require_ledger_entry(*, session: Session, entry_id: uuid.UUID) -> RestLedgerEntry:
    entry = session.get(RestLedgerEntry, entry_id)
    if entry is None:
        raise NotFound("no such ledger entry")
    return entry


def grant_compensatory(
    *, session: Session, entry: RestLedgerEntry, minutes: int, by: uuid.UUID | None, now: datetime
) -> RestLedgerEntry:
    if entry.granted_minutes + minutes > entry.compensatory_minutes:
        raise InvalidInput(
            f"only {entry.compensatory_minutes - entry.granted_minutes} minutes of compensatory rest are owed"
        )
    entry.granted_minutes += minutes
    entry.granted_at, entry.granted_by = now, by
    session.flush()
    return entry


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
