"""What the fleet's CSV imports share: reading the file, the per-row report, and set-based writes.

Both imports are all-or-nothing, like the shift import: every row is checked first; if any is
rejected nothing is written and the report says which rows and why. A row that matches a stored
one (the same serial number, the same phone number) updates it, so importing a file twice changes
nothing the second time. Rows are written set-based (`bulk_insert`, `bulk_update`): one statement
per table, whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kernel.audit import service as audit
from notify.fleet.lifecycle import By

MAX_ROWS = 50_000
AuditEntry = audit.Entry


class MalformedFile(ValueError):
    """The file as a whole cannot be read (empty, no header, missing columns, too many rows)."""


@dataclass(frozen=True)
class Rejected:
    line: int
    ref: str
    reason: str


@dataclass(frozen=True)
class RowWarning:
    line: int
    ref: str
    text: str


@dataclass
class Report:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    written: bool = False
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)

    def reject(self, line: int, ref: str, reason: str) -> None:
        self.rejected.append(Rejected(line, ref, reason))

    def warn(self, line: int, ref: str, text: str) -> None:
        self.warnings.append(RowWarning(line, ref, text))

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "written": self.written,
            "rejected": [{"line": r.line, "ref": r.ref, "reason": r.reason} for r in self.rejected],
            "warnings": [{"line": w.line, "ref": w.ref, "text": w.text} for w in self.warnings],
        }


def among_text(session: Session, column: Any, values: Sequence[str]) -> Any:
    """`column IN values` for text, as one array parameter on PostgreSQL (as `kernel.db.among`
    does for ids): ten thousand serial numbers cost one bind, not ten thousand rendered ones."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import String, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(String())))
    return column.in_(list(values))


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 (what Intune writes), or Windows-1252 (what older Swedish Excel writes)."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MalformedFile("the file is neither UTF-8 nor Windows-1252 text")


def read(data: str, *, required: Sequence[str], known: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows as {lower-case column: stripped value} with their line numbers. Comma or semicolon
    separated (Swedish Excel writes semicolons); a byte-order mark is ignored."""
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
        raise MalformedFile(
            f"the header lacks the column(s) {', '.join(missing)}; expected at least {', '.join(required)} "
            f"(known: {', '.join(known)})"
        )
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    for record in _records(reader):
        if len(rows) >= MAX_ROWS:
            raise MalformedFile(f"an import holds at most {MAX_ROWS:,} rows; split the file")
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if any(values.values()):
            rows.append((reader.line_num, values))
    return rows


def audit_rows(session: Session, *, by: By, now: datetime, entries: Sequence[AuditEntry]) -> None:
    """Audit records for many changes, chained into the log in one statement."""
    audit.record_many(
        session=session, now=now, actor_id=by.person_id, actor_label=by.label, meta=by.meta, entries=entries
    )


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The reader's records; a file the csv module cannot read is a MalformedFile, with its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise MalformedFile(f"line {reader.line_num}: not readable as CSV ({exc})") from None
