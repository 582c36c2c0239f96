"""On-call rosters per group (models in `policies.models`): layers of rotations, overrides, and the
resolved timeline.

The resolved timeline is materialised into `on_call_slot` rows (tagged with the roster) from now
to `HORIZON` ahead, on every change and by a periodic job, so the policy engine, `cover_for_role`,
role addressing and escalation read rosters without knowing they exist. Services flush; the
caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kernel.db import is_postgres
from kernel.directory.models import Group, Person
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.events import AvailabilityChanged, emit
from policies.availability import first_overlap
from policies.core.rotation import Cover, Rotation, Segment, Timeline, resolve
from policies.models import OnCallReminder, OnCallSlotRow, Roster, RosterLayer, RosterOverride
from policies.schemas.rosters import OverrideCreate, RosterCreate, RosterLayerIn, RosterUpdate

HORIZON = timedelta(days=90)
MAX_SPAN = timedelta(days=400)
ROTATION_DAYS = {"daily": 1, "weekly": 7}


# Service ----------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _check_people(session: Session, ids: set[uuid.UUID]) -> None:
    if not ids:
        return
    found = set(session.scalars(select(Person.id).where(Person.id.in_(ids), Person.active.is_(True))))
    missing = ids - found
    if missing:
        raise InvalidInput(
            f"unknown or inactive person(s): {', '.join(sorted(map(str, missing)))}",
            details={"people": sorted(map(str, missing))},
        )


def _layer_rows(roster_id: uuid.UUID, layers: list[RosterLayerIn]) -> list[RosterLayer]:
    rows = []
    for position, layer in enumerate(layers):
        length = ROTATION_DAYS.get(layer.rotation, layer.length_days or 0)
        rows.append(
            RosterLayer(
                roster_id=roster_id,
                position=position,
                rotation=layer.rotation,
                length_days=length,
                start_date=layer.start_date,
                end_date=layer.end_date,
                handoff_time=layer.handoff_time,
                participants=[str(p) for p in layer.participants],
            )
        )
    return rows


def create_roster(*, session: Session, data: RosterCreate, now: datetime) -> Roster:
    if session.get(Group, data.group_id) is None:
        raise NotFound("no such group")
    if session.scalar(select(Roster.id).where(Roster.role == data.role)) is not None:
        raise Conflict(f"the role {data.role!r} already has a roster; a role is held through one roster")
    _check_people(session, {p for layer in data.layers for p in layer.participants})
    roster = Roster(
        group_id=data.group_id,
        name=data.name,
        role=data.role,
        kind=data.kind,
        timezone=data.timezone,
        created_at=now,
        updated_at=now,
    )
    session.add(roster)
    session.flush()
    session.add_all(_layer_rows(roster.id, data.layers))
    session.flush()
    materialise(session=session, roster=roster, now=now)
    return roster


def require_roster(*, session: Session, roster_id: uuid.UUID) -> Roster:
    roster = session.get(Roster, roster_id)
    if roster is None:
        raise NotFound("no such roster")
    return roster


def list_rosters(*, session: Session, group_id: uuid.UUID | None = None) -> list[Roster]:
    stmt = select(Roster).order_by(Roster.role)
    if group_id is not None:
        stmt = stmt.where(Roster.group_id == group_id)
    return list(session.scalars(stmt).all())


def layers_of(*, session: Session, roster_id: uuid.UUID) -> list[RosterLayer]:
    stmt = select(RosterLayer).where(RosterLayer.roster_id == roster_id).order_by(RosterLayer.position)
    return list(session.scalars(stmt).all())


def overrides_of(*, session: Session, roster_id: uuid.UUID, since: datetime | None = None) -> list[RosterOverride]:
    stmt = select(RosterOverride).where(RosterOverride.roster_id == roster_id)
    if since is not None:
        stmt = stmt.where(RosterOverride.end_at > since)
    return list(session.scalars(stmt.order_by(RosterOverride.start_at, RosterOverride.created_at)).all())


def update_roster(*, session: Session, roster: Roster, data: RosterUpdate, now: datetime) -> Roster:
    fields = data.model_fields_set
    if "role" in fields and data.role is not None and data.role != roster.role:
        if session.scalar(select(Roster.id).where(Roster.role == data.role)) is not None:
            raise Conflict(f"the role {data.role!r} already has a roster")
        # Materialised slots carry the role name; they are rewritten below.
        session.execute(delete(OnCallSlotRow).where(OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.end_at > now))
        roster.role = data.role
    if "name" in fields and data.name is not None:
        roster.name = data.name
    if "kind" in fields and data.kind is not None:
        roster.kind = data.kind
    if "timezone" in fields and data.timezone is not None:
        roster.timezone = data.timezone
    if "layers" in fields and data.layers is not None:
        _check_people(session, {p for layer in data.layers for p in layer.participants})
        session.execute(delete(RosterLayer).where(RosterLayer.roster_id == roster.id))
        session.add_all(_layer_rows(roster.id, data.layers))
    roster.updated_at = now
    session.flush()
    materialise(session=session, roster=roster, now=now)
    return roster


def delete_roster(*, session: Session, roster: Roster, now: datetime) -> None:
    """Future slots go with the roster; past ones stay (they are the record of who was on call)."""
    for person_id in sorted({slot[0] for slot in _slots(session, roster, now)}):
        emit(session, AvailabilityChanged(person_id), at=now)
    session.execute(delete(OnCallSlotRow).where(OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.start_at >= now))
    for slot in session.scalars(
        select(OnCallSlotRow).where(OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.end_at > now)
    ):
        slot.end_at = now
    session.flush()
    session.delete(roster)
    session.flush()


def add_override(
    *, session: Session, roster: Roster, data: OverrideCreate, by: uuid.UUID | None, now: datetime
) -> RosterOverride:
    check_instant("start", data.start)
    check_instant("end", data.end)
    _check_people(session, {data.person_id})
    clash = first_overlap(session, RosterOverride, RosterOverride.roster_id == roster.id, data.start, data.end)
    if clash is not None:
        raise Conflict(
            "the override overlaps another override of this roster; remove or shorten that one first",
            details={"override_id": str(clash.id)},
        )
    row = RosterOverride(
        roster_id=roster.id,
        person_id=data.person_id,
        start_at=data.start,
        end_at=data.end,
        note=data.note,
        created_by=by,
        created_at=now,
    )
    session.add(row)
    roster.updated_at = now
    session.flush()
    materialise(session=session, roster=roster, now=now)
    return row


def remove_override(*, session: Session, roster: Roster, override_id: uuid.UUID, now: datetime) -> RosterOverride:
    row = session.get(RosterOverride, override_id)
    if row is None or row.roster_id != roster.id:
        raise NotFound("no such override on this roster")
    session.delete(row)
    roster.updated_at = now
    session.flush()
    materialise(session=session, roster=roster, now=now)
    return row


def _inputs(session: Session, roster: Roster) -> tuple[list[Rotation], list[Cover]]:
    rotations = [
        Rotation(
            position=layer.position,
            participants=tuple(uuid.UUID(p) for p in layer.participants),
            length_days=layer.length_days,
            start_date=layer.start_date,
            handoff=layer.handoff_time,
            end_date=layer.end_date,
        )
        for layer in layers_of(session=session, roster_id=roster.id)
    ]
    covers = [
        Cover(row.person_id, _aware(row.start_at), _aware(row.end_at), seq)
        for seq, row in enumerate(
            sorted(overrides_of(session=session, roster_id=roster.id), key=lambda r: (_aware(r.created_at), str(r.id)))
        )
    ]
    return rotations, covers


FIRST_YEAR, LAST_YEAR = 1970, 2200


def check_instant(name: str, value: datetime) -> datetime:
    """Rosters reason about instants between 1970 and 2200; outside, say so instead of overflowing."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(f"{name} must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


