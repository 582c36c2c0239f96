"""Many people, groups and memberships at once (SCIM bulk requests, CSV imports): every row is
checked first, and only when none is refused is anything written, set-based (one statement per
table, the audit records chained in one). A refused row is reported with its position and why."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import among, bulk_insert, is_postgres, new_id
from kernel.directory.models import Group, GroupMember, Person
from kernel.directory.service import BUILT_IN, PersonDefaults
from kernel.errors import VilaError
from notify.fleet.lifecycle import By
from notify.provisioning import people
from notify.provisioning.groups import code_for


def _among_text(session: Session, column: Any, values: Sequence[str]) -> Any:
    """`column IN values` for text, as one array parameter on PostgreSQL (`kernel.db.among` is for ids)."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(String())))
    return column.in_(list(values))


@dataclass(frozen=True)
class Refused:
    row: int  # the caller's numbering (a file's line, a bulk operation's index)
    reason: str
    ref: str = ""


@dataclass
class Outcome:
    ids: list[uuid.UUID] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def create_people(
    *,
    session: Session,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    provisioned: frozenset[str],
    by: By,
    now: datetime,
    action: str,
    defaults: PersonDefaults = BUILT_IN,
) -> Outcome:
    """New people from (row number, provisioned values). A manager may be a stored person or one
    created in the same batch (by its id given in `manager_id`). All or nothing. Without a time zone
    or language, a person gets `defaults` (VILA_DEFAULT_TIMEZONE, VILA_DEFAULT_LANGUAGE)."""
    outcome = Outcome()
    cleaned: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple[str, str], int] = {}
    for row, values in rows:
        try:
            data = people.clean(values)
        except VilaError as exc:
            outcome.refused.append(Refused(row, exc.message, str(values.get("email") or "")))
            continue
        for key in ("email", "external_id"):
            value = data.get(key)
            if value is not None and (key, value) in seen:
                outcome.refused.append(Refused(row, f"{key} {value} is also in row {seen[(key, value)]}", value))
            elif value is not None:
                seen[(key, value)] = row
        cleaned.append((row, data))
    emails = [d["email"] for _, d in cleaned]
    externals = [d["external_id"] for _, d in cleaned if d.get("external_id")]
    taken = set(session.scalars(select(Person.email).where(_among_text(session, Person.email, emails))))
    taken_ext = (
        set(session.scalars(select(Person.external_id).where(_among_text(session, Person.external_id, externals))))
        if externals
        else set()
    )
    fresh_ids = {row: new_id() for row, _ in cleaned}
    managers = [d["manager_id"] for _, d in cleaned if d.get("manager_id")]
    known = set(session.scalars(select(Person.id).where(among(session, Person.id, managers)))) if managers else set()
    for row, data in cleaned:
        if data["email"] in taken:
            outcome.refused.append(Refused(row, f"a person with email {data['email']} already exists", data["email"]))
        if data.get("external_id") in taken_ext:
            outcome.refused.append(Refused(row, f"a person with external_id {data['external_id']} already exists"))
        if data.get("manager_id") and data["manager_id"] not in known:
            outcome.refused.append(Refused(row, f"unknown manager {data['manager_id']}"))
    if outcome.refused:
        outcome.refused.sort(key=lambda r: r.row)
        return outcome
    records: list[dict[str, Any]] = []
    deactivated: list[uuid.UUID] = []
    for row, data in cleaned:
        pid = fresh_ids[row]
        inactive = data.get("active") is False and "active" in provisioned
        record = {
            "id": pid,
            "name": data["name"],
            "email": data["email"],
            **people.first_settings(data, defaults),
            "roles": ["staff"],
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for key in ("external_id", "profession", "employment_type", "employee_number", "department", "manager_id"):
            record[key] = data.get(key) if key in provisioned else None
        record["provisioned"] = sorted(k for k in {*data, "active"} if k in provisioned)
        records.append(record)
        outcome.ids.append(pid)
        if inactive:
            deactivated.append(pid)
    # Managers first: a person's manager may be created in the same batch.
    without_manager = [{**r, "manager_id": None} for r in records]
    bulk_insert(session, Person, without_manager)
    managed = [r for r in records if r["manager_id"]]
    for r in managed:
        session.get(Person, r["id"]).manager_id = r["manager_id"]  # type: ignore[union-attr]
    _audit(
        session, by=by, now=now, entries=[(f"{action}.create", "person", str(r["id"]), None, _snap(r)) for r in records]
    )
    for pid in deactivated:
        person = session.get(Person, pid)
        if person is not None:
            people.deactivate(session=session, person=person, by=by, now=now)
    session.flush()
    return outcome


def _snap(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("name", "email", "timezone", "profession", "language", "roles", "active", "employee_number",
            "department", "employment_type", "manager_id")  # fmt: skip
    return {k: (str(record[k]) if isinstance(record.get(k), uuid.UUID) else record.get(k)) for k in keys}


def _audit(session: Session, *, by: By, now: datetime, entries: list[audit.Entry]) -> None:
    audit.record_many(
        session=session, now=now, actor_id=by.person_id, actor_label=by.label, meta=by.meta, entries=entries
    )


@dataclass(frozen=True)
class GroupRow:
    row: int
    name: str
    external_id: str | None = None
    parent_id: uuid.UUID | None = None
    id: uuid.UUID | None = None


def create_groups(*, session: Session, rows: Sequence[GroupRow], by: By, now: datetime, action: str) -> Outcome:
    """New provisioned groups (their parents stored already or earlier in the batch). All or nothing."""
    outcome = Outcome()
    externals = [r.external_id for r in rows if r.external_id]
    taken = (
        set(session.scalars(select(Group.external_id).where(_among_text(session, Group.external_id, externals))))
        if externals
        else set()
    )
    seen: set[str] = set()
    batch_ids = {r.id for r in rows if r.id}
    parents = [r.parent_id for r in rows if r.parent_id]
    known = set(session.scalars(select(Group.id).where(among(session, Group.id, parents)))) if parents else set()
    for r in rows:
        if not r.name.strip() or len(r.name.strip()) > 200:
            outcome.refused.append(Refused(r.row, "a group's name must have 1 to 200 characters", r.name))
        if r.external_id and (r.external_id in taken or r.external_id in seen):
            outcome.refused.append(Refused(r.row, f"a group with externalId {r.external_id} already exists"))
        if r.external_id:
            seen.add(r.external_id)
        if r.parent_id and r.parent_id not in known and r.parent_id not in batch_ids:
            outcome.refused.append(Refused(r.row, f"unknown parent group {r.parent_id}"))
    if outcome.refused:
        return outcome
    records: list[dict[str, Any]] = [
        {
            "id": r.id or new_id(),
            "name": r.name.strip(),
            "code": code_for(r.name),
            "kind": "unit" if r.parent_id else "administration",
            "parent_id": r.parent_id,
            "active": True,
            "external_id": r.external_id,
            "provisioned": True,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
    ]
    # Parents before children: a parent in the batch is inserted in an earlier statement.
    done: set[uuid.UUID] = set()
    pending = records
    while pending:
        ready = [r for r in pending if r["parent_id"] is None or r["parent_id"] in done or r["parent_id"] in known]
        if not ready:
            outcome.refused.append(Refused(rows[0].row, "the groups' parents form a loop"))
            return outcome
        bulk_insert(session, Group, ready)
        done |= {r["id"] for r in ready}
        pending = [r for r in pending if r["id"] not in done]
    outcome.ids = [r["id"] for r in records]
    snap = ("name", "code", "kind", "parent_id", "active")
    _audit(
        session,
        by=by,
        now=now,
        entries=[
            (
                f"{action}.create",
                "group",
                str(r["id"]),
                None,
                {k: str(r[k]) if r[k] is not None and k == "parent_id" else r[k] for k in snap},
            )
            for r in records
        ],
    )
    return outcome


def add_memberships(
    *, session: Session, pairs: Sequence[tuple[int, uuid.UUID, uuid.UUID]], by: By, now: datetime, action: str
) -> Outcome:
    """(row, group, person) memberships; ones that exist already change nothing. All or nothing."""
    outcome = Outcome()
    group_ids = list({g for _, g, _ in pairs})
    person_ids = list({p for _, _, p in pairs})
    groups = set(session.scalars(select(Group.id).where(among(session, Group.id, group_ids)))) if group_ids else set()
    found = (
        set(session.scalars(select(Person.id).where(among(session, Person.id, person_ids)))) if person_ids else set()
    )
    for row, g, p in pairs:
        if g not in groups:
            outcome.refused.append(Refused(row, f"unknown group {g}"))
        if p not in found:
            outcome.refused.append(Refused(row, f"unknown person {p}"))
    if outcome.refused or not pairs:
        return outcome
    existing = {
        (g, p)
        for g, p in session.execute(
            select(GroupMember.group_id, GroupMember.person_id).where(among(session, GroupMember.group_id, group_ids))
        )
    }
    new = sorted({(g, p) for _, g, p in pairs} - existing)
    bulk_insert(session, GroupMember, [{"group_id": g, "person_id": p} for g, p in new])
    by_group: dict[uuid.UUID, list[str]] = {}
    for g, p in new:
        by_group.setdefault(g, []).append(str(p))
    _audit(
        session,
        by=by,
        now=now,
        entries=[
            (f"{action}.members", "group", str(g), None, {"added": added, "removed": []})
            for g, added in by_group.items()
        ],
    )
    return outcome
