"""Import of shift schedules from CSV, the export format of a scheduling system.

One shift per row, with a header line naming the columns (comma or semicolon separated):

    person,start,end,unit,shift_type
    anna.andersson@region.se,2026-11-23 07:00,2026-11-23 15:30,AKM,Dag
    E-10442,2026-11-23T21:00+01:00,2026-11-24T07:15+01:00,AKM,Natt

`person` is an e-mail address or the person's `external_id`; `unit` (optional) a group code;
`shift_type` (optional) the system's own label. Times without an offset are wall-clock times in
the import's zone (default Europe/Stockholm); a wall time that a daylight-saving switch skips or
repeats is rejected with a request for an offset rather than guessed.

The import is all-or-nothing: every row is validated first, and if any is rejected nothing is
written and the report says which rows and why. A row whose person, start and end match a stored
shift is `unchanged` (its unit and type are brought up to date), so re-importing the same file
changes nothing.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.directory.models import Group, Person
from kernel.events import AvailabilityChanged, emit
from policies.models import Shift

COLUMNS = ("person", "start", "end", "unit", "shift_type")
REQUIRED = ("person", "start", "end")
MAX_ROWS = 20_000
MAX_SHIFT = timedelta(hours=36)
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    person: str = ""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "written": self.written,
            "rejected": [{"line": r.line, "person": r.person, "reason": r.reason} for r in self.rejected],
        }


@dataclass
class _Row:
    line: int
    ref: str
    person_id: uuid.UUID
    start: datetime
    end: datetime
    unit_id: uuid.UUID | None
    shift_type: str | None


class MalformedFile(ValueError):
    """The file as a whole cannot be read (no header, missing columns, too many rows)."""


def parse_instant(value: str, zone: str) -> datetime:
    """An ISO 8601 instant with an offset, or a wall time in `zone`; ValueError with a readable text."""
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"{text!r} is not a date and time (use e.g. 2026-11-23 07:00)")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    tz = pytz.timezone(zone)
    try:
        return tz.localize(parsed, is_dst=None).astimezone(UTC)
    except pytz.NonExistentTimeError:
        raise ValueError(f"{text} does not exist in {zone} (the clocks skip it); give a UTC offset") from None
    except pytz.AmbiguousTimeError:
        raise ValueError(f"{text} occurs twice in {zone} (the clocks go back); give a UTC offset") from None


def _parse(text: str) -> datetime | None:
    if len(text) < 16:  # a date alone, or a time cut short, is no shift boundary
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 (a wall time, localized by the caller)
        except ValueError:
            continue
    return None


def _read(data: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    return read_csv(data, columns=COLUMNS, required=REQUIRED, max_rows=MAX_ROWS)


def read_csv(
    data: str, *, columns: tuple[str, ...], required: tuple[str, ...], max_rows: int
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A CSV export as (header, [(line, values)]): comma or semicolon separated (whichever the header
    uses more), a byte-order mark ignored, names in lower case, values stripped, empty rows skipped.
    MalformedFile when the header lacks a required column or the file is too long. Other imports
    (people and groups, notify/provisioning) read their files with it too."""
    text = data.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise MalformedFile("the file is empty; the first line must name the columns")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # newline="": the csv module reads line ends itself, a lone CR (old Mac files) included.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise MalformedFile(f"the header lacks the column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    for record in _records(reader):
        if len(rows) >= max_rows:
            raise MalformedFile(f"an import holds at most {max_rows:,} rows; split the file")
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(values.values()):
            continue
        rows.append((reader.line_num, values))
    return header, rows


