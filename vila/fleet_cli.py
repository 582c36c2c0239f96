"""`vila fleet ...`: the device fleet from the command line (imports for now)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kernel.settings import Settings


@click.group()
def fleet() -> None:
    """The device fleet: the region's phones and tablets."""


@fleet.command("import")
@click.option(
    "--intune",
    "intune_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Intune's device export (Devices > All devices > Export), CSV.",
)
@click.option(
    "--subscriptions",
    "subscriptions_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The operator's subscription list, CSV: number,operator,plan,monthly_cost,cost_centre[,extension,serial].",
)
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(intune_file: Path | None, subscriptions_file: Path | None, dry_run: bool, as_json: bool) -> None:
    """Import a file into the fleet register: every row or none. Exits 1 when rows are rejected."""
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from notify.fleet import intune, subscriptions
    from notify.fleet.imports import MalformedFile, decode
    from notify.fleet.lifecycle import By

    path = intune_file or subscriptions_file
    if path is None or (intune_file is not None and subscriptions_file is not None):
        raise click.UsageError("give either --intune FILE or --subscriptions FILE")
    importer = intune.import_intune if intune_file else subscriptions.import_subscriptions
    try:
        settings = Settings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            data = decode(path.read_bytes())
            report = importer(
                session=session,
                data=data,
                by=By.system(f"vila fleet import {path.name}"),
                now=SystemClock().now(),
                dry_run=dry_run,
            )
    except MalformedFile as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        done = "imported" if report.written else "checked, nothing written"
        click.echo(
            f"{path.name}: {report.rows} rows {done}: {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged, {report.skipped} skipped"
        )
        for warning in report.warnings:
            click.echo(f"  line {warning.line} ({warning.ref}): {warning.text}")
        for rejected in report.rejected:
            click.echo(f"  line {rejected.line} ({rejected.ref}): REJECTED {rejected.reason}", err=True)
    if report.rejected:
        raise SystemExit(1)