def timeline(*, session: Session, roster: Roster, start: datetime, end: datetime) -> Timeline:
    check_instant("start", start)
    check_instant("end", end)
    if end <= start:
        raise InvalidInput("the span must end after it starts")
    if end - start > MAX_SPAN:
        raise InvalidInput(f"a timeline spans at most {MAX_SPAN.days} days")
    rotations, covers = _inputs(session, roster)
    return resolve(rotations=rotations, overrides=covers, zone=roster.timezone, start=start, end=end)


def on_call_at(*, session: Session, role: str, at: datetime) -> tuple[Roster, Segment | None]:
    """Who holds the role at the instant, resolved from the roster itself (any instant)."""
    check_instant("at", at)
    roster = session.scalars(select(Roster).where(Roster.role == role)).first()
    if roster is None:
        raise NotFound(f"no roster holds the role {role!r}")
    rotations, covers = _inputs(session, roster)
    # Resolve a window wide enough that the turn holding `at` comes back whole, not clipped.
    reach = timedelta(days=max((r.length_days for r in rotations), default=1) + 2)
    holding = [c for c in covers if c.start <= at < c.end]
    start = min([at - reach, *(c.start for c in holding)])
    end = max([at + reach, *(c.end for c in holding)])
    found = resolve(rotations=rotations, overrides=covers, zone=roster.timezone, start=start, end=end)
    return roster, found.at(at)


