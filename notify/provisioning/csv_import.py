"""Import of people, groups and memberships from CSV, for regions without SCIM (an HR system's export).

    people        name,email,external_id,profession,employment_type,employee_number,department,manager
    groups        name,external_id,parent
    memberships   group,person

`manager` and `person` are an e-mail address or an external id; `parent` and `group` a group's
external id, code or (when unambiguous) name, of a stored group or one earlier in the same file.
Only the columns a file has are written (a person's columns are then provisioned: Vila's pages
show them as coming from the HR system). A person or group already stored (by e-mail or external
id) is updated, and is `unchanged` when nothing differs, so importing a file twice changes nothing.

All or nothing, like the shift import (whose CSV reading it shares): every row is checked first;
if any is rejected nothing is written and the report says which lines and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.directory.models import Group, GroupMember, Person
from kernel.directory.service import BUILT_IN, PersonDefaults
from kernel.errors import VilaError
from notify.fleet.lifecycle import By
from notify.provisioning import batch, people
from notify.provisioning import groups as provisioned_groups
from policies.shift_import import ImportReport, MalformedFile, Rejected, read_csv

Kind = Literal["people", "groups", "memberships"]
KINDS: tuple[Kind, ...] = ("people", "groups", "memberships")
COLUMNS: dict[str, tuple[str, ...]] = {
    "people": ("name", "email", "external_id", "profession", "employment_type", "employee_number", "department",
               "manager"),
    "groups": ("name", "external_id", "parent"),
    "memberships": ("group", "person"),
}  # fmt: skip
REQUIRED: dict[str, tuple[str, ...]] = {
    "people": ("name", "email"),
    "groups": ("name",),
    "memberships": ("group", "person"),
}
MAX_ROWS = 50_000
ACTION = "import"

__all__ = ["KINDS", "ImportReport", "MalformedFile", "import_csv"]


def import_csv(
    *, session: Session, kind: Kind, data: str, provisioned: frozenset[str], by: By, now: datetime,
    progress: Callable[[int, int], None] | None = None, defaults: PersonDefaults = BUILT_IN,
) -> ImportReport:  # fmt: skip
    """Check every row, then (when none is rejected) write them. The caller commits when `written`.
    New people get the installation's time zone and language (`defaults`)."""
    header, rows = read_csv(data, columns=COLUMNS[kind], required=REQUIRED[kind], max_rows=MAX_ROWS)
    report = ImportReport(rows=len(rows))
    if kind == "people":
        _people(session, header, rows, provisioned, by, now, report, progress, defaults)
    elif kind == "groups":
        _groups(session, rows, by, now, report)
    else:
        _memberships(session, rows, by, now, report)
    report.written = not report.rejected
    return report


def _person_ref(session: Session, ref: str) -> uuid.UUID | None:
    value = ref.strip()
    return session.scalar(select(Person.id).where(or_(Person.email == value.lower(), Person.external_id == value)))


