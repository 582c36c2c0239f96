"""Availability, policies and the rest ledger: typed, keyword-only functions over a session.

Services add and flush; the caller (a route or a task) owns the transaction and commits.

The loader is what the messaging pipeline calls before deciding:

    load_states(*, session, person_ids, at, horizon) -> dict[UUID, RecipientState]
    policies_for(*, session, person_ids, at) -> dict[UUID, PolicyParams]

Both run a fixed number of set-based queries (chunked by person id), never one per person.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    Uuid,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import InvalidInput, NotFound
from policies.calendar import expand_weekly, local_date, weekly_overlaps
from policies.engine import AvailabilityInterval, availability, decide
from policies.holidays import holiday_ordinals
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
from policies.schemas import (
    DndStart,
    LeaveCreate,
    OnCallSlotCreate,
    PolicyCreate,
    PolicyVersionCreate,
    ShiftCreate,
    ShiftUpdate,
    WeeklyWindow,
)
from policies.types import (
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

CHUNK = 5000
LOOKBACK = timedelta(days=3)
DEFAULT_HORIZON = timedelta(days=7)
WEEK = timedelta(days=7)


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


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
    return rows


def list_working_hours(*, session: Session, person_id: uuid.UUID) -> list[WorkingHours]:
    stmt = select(WorkingHours).where(WorkingHours.person_id == person_id).order_by(WorkingHours.start_time)
    return list(session.scalars(stmt).all())


def days_of(mask: int) -> list[int]:
    """ISO weekdays (1 = Monday) of a weekday mask."""
    return [day + 1 for day in range(7) if mask & (1 << day)]


# Shifts -----------------------------------------------------------------------------------------


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
    return shift


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
    return dnd


def end_dnd(*, session: Session, person_id: uuid.UUID, now: datetime) -> DndSession | None:
    running = active_dnd(session=session, person_id=person_id, at=now)
    if running is not None:
        running.ended_at = now
        session.flush()
    return running


# Leave ------------------------------------------------------------------------------------------


def create_leave(
    *, session: Session, person_id: uuid.UUID, data: LeaveCreate, by: uuid.UUID | None, now: datetime
) -> Leave:
    clash = session.scalars(
        select(Leave).where(Leave.person_id == person_id, Leave.start_at < data.end, Leave.end_at > data.start).limit(1)
    ).first()
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
    return leave


def require_leave(*, session: Session, leave_id: uuid.UUID) -> Leave:
    leave = session.get(Leave, leave_id)
    if leave is None:
        raise NotFound("no such leave")
    return leave


def list_leave(*, session: Session, person_id: uuid.UUID, since: datetime | None = None) -> list[Leave]:
    stmt = select(Leave).where(Leave.person_id == person_id)
    if since is not None:
        stmt = stmt.where(Leave.end_at > since)
    return list(session.scalars(stmt.order_by(Leave.start_at)).all())


# On-call slots ----------------------------------------------------------------------------------


def create_on_call_slot(*, session: Session, data: OnCallSlotCreate, now: datetime) -> OnCallSlotRow:
    clash = session.scalars(
        select(OnCallSlotRow)
        .where(
            OnCallSlotRow.person_id == data.person_id,
            OnCallSlotRow.start_at < data.end,
            OnCallSlotRow.end_at > data.start,
        )
        .limit(1)
    ).first()
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
    out: dict[uuid.UUID, PolicyParams] = dict.fromkeys(ids, DEFAULT_POLICY)
    assignments = dict(session.execute(select(PolicyAssignment.group_id, PolicyAssignment.policy_id)).all())
    if not assignments or not ids:
        return out
    in_force: dict[uuid.UUID, RestPolicyVersion] = {}
    for version in session.scalars(
        select(RestPolicyVersion)
        .where(RestPolicyVersion.effective_from <= at)
        .order_by(RestPolicyVersion.policy_id, RestPolicyVersion.version)
    ):
        latest = in_force.get(version.policy_id)
        if latest is None or (version.effective_from, version.version) > (latest.effective_from, latest.version):
            in_force[version.policy_id] = version
    names = dict(session.execute(select(RestPolicy.id, RestPolicy.name)).all())
    params = {pid: params_of(v, names.get(pid, "")) for pid, v in in_force.items()}

    groups = {
        gid: (parent, code) for gid, parent, code in session.execute(select(Group.id, Group.parent_id, Group.code))
    }
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

    best: dict[uuid.UUID, tuple[int, int, str, uuid.UUID]] = {}
    conn = session.connection()
    member = GroupMember.__table__.c
    for chunk in _chunks(ids):
        for person_id, group_id in conn.execute(
            select(member.person_id, member.group_id).where(
                _ids_clause(member.person_id, _id_list(chunk, conn.dialect.name), conn.dialect.name)
            )
        ).all():
            candidate = nearest(group_id)
            if candidate is not None and (person_id not in best or candidate < best[person_id]):
                best[person_id] = candidate
    for person_id, key in best.items():
        out[person_id] = params[key[3]]
    return out


# The loader -------------------------------------------------------------------------------------


@dataclass
class _Facts:
    zone: str
    shifts: list[Interval]
    weekly: list[tuple[Interval, ...]]
    quiet: list[tuple[Interval, ...]]
    dnd: list[Interval]
    leave: list[Interval]
    on_call: list[OnCallSlot]
    restarts: list[datetime]
    overrides: int


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


def _ids_clause(column: ColumnElement[uuid.UUID], listed: str, dialect: str) -> ColumnElement[bool]:
    """`column IN ids` with the ids as one bound parameter (see `_id_list`): an expanded IN of
    thousands of parameters costs more to compile and send than the query takes to run."""
    param = bindparam(None, listed, type_=String())
    subquery: Select[tuple[Any]]
    if dialect == "postgresql":
        # A set (unnest) rather than `= ANY(array)`: the planner hashes it instead of scanning.
        subquery = select(func.unnest(cast(param, postgresql.ARRAY(Uuid()))))
    else:
        subquery = select(literal_column("value")).select_from(func.json_each(param))
    return column.in_(subquery.scalar_subquery())


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

    Nine set-based queries per chunk of ids, whatever the number of people."""
    ids = list(dict.fromkeys(person_ids))
    lo, hi = at - lookback, at + horizon
    conn = session.connection()
    dialect = conn.dialect.name
    facts: dict[uuid.UUID, _Facts] = {}
    days: dict[tuple[str, bool], tuple[date, date]] = {}

    def day_range(zone: str, with_lookback: bool) -> tuple[date, date]:
        found = days.get((zone, with_lookback))
        if found is None:
            first = local_date(zone, lo if with_lookback else at) - timedelta(days=1)
            found = days[(zone, with_lookback)] = (first, local_date(zone, hi))
        return found

    shift, weekly_t, quiet_t = Shift.__table__.c, WorkingHours.__table__.c, QuietHours.__table__.c
    dnd_t, leave_t, slot_t, ledger_t = (
        DndSession.__table__.c,
        Leave.__table__.c,
        OnCallSlotRow.__table__.c,
        RestLedgerEntry.__table__.c,
    )
    # Rows name people by the id's text (cheaper than building a UUID per row); `by_key` maps it.
    by_key: dict[str, _Facts] = {}
    key_of = (lambda i: str(i)) if dialect == "postgresql" else (lambda i: i.hex)

    def key(column: ColumnElement[uuid.UUID]) -> ColumnElement[str]:
        return cast(column, String()) if dialect == "postgresql" else type_coerce(column, String())

    def instant(column: ColumnElement[datetime]) -> ColumnElement[datetime]:
        # PostgreSQL hands back aware instants already; skip the per-value UTC conversion.
        return type_coerce(column, DateTime(timezone=True)) if dialect == "postgresql" else column

    for chunk in _chunks(ids):
        listed = _id_list(chunk, dialect)
        for pid, zone in conn.execute(
            select(Person.__table__.c.id, Person.__table__.c.timezone).where(
                _ids_clause(Person.__table__.c.id, listed, dialect)
            )
        ).all():
            facts[pid] = by_key[key_of(pid)] = _Facts(zone, [], [], [], [], [], [], [], 0)
        for pid, start, planned_end, actual_end in conn.execute(
            select(
                key(shift.person_id),
                instant(shift.planned_start),
                instant(shift.planned_end),
                instant(shift.actual_end),
            ).where(
                _ids_clause(shift.person_id, listed, dialect),
                shift.planned_start < hi,
                shift.planned_start > lo - timedelta(hours=36),
                func.coalesce(shift.actual_end, shift.planned_end) > lo,
            )
        ).all():
            by_key[pid].shifts.append(Interval(start, actual_end or planned_end))
        for pid, mask, start_t, end_t, zone, calendar in conn.execute(
            select(
                key(weekly_t.person_id),
                weekly_t.weekdays,
                weekly_t.start_time,
                weekly_t.end_time,
                weekly_t.timezone,
                weekly_t.holidays,
            ).where(_ids_clause(weekly_t.person_id, listed, dialect))
        ).all():
            first, last = day_range(zone, True)
            skip = holiday_ordinals(calendar, first, last) if calendar else frozenset()
            by_key[pid].weekly.append(expand_weekly(zone, mask, start_t, end_t, first, last, skip))
        for pid, mask, start_t, end_t, zone in conn.execute(
            select(
                key(quiet_t.person_id), quiet_t.weekdays, quiet_t.start_time, quiet_t.end_time, quiet_t.timezone
            ).where(_ids_clause(quiet_t.person_id, listed, dialect))
        ).all():
            first, last = day_range(zone, False)
            by_key[pid].quiet.append(expand_weekly(zone, mask, start_t, end_t, first, last))
        for pid, start, end, ended in conn.execute(
            select(key(dnd_t.person_id), instant(dnd_t.start_at), instant(dnd_t.end_at), instant(dnd_t.ended_at)).where(
                _ids_clause(dnd_t.person_id, listed, dialect), dnd_t.end_at > at, dnd_t.start_at < hi
            )
        ).all():
            finish = min(end, ended) if ended is not None else end
            if finish > start:
                by_key[pid].dnd.append(Interval(start, finish))
        for pid, start, end in conn.execute(
            select(key(leave_t.person_id), instant(leave_t.start_at), instant(leave_t.end_at)).where(
                _ids_clause(leave_t.person_id, listed, dialect), leave_t.end_at > lo, leave_t.start_at < hi
            )
        ).all():
            by_key[pid].leave.append(Interval(start, end))
        for pid, start, end, kind, role in conn.execute(
            select(
                key(slot_t.person_id), instant(slot_t.start_at), instant(slot_t.end_at), slot_t.kind, slot_t.role
            ).where(_ids_clause(slot_t.person_id, listed, dialect), slot_t.end_at > lo, slot_t.start_at < hi)
        ).all():
            by_key[pid].on_call.append(OnCallSlot(start, end, _kind(kind), role))
        for pid, when, kind, restarts in conn.execute(
            select(key(ledger_t.person_id), ledger_t.at, ledger_t.kind, ledger_t.restarts_rest).where(
                _ids_clause(ledger_t.person_id, listed, dialect),
                ledger_t.at > min(lo, at - WEEK),
                ledger_t.at < hi,
                (ledger_t.restarts_rest.is_(True)) | (ledger_t.kind == "override"),
            )
        ).all():
            record = by_key[pid]
            if kind == "override" and at - WEEK <= when < at:
                record.overrides += 1
            if restarts and when > lo:
                record.restarts.append(when)

    window = Interval(at, hi)
    return {
        pid: RecipientState(
            person_id=pid,
            zone=f.zone,
            horizon=window,
            shifts=tuple(f.shifts),
            weekly_hours=_joined(f.weekly) if f.weekly else (),
            quiet=_joined(f.quiet) if f.quiet else (),
            dnd=tuple(f.dnd),
            leave=tuple(f.leave),
            on_call=tuple(f.on_call),
            rest_restarts=tuple(sorted(f.restarts)),
            overrides_7d=f.overrides,
        )
        for pid, f in facts.items()
    }


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
) -> RestLedgerEntry | None:
    """Write the decision's contact to the rest ledger, if it carries one."""
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
