"""Importing Intune's device export and the operator's subscription list: idempotent, all or
nothing, and every bad row reported without writing any."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit import chain
from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory import service as directory
from notify.fleet import intune, subscriptions
from notify.fleet.imports import MalformedFile
from notify.fleet.models import Asset, Assignment, Subscription
from tests.factories import Factory
from tests.fleet_helpers import IT, valid_imei

# The columns of Intune's export (Devices > All devices > Export), in its order, a subset.
INTUNE = [
    "Device ID",
    "Device name",
    "Enrollment date",
    "Last check-in",
    "Azure AD Device ID",
    "OS version",
    "Serial number",
    "Manufacturer",
    "Model",
    "IMEI",
    "Primary user UPN",
    "Primary user email address",
    "Primary user display name",
    "Compliance",
    "Managed by",
    "Ownership",
    "OS",
    "Phone number",
]


def intune_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=INTUNE)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in INTUNE})
    return out.getvalue()


def device(n: int, upn: str = "", **extra: str) -> dict[str, str]:
    return {
        "Device ID": f"0b5c{n:04d}-1111-2222-3333-444455556666",
        "Device name": f"RE-MOB-{n:04d}",
        "Last check-in": "2026-11-20 07:12:44.0000000",
        "Serial number": f"R58N{n:06d}",
        "Manufacturer": "samsung",
        "Model": "SM-G556B",
        "IMEI": valid_imei(f"3520990017{n:04d}"),
        "Primary user UPN": upn,
        "Primary user email address": upn,
        "Managed by": "Intune",
        "Ownership": "Corporate",
        "OS": "Android",
        **extra,
    }


def _counts(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Asset)) or 0,
            s.scalar(select(func.count()).select_from(Assignment)) or 0,
            s.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        )


def _import(session_factory: sessionmaker[Session], clock: ManualClock, data: str, **kw: bool) -> intune.Report:
    with unit_of_work(session_factory) as s:
        return intune.import_intune(session=s, data=data, by=IT, now=clock.now(), **kw)


def test_intune_import_registers_assigns_and_is_idempotent(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anna = make.person(name="Anna Intune")
    rows = [
        device(1, anna.email.upper()),  # UPNs come in any case
        device(2),  # in stock: nobody enrolled
        device(3, "", OS="iPadOS", Model="iPad (10th generation)", IMEI="", Ownership="Personal"),
        device(4, "", OS="Windows", Model="Latitude 7450"),  # a PC: skipped
    ]
    report = _import(session_factory, clock, intune_csv(rows))
    assert (report.rows, report.created, report.updated, report.unchanged, report.skipped) == (4, 3, 0, 0, 1)
    assert report.written and not report.rejected
    with session_factory() as s:
        stored = {a.serial: a for a in s.scalars(select(Asset))}
        assert {a.serial: (a.kind, a.state, a.managed_account) for a in stored.values()} == {
            "R58N000001": ("phone", "assigned", "managed"),
            "R58N000002": ("phone", "in_stock", "managed"),
            "R58N000003": ("tablet", "in_stock", "personal"),
        }
        assert stored["R58N000001"].last_check_in_at is not None
        assert stored["R58N000001"].mdm_id == "0b5c0001-1111-2222-3333-444455556666"
        holder = s.scalars(select(Assignment).where(Assignment.asset_id == stored["R58N000001"].id)).one()
        assert holder.person_id == anna.id
        actions = sorted(s.scalars(select(AuditRecord.action).where(AuditRecord.action.like("fleet.%"))))
    assert actions == ["fleet.asset.assign", *["fleet.asset.create"] * 3, "fleet.import.intune"]
    with session_factory() as s:
        assert chain.verify(s).intact, "the import's audit records are chained like every other"
    before = _counts(session_factory)

    again = _import(session_factory, clock, intune_csv(rows))
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 3, 1)
    assert _counts(session_factory)[:2] == before[:2]  # no duplicates

    clock.advance(timedelta(days=1))
    rows[0]["Last check-in"] = "2026-11-24T08:00:00Z"
    rows[1]["Model"] = "SM-G556B/DS"
    third = _import(session_factory, clock, intune_csv(rows))
    assert (third.created, third.updated, third.unchanged) == (0, 2, 1)
    with session_factory() as s:
        assert s.scalar(select(Asset.model).where(Asset.serial == "R58N000002")) == "SM-G556B/DS"
        update = s.scalars(select(AuditRecord).where(AuditRecord.action == "fleet.asset.update")).all()
        assert {tuple(sorted((u.after or {}).keys())) for u in update} == {("last_check_in_at",), ("model",)}
    assert _counts(session_factory)[:2] == before[:2]
    with session_factory() as s:
        verdict = chain.verify(s)
    assert verdict.intact and verdict.records == _counts(session_factory)[2]


def test_bad_rows_are_all_reported_and_nothing_is_written(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anna = make.person()
    _import(session_factory, clock, intune_csv([device(9, anna.email)]))
    before = _counts(session_factory)
    good_imei = valid_imei("35209900170001")
    bad_imei = good_imei[:-1] + str((int(good_imei[-1]) + 1) % 10)
    rows = [
        device(1, anna.email),  # good
        device(2, anna.email, IMEI=bad_imei),  # wrong check digit
        device(3, "nobody@exempel.se"),  # unknown person
        device(1, anna.email, IMEI=valid_imei("35209900170003")),  # serial twice in the file
        device(5, anna.email, IMEI=device(9)["IMEI"]),  # IMEI of another asset
        device(6, anna.email, **{"Last check-in": "yesterday"}),
        device(7, anna.email, **{"Serial number": ""}),
    ]
    report = _import(session_factory, clock, intune_csv(rows))
    assert not report.written
    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "wrong check digit" in reasons[3]
    assert "unknown person 'nobody@exempel.se'" in reasons[4]
    assert "repeats line 2" in reasons[5]
    assert "belongs to the asset R58N000009" in reasons[6]
    assert "not a date and time" in reasons[7]
    assert "Serial number column is empty" in reasons[8]
    assert _counts(session_factory) == before  # not even the good row, not even an audit record


def test_a_leaver_s_device_is_registered_in_stock_with_a_warning(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    gone = make.person()
    with unit_of_work(session_factory) as s:
        directory.deactivate_person(
            session=s, person=directory.require_person(session=s, person_id=gone.id), now=clock.now()
        )
    report = _import(session_factory, clock, intune_csv([device(1, gone.email)]))
    assert report.written and "has left" in report.warnings[0].text
    with session_factory() as s:
        assert s.scalar(select(Asset.state)) == "in_stock"


def test_a_dry_run_and_a_file_without_the_columns_write_nothing(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    report = _import(session_factory, clock, intune_csv([device(1)]), dry_run=True)
    assert (report.created, report.written) == (1, False)
    assert _counts(session_factory) == (0, 0, 0)
    with pytest.raises(MalformedFile, match="lacks the column"):
        _import(session_factory, clock, "Serial number,Model\nX1,Y\n")


OPERATOR = "number,operator,plan,monthly_cost,cost_centre,extension,serial\n"


def _subs(session_factory: sessionmaker[Session], clock: ManualClock, data: str) -> intune.Report:
    with unit_of_work(session_factory) as s:
        return subscriptions.import_subscriptions(session=s, data=data, by=IT, now=clock.now())


def test_the_operator_list_attaches_numbers_updates_and_reports_what_vila_ended(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    _import(session_factory, clock, intune_csv([device(1), device(2)]))
    data = OPERATOR + (
        "070-123 45 67,Telia,Jobbmobil 10 GB,249.00,KC-4711,4512,R58N000001\n"
        '+46701234568,Tele2,Företag Bas,"199,50",KC-4711,,\n'
    )
    report = _subs(session_factory, clock, data)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    with session_factory() as s:
        first = s.scalars(select(Subscription).where(Subscription.number == "+46701234567")).one()
        assert (first.monthly_cost_ore, first.extension, first.cost_centre) == (24900, "4512", "KC-4711")
        assert first.asset_id == s.scalar(select(Asset.id).where(Asset.serial == "R58N000001"))
    again = _subs(session_factory, clock, data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with unit_of_work(session_factory) as s:
        ended = s.scalars(select(Subscription).where(Subscription.number == "+46701234568")).one()
        ended.ended_at = clock.now()
    semicolons = data.replace(",", ";").replace('"199;50"', "199,50").replace("249.00", "259.00")
    third = _subs(session_factory, clock, semicolons)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert [w.ref for w in third.warnings] == ["+46701234568"] and "still on the operator's list" in third.warnings[
        0
    ].text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 2


def test_bad_operator_rows_are_reported_and_nothing_is_written(
    session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    data = OPERATOR + (
        "070-123 45 67,Telia,Jobbmobil,249,KC-1,,\n"
        "12,Telia,Jobbmobil,249,KC-1,,\n"
        "070-123 45 67,Telia,Jobbmobil,249,KC-1,,\n"
        "070-765 43 21,Telia,Jobbmobil,gratis,KC-1,,\n"
        "070-765 43 22,Telia,Jobbmobil,249,KC-1,,NO-SUCH-SERIAL\n"
        "070-765 43 23,Telia,Jobbmobil,249,KC-1,ank,\n"
    )
    report = _subs(session_factory, clock, data)
    assert [r.line for r in report.rejected] == [3, 4, 5, 6, 7] and not report.written
    assert "not a valid phone number" in report.rejected[0].reason
    assert "repeats line 2" in report.rejected[1].reason
    assert "not an amount" in report.rejected[2].reason
    assert "NO-SUCH-SERIAL" in report.rejected[3].reason
    assert "extension" in report.rejected[4].reason
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 0


def test_vila_fleet_import_from_the_command_line(
    make: Factory, session_factory: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    anna = make.person()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILA_")} | {"VILA_DATABASE_URL": db_url}
    devices_file = tmp_path / "intune.csv"
    devices_file.write_text(intune_csv([device(1, anna.email), device(2)]), encoding="utf-8")
    listing = tmp_path / "operator.csv"
    listing.write_text(OPERATOR + "0701234567;Telia;Bas;199;KC-1;;R58N000001\n".replace(";", ","), encoding="cp1252")

    def vila(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "vila.cli", "fleet", "import", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    first = vila("--intune", str(devices_file))
    assert first.returncode == 0, first.stderr
    assert "2 rows imported: 2 new, 0 changed, 0 unchanged" in first.stdout
    again = vila("--intune", str(devices_file), "--json")
    assert json.loads(again.stdout)["unchanged"] == 2
    subs = vila("--subscriptions", str(listing))
    assert subs.returncode == 0 and "1 new" in subs.stdout, subs.stderr
    devices_file.write_text(intune_csv([device(3, "okand@exempel.se")]), encoding="utf-8")
    bad = vila("--intune", str(devices_file))
    assert bad.returncode == 1 and "REJECTED unknown person" in bad.stderr
    assert vila().returncode == 2  # neither file: a usage error
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 2


def test_the_import_benchmark_counts_what_it_imported() -> None:
    from tools.bench.fleet_import import run

    result = run(database_url=None, assets=50)
    assert (result["created"], result["unchanged_on_reimport"], result["stored"], result["assigned"]) == (
        50,
        50,
        50,
        45,
    )