def _group_ref(session: Session, ref: str) -> uuid.UUID | None:
    value = ref.strip()
    found = session.scalars(
        select(Group.id).where(or_(Group.external_id == value, Group.code == value, Group.name == value)).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _people(
    session: Session,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    provisioned: frozenset[str],
    by: By,
    now: datetime,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
    defaults: PersonDefaults,
) -> None:
    fields = [c for c in COLUMNS["people"] if c in header and c != "manager"]
    if "manager" in header:
        fields.append("manager_id")
    written = frozenset(fields) & (provisioned | {"name", "email"})
    new: list[tuple[int, dict[str, Any]]] = []
    updates: list[tuple[int, Person, dict[str, Any]]] = []
    emails = {v["email"].lower() for _, v in rows if v.get("email")}
    stored = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(emails)))} if emails else {}
    file_people = {v["email"].lower(): line for line, v in rows if v.get("email")}
    later: list[tuple[int, str, str]] = []  # (line, person, manager): both new in this file
    for line, values in rows:
        data: dict[str, Any] = {k: values.get(k) or None for k in fields if k != "manager_id"}
        ref = values.get("email", "")
        if "manager_id" in fields and values.get("manager"):
            manager = _person_ref(session, values["manager"])
            if manager is None and values["manager"].lower() in file_people:
                later.append((line, ref.lower(), values["manager"].lower()))
                data["manager_id"] = None
            elif manager is None:
                report.rejected.append(Rejected(line, f"unknown manager {values['manager']}", ref))
                continue
            else:
                data["manager_id"] = manager
        elif "manager_id" in fields:
            data["manager_id"] = None
        person = stored.get(ref.lower())
        if person is None and data.get("external_id"):
            person = session.scalar(select(Person).where(Person.external_id == data["external_id"]))
        if person is None:
            new.append((line, data))
        else:
            updates.append((line, person, data))
    for done, (line, person, data) in enumerate(updates, start=1):
        try:
            changed = people.apply(session=session, person=person, values=data, provisioned=written, by=by,
                                   now=now, action=f"{ACTION}.person")  # fmt: skip
        except VilaError as exc:
            report.rejected.append(Rejected(line, exc.message, person.email))
            continue
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if progress is not None and done % 500 == 0:
            progress(done, len(rows))
    outcome = batch.create_people(session=session, rows=new, provisioned=written, by=by, now=now,
                                  action=f"{ACTION}.person", defaults=defaults)  # fmt: skip
    report.rejected += [Rejected(r.row, r.reason, r.ref) for r in outcome.refused]
    report.created = len(outcome.ids)
    if later and not report.rejected:
        wanted = {e for _, who, boss in later for e in (who, boss)}
        by_email = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(wanted)))}
        for line, person_email, manager_email in later:
            member, boss = by_email.get(person_email), by_email.get(manager_email)
            if member is None or boss is None or member.id == boss.id:
                report.rejected.append(Rejected(line, f"cannot make {manager_email} the manager", person_email))
            else:
                member.manager_id = boss.id
        session.flush()
    report.rejected.sort(key=lambda r: r.line)
    if progress is not None:
        progress(len(rows), len(rows))


def _groups(session: Session, rows: list[tuple[int, dict[str, str]]], by: By, now: datetime,
            report: ImportReport) -> None:  # fmt: skip
    in_file: dict[str, uuid.UUID] = {}
    for line, values in rows:
        name, external_id = values.get("name", ""), values.get("external_id") or None
        parent: uuid.UUID | None = None
        if values.get("parent"):
            parent = in_file.get(values["parent"]) or _group_ref(session, values["parent"])
            if parent is None:
                report.rejected.append(Rejected(line, f"unknown parent group {values['parent']}", name))
                continue
        existing = session.scalar(select(Group).where(Group.external_id == external_id)) if external_id else None
        try:
            if existing is not None:
                before = (existing.name, existing.parent_id, existing.active)
                provisioned_groups.update(session=session, group=existing, name=name, external_id=external_id,
                                          parent_id=parent, by=by, now=now, action=f"{ACTION}.group")  # fmt: skip
                if before == (existing.name, existing.parent_id, existing.active):
                    report.unchanged += 1
                else:
                    report.updated += 1
                group_id = existing.id
            else:
                group_id = provisioned_groups.create(session=session, name=name, external_id=external_id,
                                                     parent_id=parent, member_ids=[], by=by, now=now,
                                                     action=f"{ACTION}.group").id  # fmt: skip
                report.created += 1
        except VilaError as exc:
            report.rejected.append(Rejected(line, exc.message, name))
            continue
        for key in (external_id, name):
            if key:
                in_file[key] = group_id


def _memberships(session: Session, rows: list[tuple[int, dict[str, str]]], by: By, now: datetime,
                 report: ImportReport) -> None:  # fmt: skip
    pairs: list[tuple[int, uuid.UUID, uuid.UUID]] = []
    for line, values in rows:
        group = _group_ref(session, values.get("group", ""))
        person = _person_ref(session, values.get("person", ""))
        if group is None:
            report.rejected.append(
                Rejected(line, f"unknown or ambiguous group {values.get('group')}", values.get("person", ""))
            )
        if person is None:
            report.rejected.append(Rejected(line, f"unknown person {values.get('person')}", values.get("person", "")))
        if group is not None and person is not None:
            pairs.append((line, group, person))
    if report.rejected:
        return
    before = session.scalar(select(func.count()).select_from(GroupMember)) or 0
    outcome = batch.add_memberships(session=session, pairs=pairs, by=by, now=now, action=f"{ACTION}.group")
    report.rejected += [Rejected(r.row, r.reason) for r in outcome.refused]
    after = session.scalar(select(func.count()).select_from(GroupMember)) or 0
    report.created = int(after) - int(before)
    report.unchanged = len(pairs) - report.created