def materialise(*, session: Session, roster: Roster, now: datetime, horizon: timedelta = HORIZON) -> int:
    """Rewrite the roster's `on_call_slot` rows from now to the horizon; past rows stay as the record.

    The slot running at `now` is rewritten whole (its true start kept), so a handoff changed
    mid-slot takes effect at once.
    """
    if is_postgres(session):
        # The periodic refresh and a change through the API must not interleave their rewrites.
        session.execute(select(Roster.id).where(Roster.id == roster.id).with_for_update())
    before = _slots(session, roster, now)
    session.execute(delete(OnCallSlotRow).where(OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.end_at > now))
    until = now + horizon
    resolved = timeline(session=session, roster=roster, start=now, end=until)
    rows = [
        OnCallSlotRow(
            person_id=seg.person_id,
            group_id=roster.group_id,
            roster_id=roster.id,
            role=roster.role,
            kind=roster.kind,
            start_at=seg.start,
            end_at=seg.end,
            created_at=now,
        )
        for seg in resolved.segments
    ]
    # The first segment is clipped at `now`; give it back its real start so the slot reads whole.
    if rows:
        first = _unclipped_start(session, roster, rows[0], now)
        rows[0].start_at = first
    session.add_all(rows)
    previous_until = _aware(roster.materialised_until) if roster.materialised_until is not None else until
    roster.materialised_until = until
    session.flush()
    # Whose on-call time changed, up to the old horizon: moving the horizon on changes no one's today.
    after: set[tuple[uuid.UUID, datetime, datetime, str]] = {
        (r.person_id, _aware(r.start_at), _aware(r.end_at), r.kind) for r in rows
    }

    def upto(slots: set[tuple[uuid.UUID, datetime, datetime, str]]) -> set[tuple[uuid.UUID, datetime, datetime, str]]:
        return {(p, start, min(end, previous_until), k) for p, start, end, k in slots if start < previous_until}

    for person_id in sorted({slot[0] for slot in upto(before) ^ upto(after)}):
        emit(session, AvailabilityChanged(person_id), at=now)
    return len(rows)


def _slots(session: Session, roster: Roster, now: datetime) -> set[tuple[uuid.UUID, datetime, datetime, str]]:
    rows = session.execute(
        select(OnCallSlotRow.person_id, OnCallSlotRow.start_at, OnCallSlotRow.end_at, OnCallSlotRow.kind).where(
            OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.end_at > now
        )
    )
    return {(pid, _aware(start), _aware(end), kind) for pid, start, end, kind in rows}


def _unclipped_start(session: Session, roster: Roster, row: OnCallSlotRow, now: datetime) -> datetime:
    if row.start_at > now:
        return row.start_at
    kept = session.scalar(
        select(func.max(OnCallSlotRow.end_at)).where(OnCallSlotRow.roster_id == roster.id, OnCallSlotRow.end_at <= now)
    )
    floor = _aware(kept) if kept is not None else None
    back = timeline(session=session, roster=roster, start=now - timedelta(days=35), end=now + timedelta(seconds=1))
    for seg in reversed(back.segments):
        if seg.start <= now < seg.end and seg.person_id == row.person_id:
            return max(seg.start, floor) if floor is not None else seg.start
    return row.start_at


def refresh_all(*, session: Session, now: datetime) -> int:
    """The periodic refresh: every roster's horizon moves forward with time."""
    count = 0
    for roster in session.scalars(select(Roster).order_by(Roster.id)):
        materialise(session=session, roster=roster, now=now)
        count += 1
    return count


# Going-on-call reminders ------------------------------------------------------------------------


def set_reminder(*, session: Session, person_id: uuid.UUID, lead_minutes: int, now: datetime) -> OnCallReminder:
    row = session.get(OnCallReminder, person_id)
    if row is None:
        row = OnCallReminder(person_id=person_id, lead_minutes=lead_minutes, created_at=now)
        session.add(row)
    else:
        row.lead_minutes = lead_minutes
    session.flush()
    return row


def clear_reminder(*, session: Session, person_id: uuid.UUID) -> bool:
    row = session.get(OnCallReminder, person_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


@dataclass(frozen=True)
class DueReminder:
    person_id: uuid.UUID
    role: str
    kind: str
    start: datetime
    end: datetime


def due_reminders(*, session: Session, now: datetime) -> list[DueReminder]:
    """Opted-in people whose next on-call slot starts within their lead time and who have not
    been reminded of it. A slot that simply continues one the person already holds is no news."""
    rows = session.execute(
        select(OnCallReminder, OnCallSlotRow)
        .join(OnCallSlotRow, OnCallSlotRow.person_id == OnCallReminder.person_id)
        .where(OnCallSlotRow.start_at > now, OnCallSlotRow.start_at <= now + timedelta(days=2))
        .order_by(OnCallSlotRow.start_at)
    ).all()
    out: dict[uuid.UUID, DueReminder] = {}
    for reminder, slot in rows:
        start = _aware(slot.start_at)
        if reminder.person_id in out or start - timedelta(minutes=reminder.lead_minutes) > now:
            continue
        if reminder.last_slot_start is not None and _aware(reminder.last_slot_start) >= start:
            continue
        held = session.scalar(
            select(OnCallSlotRow.id).where(
                OnCallSlotRow.person_id == reminder.person_id,
                OnCallSlotRow.role == slot.role,
                OnCallSlotRow.end_at == slot.start_at,
            )
        )
        if held is not None:
            continue
        out[reminder.person_id] = DueReminder(reminder.person_id, slot.role, slot.kind, start, _aware(slot.end_at))
    return list(out.values())


def mark_reminded(*, session: Session, person_id: uuid.UUID, slot_start: datetime) -> None:
    row = session.get(OnCallReminder, person_id)
    if row is not None:
        row.last_slot_start = slot_start
        session.flush()