def import_shifts(
    *,
    session: Session,
    data: str,
    zone: str,
    now: datetime,
    may_schedule: Callable[[uuid.UUID], bool],
    dry_run: bool = False,
) -> ImportReport:
    """Validate every row, then write all of them or none. Raises MalformedFile for an unreadable file."""
    _, records = _read(data)
    report = ImportReport(rows=len(records))

    refs = {values.get("person", "") for _, values in records} - {""}
    people: dict[str, tuple[uuid.UUID, bool]] = {}
    if refs:
        for pid, email, external, active in session.execute(
            select(Person.id, Person.email, Person.external_id, Person.active).where(
                or_(func.lower(Person.email).in_({r.lower() for r in refs}), Person.external_id.in_(refs))
            )
        ):
            people[email.lower()] = (pid, active)
            if external:
                people[external] = (pid, active)
    codes = {values.get("unit", "") for _, values in records} - {""}
    units = dict(session.execute(select(Group.code, Group.id).where(Group.code.in_(codes))).all()) if codes else {}

    parsed: list[_Row] = []
    for line, values in records:
        ref = values.get("person", "")

        def reject(reason: str, line: int = line, ref: str = ref) -> None:
            report.rejected.append(Rejected(line=line, person=ref, reason=reason))

        if not ref:
            reject("the person column is empty")
            continue
        found = people.get(ref.lower()) or people.get(ref)
        if found is None:
            reject(f"unknown person {ref!r} (neither an e-mail address nor an external id Vila knows)")
            continue
        person_id, active = found
        if not active:
            reject(f"{ref} is deactivated")
            continue
        if not may_schedule(person_id):
            reject(f"{ref} is not in a group whose schedule you keep")
            continue
        try:
            start = parse_instant(values.get("start", ""), zone)
        except ValueError as exc:
            reject(f"start {exc}")
            continue
        try:
            end = parse_instant(values.get("end", ""), zone)
        except ValueError as exc:
            reject(f"end {exc}")
            continue
        if end <= start:
            reject("the shift ends before it starts")
            continue
        if end - start > MAX_SHIFT:
            reject(f"the shift is longer than {int(MAX_SHIFT.total_seconds() // 3600)} hours")
            continue
        code = values.get("unit", "")
        unit_id = units.get(code) if code else None
        if code and unit_id is None:
            reject(f"unknown unit {code!r}")
            continue
        shift_type = values.get("shift_type") or None
        if shift_type is not None and len(shift_type) > 50:
            reject("the shift type is longer than 50 characters")
            continue
        parsed.append(_Row(line, ref, person_id, start, end, unit_id, shift_type))

    # Overlaps inside the file.
    by_person: dict[uuid.UUID, list[_Row]] = {}
    for row in parsed:
        by_person.setdefault(row.person_id, []).append(row)
    clean: list[_Row] = []
    for rows in by_person.values():
        rows.sort(key=lambda r: (r.start, r.line))
        previous: _Row | None = None
        for row in rows:
            if previous is not None and row.start < previous.end:
                if (row.start, row.end) == (previous.start, previous.end):
                    report.rejected.append(Rejected(row.line, f"repeats line {previous.line}", row.ref))
                else:
                    report.rejected.append(Rejected(row.line, f"overlaps the shift on line {previous.line}", row.ref))
                continue
            clean.append(row)
            previous = row

    # Against stored shifts: the same shift is unchanged; any other overlap is rejected.
    existing: dict[uuid.UUID, list[Shift]] = {}
    if clean:
        first = min(r.start for r in clean)
        last = max(r.end for r in clean)
        ids = list(by_person)
        for shift in session.scalars(
            select(Shift).where(
                Shift.person_id.in_(ids),
                Shift.planned_start < last,
                func.coalesce(Shift.actual_end, Shift.planned_end) > first,
            )
        ):
            existing.setdefault(shift.person_id, []).append(shift)
    writes: list[tuple[_Row, Shift | None]] = []
    for row in sorted(clean, key=lambda r: r.line):
        same: Shift | None = None
        clash: Shift | None = None
        for shift in existing.get(row.person_id, []):
            if (_utc(shift.planned_start), _utc(shift.planned_end)) == (row.start, row.end):
                same = shift
            elif _utc(shift.planned_start) < row.end and _utc(shift.end) > row.start:
                clash = shift
        if clash is not None:
            report.rejected.append(
                Rejected(
                    row.line,
                    f"overlaps a stored shift {_utc(clash.planned_start):%Y-%m-%d %H:%M}-"
                    f"{_utc(clash.end):%Y-%m-%d %H:%M} UTC",
                    row.ref,
                )
            )
            continue
        writes.append((row, same))
    report.rejected.sort(key=lambda r: r.line)

    # Counted before writing, as they would be written, so a dry run previews the outcome.
    _count(report, writes)
    if report.rejected or dry_run:
        return report
    for row, same in writes:
        if same is None or (same.unit_id, same.shift_type) != (row.unit_id, row.shift_type):
            emit(session, AvailabilityChanged(row.person_id), at=now)
        if same is None:
            session.add(
                Shift(
                    person_id=row.person_id,
                    planned_start=row.start,
                    planned_end=row.end,
                    kind="planned",
                    unit_id=row.unit_id,
                    shift_type=row.shift_type,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif (same.unit_id, same.shift_type) != (row.unit_id, row.shift_type):
            same.unit_id, same.shift_type, same.updated_at = row.unit_id, row.shift_type, now
    report.written = True
    session.flush()
    return report


def _count(report: ImportReport, writes: list[tuple[_Row, Shift | None]]) -> None:
    for row, same in writes:
        if same is None:
            report.created += 1
        elif (same.unit_id, same.shift_type) != (row.unit_id, row.shift_type):
            report.updated += 1
        else:
            report.unchanged += 1


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The reader's records; a file the csv module cannot read is a MalformedFile, with its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise MalformedFile(f"line {reader.line_num}: not readable as CSV ({exc})") from None
