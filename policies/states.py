"""The state loader: each person's facts (work, quiet hours, do-not-disturb, leave, on call, rest
ledger) read from the database as the engine's `RecipientState`.

The messaging pipeline calls it before deciding:

    load_states(*, session, person_ids, at, horizon) -> dict[UUID, RecipientState]

It runs one set-based query, never one per person; the ids go to the database as one parameter
(an array on PostgreSQL, a JSON list on SQLite).
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
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kernel.batch import gc_paused
from kernel.directory.models import Person
from policies.core.holidays import holiday_ordinals
from policies.core.types import Interval, OnCallKind, OnCallSlot, RecipientState
from policies.core.wallclock import expand_weekly, local_date
from policies.models import DndSession, Leave, OnCallSlotRow, QuietHours, RestLedgerEntry, Shift, WorkingHours

LOOKBACK = timedelta(days=3)
DEFAULT_HORIZON = timedelta(days=7)
WEEK = timedelta(days=7)


def on_call_kind(value: str) -> OnCallKind:
    """A slot's kind as the engine knows it: jour, or else stand-by (beredskap)."""
    return "jour" if value == "jour" else "beredskap"


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


def listed_ids(ids: list[uuid.UUID], dialect: str) -> CTE:
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
    listed = listed_ids(ids, dialect)

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
            on_call=tuple(
                OnCallSlot(instant(a), instant(b), on_call_kind(kind), role) for a, b, role, kind in f.on_call
            ),
            rest_restarts=tuple(instant(ts) for ts in sorted(f.restarts)),
            overrides_7d=f.overrides,
        )
    return states


# Decisions, availability and the ledger ---------------------------------------------------------
