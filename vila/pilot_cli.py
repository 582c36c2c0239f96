"""`vila pilot`: the pilot evaluations from the command line, for the board's papers and other tools."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session


@click.group()
def pilot() -> None:
    """Pilot evaluations: list them, write a pilot's report."""


@contextmanager
def _session() -> Iterator[Session]:
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from kernel.settings import Settings

    try:
        settings = Settings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@pilot.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (code, name, period, status, counts).")
def list_command(as_json: bool) -> None:
    """The pilots, newest first."""
    from pilot import pilots

    with _session() as session:
        rows = [pilots.read(session=session, pilot=p) for p in pilots.list_pilots(session=session)]
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no pilots yet")
    for r in rows:
        click.echo(
            f"{r.code:20} {r.start_date} – {r.end_date}  {r.status:9} {r.participants} participants, "
            f"{r.comparison} in the comparison group  {r.name}"
        )


@pilot.command("report")
@click.argument("ref", metavar="PILOT")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json"]), default="html", show_default=True)
@click.option("--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="The reader's language.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: stdout).",
)
def report_command(ref: str, fmt: str, lang: str, output: Path | None) -> None:
    """Write the report of PILOT (its code or id) for the board."""
    from kernel.clock import SystemClock
    from kernel.errors import VilaError
    from pilot import pilots
    from pilot.costs.fleet_register import FleetRegister
    from pilot.report import as_json, html, pdf
    from pilot.report.build import build

    with _session() as session:
        try:
            found = pilots.require(session=session, ref=ref)
        except VilaError as exc:
            raise click.ClickException(exc.message) from exc
        built = build(session=session, pilot=found, now=SystemClock().now(), fleet=FleetRegister())
    if fmt == "pdf":
        data = pdf.to_pdf(built, lang)
        if output is None and sys.stdout.isatty():
            raise click.ClickException("a PDF does not belong on a terminal: give --output FILE or redirect stdout")
    elif fmt == "html":
        data = html.document(built, lang).encode()
    else:
        data = (json.dumps(as_json.to_dict(built), ensure_ascii=False, indent=2) + "\n").encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)
