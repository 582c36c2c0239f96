"""`vila ledger`: the rest ledger from the command line (regrouping it into rest periods)."""

from __future__ import annotations

import click


@click.group()
def ledger() -> None:
    """The rest ledger: contacts during rest and the compensatory rest they created."""


@ledger.command("recompute")
def recompute() -> None:
    """Regroup every ledger entry into rest periods and correct its compensatory minutes.

    Lost rest is counted once per rest period (from the last contact to the next start of work);
    entries written when each contact was counted alone are corrected. The change is audited.
    """
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from kernel.settings import Settings
    from policies.rest_records import recompute_audited

    try:
        settings = Settings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            result = recompute_audited(session=session, now=SystemClock().now())
    finally:
        engine.dispose()
    click.echo(
        f"rest ledger recomputed: {result.entries} entr(y/ies) in {result.periods} rest period(s); "
        f"{len(result.changes)} entr(y/ies) changed"
    )
