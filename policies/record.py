"""A person's own rest record ("Min vilotid"): their rest periods in a calendar year, the contacts
that broke them, compensatory rest owed and granted, and the weekly-rest and jour findings.

Kept for the current year and the two before it, whatever message retention is set to: the rest
ledger and its periods name a message only by id, and the retention job never deletes them.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time
from typing import Any

import pytz
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory.service import names_of
from kernel.spreadsheet import SafeWriter
from policies import rest_records
from policies.core.wallclock import local_date, wall_instant
from policies.findings import finding_rows, findings_for
from policies.models import RestLedgerEntry

KEPT_YEARS = 3  # the current calendar year plus two


def record_years(current: int) -> list[int]:
    """The years a record is kept and shown for, newest first."""
    return [current - n for n in range(KEPT_YEARS)]


def _local(zone: str, instant: datetime | None) -> str | None:
    if instant is None:
        return None
    tz = pytz.timezone(zone)
    return tz.normalize(instant.astimezone(tz)).isoformat(timespec="minutes")


def _contact(zone: str, entry: RestLedgerEntry, senders: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "at": _local(zone, entry.at),
        "kind": entry.kind,
        "priority": entry.priority,
        "states": list(entry.states),
        "on_call": entry.on_call,
        "reason": entry.reason,
        "sender": senders.get(entry.sender_id) if entry.sender_id else None,
        "restarts_rest": entry.restarts_rest,
        "compensatory_minutes": entry.compensatory_minutes,
        "granted_minutes": entry.granted_minutes,
    }


def own_record(*, session: Session, person_id: uuid.UUID, year: int, zone: str, now: datetime) -> dict[str, Any]:
    """The record of one calendar year (local to `zone`), as plain data for JSON, CSV and the page."""
    since = wall_instant(zone, date(year, 1, 1), time(0, 0))
    until = wall_instant(zone, date(year + 1, 1, 1), time(0, 0))
    periods = rest_records.periods_of(session=session, person_id=person_id, since=since, until=until)
    in_periods = {e.id for _, entries in periods for e in entries}
    loose = [
        e
        for e in session.scalars(
            select(RestLedgerEntry)
            .where(RestLedgerEntry.person_id == person_id, RestLedgerEntry.at >= since, RestLedgerEntry.at < until)
            .order_by(RestLedgerEntry.at.desc())
        )
        if e.id not in in_periods and e.period_id is None
    ]
    senders = names_of(
        session=session,
        person_ids={e.sender_id for _, es in periods for e in es if e.sender_id}
        | {e.sender_id for e in loose if e.sender_id},
    )
    out_periods = []
    owed = granted = 0
    for row, entries in periods:
        period_granted = sum(e.granted_minutes for e in entries)
        owed += row.compensatory_minutes
        granted += period_granted
        out_periods.append(
            {
                "start": _local(zone, row.start_at),
                "end": _local(zone, row.end_at),
                "kind": row.kind,
                "required_minutes": row.required_minutes,
                "rest_minutes": row.rest_minutes,
                "last_contact": _local(zone, row.last_contact_at),
                "compensatory_minutes": row.compensatory_minutes,
                "granted_minutes": period_granted,
                "compensatory_due": row.compensatory_due.isoformat() if row.compensatory_due else None,
                "contacts": [_contact(zone, e, senders) for e in entries],
            }
        )
    for entry in loose:
        owed += entry.compensatory_minutes
        granted += entry.granted_minutes
    found = findings_for(session=session, person_ids=[person_id], since=since, until=until)
    findings = finding_rows(found)
    for finding in findings:
        finding["start"] = _local(zone, datetime.fromisoformat(str(finding["start"])))
        finding["end"] = _local(zone, datetime.fromisoformat(str(finding["end"])))
    return {
        "person_id": str(person_id),
        "year": year,
        "years": record_years(local_date(zone, now).year),
        "zone": zone,
        "periods": out_periods,
        "other_contacts": [_contact(zone, e, senders) for e in loose],
        "owed_minutes": owed,
        "granted_minutes": granted,
        "outstanding_minutes": max(0, owed - granted),
        "findings": findings,
    }


CSV_HEADER = [
    "row",
    "period_start",
    "period_end",
    "period_kind",
    "required_minutes",
    "rest_minutes",
    "owed_minutes",
    "granted_minutes",
    "compensatory_due",
    "contact_at",
    "contact_kind",
    "priority",
    "states",
    "reason",
    "sender",
    "contact_share_minutes",
    "finding_detail",
]


def record_csv(record: dict[str, Any]) -> str:
    """The record as one CSV table: a row per contact (with its period), then a row per finding."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_HEADER)
    for p in record["periods"]:
        for c in p["contacts"]:
            writer.writerow(
                [
                    "contact",
                    p["start"],
                    p["end"] or "",
                    p["kind"],
                    p["required_minutes"],
                    "" if p["rest_minutes"] is None else p["rest_minutes"],
                    p["compensatory_minutes"],
                    p["granted_minutes"],
                    p["compensatory_due"] or "",
                    c["at"],
                    c["kind"],
                    c["priority"],
                    " ".join(c["states"]),
                    c["reason"] or "",
                    c["sender"] or "",
                    c["compensatory_minutes"],
                    "",
                ]
            )
    for c in record["other_contacts"]:
        writer.writerow(
            [
                "contact_at_work",
                *([""] * 8),
                c["at"],
                c["kind"],
                c["priority"],
                " ".join(c["states"]),
                c["reason"] or "",
                c["sender"] or "",
                c["compensatory_minutes"],
                "",
            ]
        )
    for f in record["findings"]:
        detail = (
            f"longest rest {f['longest_rest_minutes']} of {f['required_minutes']} min ({f['cause']})"
            if f["kind"] == "weekly_rest"
            else f"{f['hours']} h of jour, limit {f['limit_hours']} h ({f['period']})"
        )
        writer.writerow([f["kind"], f["start"], f["end"], f["period"], *([""] * 12), detail])
    return out.getvalue()
