"""The compliance report HR reads: after-hours contacts per week and group, overrides per sender,
broken rest periods per week, compensatory rest owed and overdue (the sum of the rest periods'
figures), weekly rest and jour findings, and the policy versions that took effect.

Everything is derived from the rest ledger (grouped into rest periods), the schedules and the
policy versions; nothing here writes.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory.models import Group, GroupMember, Person
from kernel.spreadsheet import SafeWriter, xlsx
from kernel.timezones import zone
from policies.findings import findings_for
from policies.models import RestLedgerEntry, RestPolicy, RestPolicyVersion

OVERRIDE_KINDS = ("override", "emergency")
NO_GROUP = "—"


@dataclass
class ComplianceReport:
    since: datetime
    until: datetime
    weeks: list[str]
    after_hours: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> week -> contacts
    overrides: list[tuple[str, int]] = field(default_factory=list)  # (sender, count), most first
    broken_rest: dict[str, int] = field(default_factory=dict)  # week -> count
    owed_minutes: int = 0
    granted_minutes: int = 0
    overdue_minutes: int = 0
    overdue_entries: int = 0
    policy_changes: list[dict[str, object]] = field(default_factory=list)
    # Findings (ATL 14 weekly rest, jour limits), as numbers of people per group: never names.
    weekly_rest: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> week -> people
    jour_limits: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> basis -> people


def week_of(instant: datetime, tz: str) -> str:
    year, week, _ = instant.astimezone(zone(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def _weeks(since: datetime, until: datetime, tz: str) -> list[str]:
    weeks: list[str] = []
    cursor = since
    while cursor < until:
        label = week_of(cursor, tz)
        if label not in weeks:
            weeks.append(label)
        cursor += timedelta(days=1)
    return weeks


def _unit_of(session: Session, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each person's unit (the group of kind `unit` they belong to), else their first group."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(GroupMember.person_id, Group.name, Group.kind)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.person_id.in_(list(person_ids)))
        .order_by(Group.name)
    ).all()
    units: dict[uuid.UUID, str] = {}
    first: dict[uuid.UUID, str] = {}
    for person_id, name, kind in rows:
        first.setdefault(person_id, name)
        if kind == "unit":
            units.setdefault(person_id, name)
    return first | units


def compliance(
    *,
    session: Session,
    since: datetime,
    until: datetime,
    today: date,
    tz: str,
    person_ids: set[uuid.UUID] | None = None,
) -> ComplianceReport:
    """The report for [since, until), in the reader's time zone; `today` decides what is overdue."""
    conditions = [RestLedgerEntry.at >= since, RestLedgerEntry.at < until]
    if person_ids is not None:
        conditions.append(RestLedgerEntry.person_id.in_(list(person_ids)))
    entries = list(session.scalars(select(RestLedgerEntry).where(*conditions).order_by(RestLedgerEntry.at)).all())
    report = ComplianceReport(since=since, until=until, weeks=_weeks(since, until, tz))
    units = _unit_of(session, {e.person_id for e in entries})
    senders: Counter[uuid.UUID | None] = Counter()
    periods_counted: set[uuid.UUID] = set()
    for entry in entries:
        week = week_of(entry.at, tz)
        group = units.get(entry.person_id, NO_GROUP)
        per_week = report.after_hours.setdefault(group, {})
        per_week[week] = per_week.get(week, 0) + 1
        if entry.kind in OVERRIDE_KINDS:
            senders[entry.sender_id] += 1
        # Broken rest is counted per rest period: two calls in one night broke one rest.
        broken = entry.period_id if entry.period_id is not None else entry.id
        if entry.restarts_rest and broken not in periods_counted:
            periods_counted.add(broken)
            report.broken_rest[week] = report.broken_rest.get(week, 0) + 1
        report.owed_minutes += entry.compensatory_minutes
        report.granted_minutes += entry.granted_minutes
        outstanding = entry.compensatory_minutes - entry.granted_minutes
        if outstanding > 0 and entry.compensatory_due is not None and entry.compensatory_due < today:
            report.overdue_minutes += outstanding
            report.overdue_entries += 1
    names = dict(
        session.execute(
            select(Person.id, Person.name).where(Person.id.in_([s for s in senders if s is not None]))
        ).all()
    )
    report.overrides = sorted(
        ((names.get(s, NO_GROUP) if s else NO_GROUP, n) for s, n in senders.items()), key=lambda x: (-x[1], x[0])
    )
    versions = session.execute(
        select(RestPolicyVersion, RestPolicy.name)
        .join(RestPolicy, RestPolicy.id == RestPolicyVersion.policy_id)
        .where(RestPolicyVersion.created_at >= since, RestPolicyVersion.created_at < until)
        .order_by(RestPolicyVersion.created_at)
    ).all()
    _add_findings(session, report, person_ids, tz)
    report.policy_changes = [
        {
            "policy": name,
            "version": v.version,
            "effective_from": v.effective_from.isoformat(),
            "created_at": v.created_at.isoformat(),
            "approval_note": v.approval_note,
        }
        for v, name in versions
    ]
    return report


