"""`vila directory ...`: people and groups from the command line: CSV imports and the provisioning token."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kernel.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc


@click.group()
def directory() -> None:
    """People and groups: imports and provisioning from the identity system."""


@directory.command("import")
@click.argument("kind", type=click.Choice(["people", "groups", "memberships"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(kind: str, path: Path, dry_run: bool, as_json: bool) -> None:
    """Import people, groups or memberships from CSV (docs/directory.md): every row or none. Exits 1
    when rows are rejected."""
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory
    from kernel.directory.fields import parse_fields
    from kernel.directory.service import PersonDefaults
    from notify.fleet.imports import decode
    from notify.fleet.lifecycle import By
    from notify.provisioning import csv_import

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)

    def progress(done: int, total: int) -> None:
        if not as_json:
            click.echo(f"  {done:,} of {total:,} rows", err=True)

    try:
        with make_session_factory(engine)() as session:
            report = csv_import.import_csv(
                session=session,
                kind=kind,  # type: ignore[arg-type]  # click admits only the three kinds
                data=decode(path.read_bytes()),
                provisioned=parse_fields(settings.provisioned_fields),
                by=By.system(f"vila directory import {path.name}"),
                now=SystemClock().now(),
                progress=progress,
                defaults=PersonDefaults.of(settings),
            )
            if report.written and not dry_run:
                session.commit()
            else:
                session.rollback()
                report.written = False
    except csv_import.MalformedFile as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        done = "imported" if report.written else "checked, nothing written"
        click.echo(
            f"{path.name}: {report.rows} rows {done}: {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged"
        )
        for rejected in report.rejected:
            click.echo(f"  line {rejected.line} ({rejected.person}): REJECTED {rejected.reason}", err=True)
    if report.rejected:
        raise SystemExit(1)


@directory.command("scim-token")
@click.option(
    "--email", default="scim@provisioning.vila.se", show_default=True, help="The provisioning account's address."
)
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650), help="The token's lifetime.")
def scim_token(email: str, days: int) -> None:
    """Issue a token for the identity system's provisioning (SCIM at /scim/v2): an account of the
    `integration` role only, whose tokens are good for nothing else. Prints the secret once."""
    from datetime import timedelta

    from kernel.auth.service import issue_token
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from kernel.directory import service as directory_service
    from kernel.directory.schemas import PersonCreate

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    now = SystemClock().now()
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            account = directory_service.person_by_email(session=session, email=email)
            if account is None:
                account = directory_service.create_person(
                    session=session,
                    data=PersonCreate(name="Provisioning (SCIM)", email=email, roles=["integration"]),
                    now=now,
                )
            elif account.roles != ["integration"]:
                raise click.ClickException(f"{email} is a person with other roles; use an address of its own")
            _, secret = issue_token(session=session, person=account, now=now, name="scim", ttl=timedelta(days=days))
    finally:
        engine.dispose()
    click.echo(f"Tenant URL: {settings.base_url.rstrip('/')}/scim/v2")
    click.echo(f"Secret token: {secret}")
