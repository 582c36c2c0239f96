"""The audit log's hash chain: every record holds the hash of its canonical content and of the record
before it, so a record changed, removed or slipped in afterwards breaks the chain where it happened.

Appends are serialised so the chain never forks: on PostgreSQL a transaction-scoped advisory lock is
taken before the previous record is read and held until commit; SQLite has one writer at a time. A
unique `prev_hash` makes a fork impossible even for a writer that skips the lock: it fails instead.

The canonical form is a stored contract: records already written are verified with it, so it
changes only together with a migration that re-chains the log.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kernel.audit.models import AuditRecord
from kernel.db import bulk_insert

GENESIS = "0" * 64  # the `prev_hash` of the first record
# One fixed key for pg_advisory_xact_lock ("vilaaudt" as a 64-bit integer); nothing else uses it.
_APPEND_LOCK = int.from_bytes(b"vilaaudt", "big") - (1 << 63)
_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "source_ip",
    "request_id",
    "method",
    "path",
    "before",
    "after",
)


class Chained(Protocol):
    """What the chain reads of a record: an ORM row or a plain database row alike."""

    id: int
    at: datetime
    actor_id: Any
    actor_label: str
    action: str
    target_type: str
    target_id: str | None
    source_ip: str | None
    request_id: str | None
    method: str | None
    path: str | None
    before: Any
    after: Any


def normal(value: Any) -> Any:
    """JSON as the database gives it back: PostgreSQL's jsonb returns a whole float (11.0, 1e20) in
    forms that json reads as an int, so whole floats are ints here, before hashing and storing."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    return value


def canonical(record: Chained) -> bytes:
    """The bytes a record's hash covers: every field, in one fixed JSON form."""
    body: dict[str, Any] = {name: getattr(record, name) for name in _FIELDS}
    body["at"] = record.at.astimezone(UTC).isoformat(timespec="microseconds")
    body["actor_id"] = str(record.actor_id) if record.actor_id is not None else None
    body["before"], body["after"] = normal(record.before), normal(record.after)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(prev_hash: str, record: Chained) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(record)).hexdigest()


def append(session: Session, entry: AuditRecord) -> AuditRecord:
    """Give `entry` its id and place in the chain, and write it (flushed, not committed)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    last = session.execute(select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)).first()
    if postgres:
        entry.id = int(session.scalar(text("SELECT nextval(pg_get_serial_sequence('audit_record', 'id'))")) or 0)
    else:
        entry.id = (last.id if last else 0) + 1
    entry.before, entry.after = normal(entry.before), normal(entry.after)
    entry.prev_hash = last.hash if last else GENESIS
    entry.hash = seal(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def append_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Chain and write many records (an import's) in one statement: the same lock, ids and hashes
    as `append` gives them one at a time, in the order given. Each row has every field but the
    id and the hashes."""
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    last = session.execute(select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)).first()
    if postgres:
        ids = sorted(
            int(i)
            for i in session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('audit_record', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            )
        )
    else:
        first = (last.id if last else 0) + 1
        ids = list(range(first, first + len(rows)))
    prev = last.hash if last else GENESIS
    chained: list[dict[str, Any]] = []
    for record_id, row in zip(ids, rows, strict=True):
        record = {**row, "id": record_id, "before": normal(row["before"]), "after": normal(row["after"])}
        record["prev_hash"], record["hash"] = prev, seal(prev, SimpleNamespace(**record))
        prev = record["hash"]
        chained.append(record)
    bulk_insert(session, AuditRecord, chained)


@dataclass(frozen=True)
class Break:
    record_id: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of walking the chain: how far it held, and the first record where it did not."""

    records: int
    head_id: int | None
    head_hash: str | None
    broken: Break | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def check(records: Iterable[Chained | AuditRecord], *, after: tuple[int, str] | None = None) -> Verdict:
    """Walk records in id order from the start of the chain (or from `after`, a record id and hash
    already checked) and stop at the first that does not fit."""
    count = 0
    prev_id, prev_hash = after if after else (None, GENESIS)
    for record in records:
        stored_prev, stored_hash = getattr(record, "prev_hash", None), getattr(record, "hash", None)
        if stored_prev != prev_hash:
            where = f"record {prev_id}" if prev_id is not None else "the start of the log"
            return Verdict(
                count,
                prev_id,
                prev_hash,
                Break(record.id, f"it does not follow {where}: a record before it was removed or inserted"),
            )
        if stored_hash != seal(prev_hash, record):
            return Verdict(
                count,
                prev_id,
                prev_hash,
                Break(record.id, "its content does not match its hash: it was changed after it was written"),
            )
        count += 1
        prev_id, prev_hash = record.id, stored_hash
    return Verdict(count, prev_id, prev_hash if prev_id is not None else None)


def verify(session: Session, *, batch: int = 2000, anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk the whole chain in the database. With `anchor` (a record id and the hash it had when
    someone noted it down outside the database), also prove that record still has that hash, so a
    chain recomputed from scratch by whoever can write the table is caught too."""
    total, last = 0, None
    while True:
        stmt = select(AuditRecord).order_by(AuditRecord.id).limit(batch)
        if last is not None:
            stmt = stmt.where(AuditRecord.id > last[0])
        rows = list(session.scalars(stmt))
        verdict = check(rows, after=last)
        total += verdict.records
        session.expunge_all()
        if verdict.broken is not None:
            return Verdict(total, verdict.head_id, verdict.head_hash, verdict.broken)
        if not rows:
            break
        last = (rows[-1].id, rows[-1].hash)
    head = Verdict(total, last[0] if last else None, last[1] if last else None)
    if anchor is not None:
        noted = session.scalar(select(AuditRecord.hash).where(AuditRecord.id == anchor[0]))
        if noted != anchor[1]:
            what = "is gone" if noted is None else "has another hash now"
            return Verdict(total, head.head_id, head.head_hash, Break(anchor[0], f"the anchored record {what}"))
    return head