def _add_findings(session: Session, report: ComplianceReport, person_ids: set[uuid.UUID] | None, tz: str) -> None:
    """Weekly rest missing and jour above its limits in the report's weeks, people per group."""
    people = person_ids if person_ids is not None else set(session.scalars(select(Person.id)))
    found = findings_for(session=session, person_ids=people, since=report.since, until=report.until)
    units = _unit_of(session, set(found))
    for pid, findings in found.items():
        group = units.get(pid, NO_GROUP)
        for w in findings.weekly_rest:
            label = week_of(w.start + timedelta(days=3), tz)  # the middle of the week: no zone edge cases
            if label in report.weeks:
                per_week = report.weekly_rest.setdefault(group, {})
                per_week[label] = per_week.get(label, 0) + 1
        for basis in sorted({j.basis for j in findings.jour}):
            per_basis = report.jour_limits.setdefault(group, {})
            per_basis[basis] = per_basis.get(basis, 0) + 1


def table_rows(report: ComplianceReport, table: str) -> list[list[object]]:
    """One of the report's tables, header first: after-hours, overrides, broken-rest,
    compensatory, weekly-rest, jour-limits, policy-changes."""
    if table == "after-hours":
        rows: list[list[object]] = [["group", *report.weeks]]
        for group, per_week in sorted(report.after_hours.items()):
            rows.append([group, *(per_week.get(w, 0) for w in report.weeks)])
        return rows
    if table == "overrides":
        return [["sender", "overrides"], *([s, n] for s, n in report.overrides)]
    if table == "broken-rest":
        return [["week", "broken_rest"], *([w, report.broken_rest.get(w, 0)] for w in report.weeks)]
    if table == "compensatory":
        return [
            ["owed_minutes", "granted_minutes", "overdue_minutes", "overdue_entries"],
            [report.owed_minutes, report.granted_minutes, report.overdue_minutes, report.overdue_entries],
        ]
    if table == "weekly-rest":
        rows = [["group", *report.weeks]]
        for group, per_week in sorted(report.weekly_rest.items()):
            rows.append([group, *(per_week.get(w, 0) for w in report.weeks)])
        return rows
    if table == "jour-limits":
        rows = [["group", "people_over_48h_in_four_weeks", "people_over_50h_in_a_month"]]
        for group, per_basis in sorted(report.jour_limits.items()):
            rows.append([group, per_basis.get("four_weeks", 0), per_basis.get("month", 0)])
        return rows
    if table == "policy-changes":
        keys = ("policy", "version", "effective_from", "created_at", "approval_note")
        return [list(keys), *([c[k] for k in keys] for c in report.policy_changes)]
    raise ValueError(table)


def to_csv(report: ComplianceReport, table: str) -> str:
    """One of the report's tables as CSV for Swedish Excel (`kernel.spreadsheet`)."""
    out = io.StringIO()
    SafeWriter(out).writerows(table_rows(report, table))
    return out.getvalue()


def to_xlsx(report: ComplianceReport, table: str) -> bytes:
    """One of the report's tables as an .xlsx file."""
    return xlsx(table_rows(report, table), sheet=table)
