"""Subscriptions: the operator's list imported as CSV, and edits to one subscription.

The operator's list, one subscription per row, with a header naming the columns (comma or
semicolon separated, any order, Vila's own column names):

    number,operator,plan,monthly_cost,cost_centre,extension,serial
    070-123 45 67,Telia,Jobbmobil 10 GB,249.00,KC-4711,4512,F2LXK1ABC123
    +46701234568;Tele2;Företag Bas;"199,50";KC-4711;;

`number` (any Swedish or international form; stored as E.164), `operator`, `plan`, `monthly_cost`
(kronor, `249`, `249.00` or `249,00`) and `cost_centre` are required columns (a cost centre may be
empty). `extension` (the internal extension, 2 to 8 digits) and `serial` (the asset the SIM card
is in) are optional. A known number is updated; a new one is added. A number Vila has ended that
is still on the operator's list is kept ended and reported as a warning: the operator still bills
it. Rejected: a number that is not a phone number, a number twice in the file, a cost that is not
an amount, an unknown serial number, an extension that is not digits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import bulk_insert, bulk_update, new_id
from kernel.errors import Conflict, InvalidInput, NotFound
from notify.fleet import identifiers
from notify.fleet.imports import AuditEntry, Report, among_text, audit_rows, read
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Subscription
from notify.fleet.schemas import SubscriptionUpdate

COLUMNS = ("number", "operator", "plan", "monthly_cost", "cost_centre", "extension", "serial")
REQUIRED = ("number", "operator", "plan", "monthly_cost", "cost_centre")
_FIELDS = ("operator", "plan", "monthly_cost_ore", "cost_centre", "extension", "asset_id")
CHUNK = 5000


def import_subscriptions(*, session: Session, data: str, by: By, now: datetime, dry_run: bool = False) -> Report:
    """Check every row, then write all of them or none (see the module's docstring)."""
    records = read(data, required=REQUIRED, known=COLUMNS)
    report = Report(rows=len(records))
    serials = {v.get("serial", "") for _, v in records} - {""}
    assets: dict[str, uuid.UUID] = {}
    listed = list(serials)
    for i in range(0, len(listed), CHUNK):
        assets.update(
            session.execute(
                select(Asset.serial, Asset.id).where(among_text(session, Asset.serial, listed[i : i + CHUNK]))
            ).all()
        )
    rows: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, v in records:
        ref = v.get("number", "")
        try:
            number = identifiers.phone_number(ref)
            cost = identifiers.ore(v.get("monthly_cost", ""))
            extension = identifiers.extension(v["extension"]) if v.get("extension") else None
        except ValueError as exc:
            report.reject(line, ref, str(exc))
            continue
        if number in seen:
            report.reject(line, ref, f"{number} repeats line {seen[number]}")
            continue
        seen[number] = line
        operator, plan, centre = v.get("operator", ""), v.get("plan", ""), v.get("cost_centre", "")
        if not operator or not plan:
            report.reject(line, ref, "operator and plan must not be empty")
            continue
        if len(operator) > 64 or len(plan) > 100 or len(centre) > 32:
            report.reject(line, ref, "operator (64), plan (100) or cost centre (32 characters) is too long")
            continue
        serial = v.get("serial", "")
        if serial and serial not in assets:
            report.reject(line, ref, f"no asset with serial number {serial!r} in the register")
            continue
        values = {
            "operator": operator,
            "plan": plan,
            "monthly_cost_ore": cost,
            "cost_centre": centre or None,
            "extension": extension,
            "asset_id": assets.get(serial) if serial else None,
        }
        rows.append((line, number, values))
    if report.rejected:
        return report
    stored: dict[str, dict[str, Any]] = {}
    numbers = [n for _, n, _ in rows]
    for i in range(0, len(numbers), CHUNK):
        for row in session.execute(
            select(
                Subscription.id,
                Subscription.number,
                Subscription.ended_at,
                *(getattr(Subscription, f) for f in _FIELDS),
            ).where(Subscription.number.in_(numbers[i : i + CHUNK]))
        ):
            stored[row.number] = dict(row._mapping)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    entries: list[AuditEntry] = []
    for line, number, values in rows:
        old = stored.get(number)
        if old is None:
            report.created += 1
            sid = new_id()
            inserts.append({"id": sid, "number": number, **values, "created_at": now, "updated_at": now})
            entries.append(
                ("fleet.subscription.create", "subscription", str(sid), None, {"number": number, **_json(values)})
            )
            continue
        if old["ended_at"] is not None:
            report.warn(line, number, f"ended in Vila on {old['ended_at']:%Y-%m-%d} but still on the operator's list")
        if values["asset_id"] is None:
            values["asset_id"] = old["asset_id"]  # no serial given: it stays where it is
        changed = {f: values[f] for f in _FIELDS if values[f] != old[f]}
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        updates.append({"id": old["id"], **values, "updated_at": now})
        before = {f: _plain(old[f]) for f in changed}
        entries.append(("fleet.subscription.update", "subscription", str(old["id"]), before, _json(changed)))
    if dry_run:
        return report
    bulk_insert(session, Subscription, inserts)
    bulk_update(session, Subscription, updates)
    summary = {k: v for k, v in report.as_dict().items() if k not in ("rejected", "warnings")}
    entries.append(("fleet.import.subscriptions", "import", None, None, summary))
    audit_rows(session, by=by, now=now, entries=entries)
    report.written = True
    return report


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in values.items()}


def require(*, session: Session, subscription_id: uuid.UUID) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription with id {subscription_id}")
    return sub


def update(*, session: Session, sub: Subscription, data: SubscriptionUpdate, by: By, now: datetime) -> Subscription:
    """Move a subscription to another asset, or change its plan, cost, cost centre or extension."""
    changes = data.model_dump(exclude_unset=True)
    if "asset_id" in changes and changes["asset_id"] is not None and session.get(Asset, changes["asset_id"]) is None:
        raise InvalidInput(f"no asset with id {changes['asset_id']}")
    if sub.ended_at is not None:
        raise Conflict(f"the subscription {sub.number} was ended on {sub.ended_at:%Y-%m-%d}")
    before = sub.snapshot()
    if "monthly_cost" in changes:
        cost = changes.pop("monthly_cost")
        if cost is None:
            raise InvalidInput("monthly_cost cannot be empty")
        sub.monthly_cost_ore = identifiers.ore(cost)
    for key, value in changes.items():
        if value is None and key == "plan":
            raise InvalidInput("plan cannot be empty")
        setattr(sub, key, value)
    sub.updated_at = now
    session.flush()
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action="fleet.subscription.update",
        target_type="subscription",
        target_id=sub.id,
        meta=by.meta,
        before=before,
        after=sub.snapshot(),
    )
    return sub


def list_all(*, session: Session, active: bool = True, asset_id: uuid.UUID | None = None) -> list[Subscription]:
    stmt = select(Subscription)
    if active:
        stmt = stmt.where(Subscription.ended_at.is_(None))
    if asset_id is not None:
        stmt = stmt.where(Subscription.asset_id == asset_id)
    return list(session.scalars(stmt.order_by(Subscription.number).limit(5000)).all())
