"""Import of Microsoft Intune's device export (Devices > All devices > Export, a CSV file).

Intune's own column names; the ones Vila reads:

    Device ID, Device name, Serial number, IMEI, Manufacturer, Model, OS, Ownership,
    Primary user UPN, Primary user email address, Last check-in

`Serial number`, `IMEI`, `Model`, `Last check-in` and `Primary user UPN` must be present as columns
(a value may be empty: a Wi-Fi tablet has no IMEI, a device in stock no user). The enrolled user
is matched to a person by e-mail address or external id. Rows whose `OS` is not iOS, iPadOS or
Android (PCs in the same export) are skipped. A new serial number is registered: assigned to its
enrolled user, or in stock without one. A known serial number has its hardware facts, account
state and last check-in brought up to date; who has it stays as Vila's register says, and a
different enrolled user is reported as a warning. Rejected (and nothing written): an empty serial
number, a serial number twice in the file, an IMEI with a wrong check digit or belonging to
another asset, an unknown user, an unreadable check-in time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.db import among, bulk_insert, bulk_update, new_id
from kernel.directory.models import Person
from notify.fleet import identifiers
from notify.fleet.assets import units_of
from notify.fleet.imports import AuditEntry, Report, among_text, audit_rows, read
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Assignment

COLUMNS = (
    "Device ID",
    "Device name",
    "Serial number",
    "IMEI",
    "Manufacturer",
    "Model",
    "OS",
    "Ownership",
    "Primary user UPN",
    "Primary user email address",
    "Last check-in",
)
REQUIRED = ("serial number", "imei", "model", "last check-in", "primary user upn")
CHUNK = 5000
_FIELDS = ("model", "manufacturer", "imei", "mdm_id", "managed_account", "last_check_in_at")


@dataclass
class _Row:
    line: int
    serial: str
    values: dict[str, Any]
    person_id: uuid.UUID | None
    user: str
    active: bool


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = list(values)
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def check_in(value: str) -> datetime | None:
    """Intune writes UTC as `2026-11-20 07:12:44.0000000`; ISO 8601 with an offset is read too."""
    text = value.strip()
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00")[:26] if "T" in text else text[:19])
    except ValueError:
        raise ValueError(f"last check-in {text!r} is not a date and time") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _kind(os_name: str, model: str) -> str:
    if os_name == "ipados" or model.lower().startswith("ipad") or " tab" in f" {model.lower()}":
        return "tablet"
    return "phone"


def _account(ownership: str) -> str:
    return {"corporate": "managed", "personal": "personal"}.get(ownership.lower(), "unknown")


def _people(session: Session, refs: set[str]) -> dict[str, tuple[uuid.UUID, bool]]:
    found: dict[str, tuple[uuid.UUID, bool]] = {}
    for chunk in _chunks(refs):
        for pid, email, external, active in session.execute(
            select(Person.id, Person.email, Person.external_id, Person.active).where(
                or_(
                    among_text(session, func.lower(Person.email), chunk), among_text(session, Person.external_id, chunk)
                )
            )
        ):
            found[email.lower()] = (pid, active)
            if external:
                found[external.lower()] = (pid, active)
    return found


def import_intune(*, session: Session, data: str, by: By, now: datetime, dry_run: bool = False) -> Report:
    """Check every row, then write all of them or none (see the module's docstring)."""
    records = read(data, required=REQUIRED, known=COLUMNS)
    report = Report(rows=len(records))
    refs = {(v.get("primary user upn") or v.get("primary user email address", "")).lower() for _, v in records}
    people = _people(session, refs - {""})
    rows: list[_Row] = []
    serial_line: dict[str, int] = {}
    imei_line: dict[str, int] = {}
    for line, v in records:
        serial = v.get("serial number", "")
        if not serial:
            report.reject(line, "", "the Serial number column is empty")
            continue
        if len(serial) > 64:
            report.reject(line, serial, "the serial number is longer than 64 characters")
            continue
        os_name = v.get("os", "").lower()
        if os_name and not (os_name in ("ios", "ipados") or os_name.startswith("android")):
            report.skipped += 1
            continue
        if serial in serial_line:
            report.reject(line, serial, f"serial number {serial} repeats line {serial_line[serial]}")
            continue
        serial_line[serial] = line
        try:
            imei = identifiers.imei(v["imei"]) if v.get("imei") else None
            checked_in = check_in(v.get("last check-in", ""))
        except ValueError as exc:
            report.reject(line, serial, str(exc))
            continue
        if imei is not None and imei in imei_line:
            report.reject(line, serial, f"IMEI {imei} repeats line {imei_line[imei]}")
            continue
        if imei is not None:
            imei_line[imei] = line
        model = v.get("model", "")[:100]
        if not model:
            report.reject(line, serial, "the Model column is empty")
            continue
        user = v.get("primary user upn") or v.get("primary user email address", "")
        person = people.get(user.lower()) if user else None
        if user and person is None:
            report.reject(line, serial, f"unknown person {user!r}: no one in Vila has that e-mail address or id")
            continue
        values = {
            "model": model,
            "manufacturer": v.get("manufacturer", "")[:100] or None,
            "imei": imei,
            "mdm_id": v.get("device id", "")[:64] or None,
            "managed_account": _account(v.get("ownership", "")),
            "last_check_in_at": checked_in,
            "kind": _kind(os_name, model),
        }
        pid, active = person if person else (None, False)
        rows.append(_Row(line, serial, values, pid, user, active))
    existing = _existing(session, [r.serial for r in rows])
    owners = _imei_owners(session, [r.values["imei"] for r in rows if r.values["imei"]])
    for row in rows:
        owner = owners.get(row.values["imei"]) if row.values["imei"] else None
        if owner is not None and owner != row.serial:
            report.reject(row.line, row.serial, f"IMEI {row.values['imei']} belongs to the asset {owner}")
    report.rejected.sort(key=lambda r: r.line)
    if report.rejected:
        return report
    _plan(session, report, rows, existing, by=by, now=now, write=not dry_run)
    return report


def _existing(session: Session, serials: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(serials):
        for row in session.execute(
            select(Asset.id, Asset.serial, *(getattr(Asset, f) for f in _FIELDS)).where(
                among_text(session, Asset.serial, chunk)
            )
        ):
            found[row.serial] = dict(row._mapping)
    if found:
        ids = [f["id"] for f in found.values()]
        holders: dict[uuid.UUID, uuid.UUID | None] = {}
        for i in range(0, len(ids), CHUNK):
            holders.update(
                session.execute(
                    select(Assignment.asset_id, Assignment.person_id).where(
                        among(session, Assignment.asset_id, ids[i : i + CHUNK]), Assignment.ended_at.is_(None)
                    )
                ).all()
            )
        for f in found.values():
            f["holder"] = holders.get(f["id"])
    return found


def _imei_owners(session: Session, imeis: list[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for chunk in _chunks(imeis):
        for imei, serial in session.execute(
            select(Asset.imei, Asset.serial).where(among_text(session, Asset.imei, chunk))
        ):
            if imei is not None:
                owners[imei] = serial
    return owners


def _plan(
    session: Session,
    report: Report,
    rows: list[_Row],
    existing: dict[str, dict[str, Any]],
    *,
    by: By,
    now: datetime,
    write: bool,
) -> None:
    """Count what each row does and, unless it is a dry run, write it all set-based."""
    new_assets: list[dict[str, Any]] = []
    new_assignments: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    entries: list[AuditEntry] = []
    units = units_of(session, {r.person_id for r in rows if r.person_id and r.active and r.serial not in existing})
    for row in rows:
        stored = existing.get(row.serial)
        if stored is None:
            report.created += 1
            assign = row.person_id is not None and row.active
            if row.person_id is not None and not row.active:
                report.warn(row.line, row.serial, f"{row.user} has left: registered in stock; collect the device")
            asset_id = new_id()
            state = "assigned" if assign else "in_stock"
            new_assets.append(
                {
                    "id": asset_id,
                    "serial": row.serial,
                    **row.values,
                    "state": state,
                    "state_since": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            entries.append(("fleet.asset.create", "asset", str(asset_id), None, _json(row, "in_stock")))
            if assign:
                new_assignments.append(
                    {
                        "id": new_id(),
                        "asset_id": asset_id,
                        "kind": "assignment",
                        "person_id": row.person_id,
                        "cost_unit_id": units.get(row.person_id),  # type: ignore[arg-type]  # assign implies a person
                        "started_at": now,
                    }
                )
                holder = {"kind": "assignment", "person_id": str(row.person_id), "group_id": None, "role": None}
                after = {"state": "assigned", "holder": holder, "note": "Intune import"}
                entries.append(("fleet.asset.assign", "asset", str(asset_id), {"state": "in_stock"}, after))
            continue
        changed = {f: row.values[f] for f in _FIELDS if row.values[f] != stored[f]}
        if stored["holder"] != row.person_id and row.person_id is not None:
            report.warn(row.line, row.serial, f"Intune's enrolled user is {row.user}; Vila's register says otherwise")
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        updates.append({"id": stored["id"], **{f: row.values[f] for f in _FIELDS}, "updated_at": now})
        before = {f: _plain(stored[f]) for f in changed}
        entries.append(
            ("fleet.asset.update", "asset", str(stored["id"]), before, {f: _plain(v) for f, v in changed.items()})
        )
    if not write:
        return
    bulk_insert(session, Asset, new_assets)
    bulk_insert(session, Assignment, new_assignments)
    bulk_update(session, Asset, updates)
    summary = {k: v for k, v in report.as_dict().items() if k not in ("rejected", "warnings")}
    entries.append(("fleet.import.intune", "import", None, None, summary))
    audit_rows(session, by=by, now=now, entries=entries)
    report.written = True


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _json(row: _Row, state: str) -> dict[str, Any]:
    return {"serial": row.serial, **{k: _plain(v) for k, v in row.values.items()}, "state": state}
