"""The `vila` command: one entry point for every process and tool.

\b
    vila serve        everything in one process (SQLite, in-process jobs): try Vila on a laptop
    vila api          the HTTP API only (production; jobs go to Celery through the broker)
    vila worker       a Celery worker for some queues (production)
    vila beat         the Celery scheduler: sweeper and periodic jobs (production)
    vila migrate      upgrade the database schema
    vila demo         load (or reset) the demo region
    vila token create issue an API token
    vila webpush keys make (once) and show Vila's Web Push (VAPID) key
    vila audit verify prove the audit log unchanged (its hash chain)
    vila jobs ...     failed jobs: list them with their error, retry them
    vila fleet import import Intune's device export or the operator's subscription list
    vila emulate      local FCM, APNs and Web Push stand-ins, with fault injection
    vila bench ...    benchmarks that print figures
    vila pilot ...    pilot evaluations: list them, write a report
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import click

from kernel.settings import QUEUES, Settings
from kernel.vocabulary import ROLES
from tools.bench.cli import bench
from vila import directory_cli, fleet_cli, jobs_cli, ledger_cli, pilot_cli, webpush_cli

MODEL_MODULES = (
    "kernel.directory.models",
    "kernel.directory.provisioning",
    "kernel.auth.models",
    "kernel.audit.models",
    "kernel.outbox",
    "policies.models",
    "notify.models",
    "notify.fleet.models",
    "notify.mail.models",
    "notify.templates",
    "notify.chains",
    "pilot.models",
)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def _refuse_standins(settings: Settings) -> None:
    """Production processes do not start with the local stand-ins' provider settings (every push
    would go nowhere) unless VILA_TEST_INSTALLATION says this installation is for tests."""
    from notify.transports.config import PushSettings

    try:
        PushSettings.from_environment().check_for_production(test_installation=settings.test_installation)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _logging(settings: Settings) -> None:
    from kernel.logs import configure

    configure(settings)


def _migrate(settings: Settings) -> None:
    from kernel import migrate

    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    for note in migrate.upgrade(settings.resolved_database_url, app_role=settings.app_role):
        click.echo(note, err=True)


@click.group(help=__doc__)
def main() -> None:
    pass


@main.command()
@click.option("--host", default=None, help="Address to listen on (default VILA_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default VILA_PORT or 8000).")
@click.option("--demo/--no-demo", default=None, help="Load the demo region into an empty database (default on).")
@click.option(
    "--emulators/--no-emulators",
    default=True,
    show_default=True,
    help="Send pushes to built-in FCM, APNs and Web Push stand-ins (off: use VILA_FCM_..., VILA_APNS_... "
    "and VILA_WEBPUSH_... settings).",
)
def serve(host: str | None, port: int | None, demo: bool | None, emulators: bool) -> None:
    """Run all of Vila in one process: API, jobs and sweeper, on a SQLite file by default."""
    settings = _settings()
    updates: dict[str, object] = {}
    if host:
        updates["host"] = host
    if port:
        updates["port"] = port
    settings = settings.model_copy(update=updates)
    _logging(settings)
    _migrate(settings)
    if demo if demo is not None else settings.load_demo:
        _load_demo(settings, reset=False, quiet=True)
    import uvicorn

    from api.main import create_app

    providers = None
    if emulators:
        from vila.embedded import EmbeddedProviders

        providers = EmbeddedProviders(settings.data_dir / "emulators", settings.data_dir)
        if not settings.smtp_host:  # the e-mail channel goes to the local SMTP stand-in
            settings = settings.model_copy(update={"smtp_host": providers.smtp.host, "smtp_port": providers.smtp.port})
    # /metrics stays open without a token only while nothing but this machine can reach it.
    app = create_app(
        settings,
        push=providers.push if providers else None,
        webpush=providers.webpush if providers else None,
        open_metrics=_loopback(settings.host),
    )
    tokens = settings.data_dir / "demo-tokens.txt"
    click.echo("")
    click.echo(f"Vila is running at {settings.base_url}  (API documentation: {settings.base_url}/docs)")
    click.echo(f"Database: {settings.resolved_database_url}; jobs run in this process.")
    if tokens.exists():
        click.echo(f"Log in with a bearer token from {tokens}:")
        click.echo(tokens.read_text(encoding="utf-8"))
        click.echo(f"  e.g. curl -H 'Authorization: Bearer <token>' {settings.base_url}/api/v1/people/me")
    else:
        click.echo("Create a token with: vila token create --person EMAIL --role admin")
    if providers is not None:
        control = providers.emulators.control_url
        click.echo(
            f"Pushes go to built-in stand-ins; see what arrived: {control}/fcm/received and {control}/apns/received"
        )
        webpush = providers.webpush_standin
        click.echo(
            f"Web Push stand-in: {webpush.url} (CA {webpush.ca.ca_file}); what the phones read: "
            f"{webpush.url}/webpush/received"
        )
        click.echo(f"E-mail goes to a local SMTP stand-in: {providers.mail_folder}/*.eml")
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            proxy_headers=False,  # the app applies VILA_FORWARDED_ALLOW_IPS itself (create_app)
            access_log=False,  # the app logs each request, with secrets in paths masked
        )
    finally:
        if providers is not None:
            providers.close()


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@main.command()
@click.option("--host", default=None, help="Address to listen on.")
@click.option("--port", default=None, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, help="Uvicorn worker processes.")
def api(host: str | None, port: int | None, workers: int) -> None:
    """Run the HTTP API (production). Jobs are handed to Celery through VILA_BROKER_URL."""
    settings = _settings()
    _refuse_standins(settings)
    _logging(settings)
    if settings.embedded:
        click.echo("note: VILA_BROKER_URL is not set; jobs run inside the API process", err=True)
    import uvicorn

    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # the app applies VILA_FORWARDED_ALLOW_IPS itself (create_app)
        access_log=False,  # the app logs each request, with secrets in paths masked
    )


@main.command()
@click.option(
    "--queues",
    "-Q",
    default=",".join(QUEUES),
    show_default=True,
    help="Comma-separated queues to consume (urgent, default, bulk, release).",
)
@click.option("--concurrency", "-c", default=2, show_default=True, help="Worker processes.")
@click.option("--pool", default="prefork", show_default=True, help="Celery pool (prefork, threads, solo).")
def worker(queues: str, concurrency: int, pool: str) -> None:
    """Run a Celery worker (production) on some queues: give urgent its own worker."""
    settings = _settings()
    _refuse_standins(settings)
    _logging(settings)
    unknown = [q for q in queues.split(",") if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown)}; queues are {', '.join(QUEUES)}")
    from workers.celery_app import create_celery

    app = create_celery(settings)
    app.worker_main(
        [
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "--pool",
            pool,
            "--loglevel",
            settings.log_level,
            "--without-gossip",
            "--without-mingle",
        ]
    )


@main.command()
@click.option("--schedule", default=None, help="File for beat's schedule state (default in the data directory).")
def beat(schedule: str | None) -> None:
    """Run the Celery beat scheduler (production): the sweeper and periodic jobs."""
    settings = _settings()
    _logging(settings)
    from workers.celery_app import create_celery

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_celery(settings)
    app.start(["beat", "-s", schedule or str(settings.data_dir / "beat-schedule"), "--loglevel", settings.log_level])


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Upgrade the database schema (SQLite or PostgreSQL) to the given revision."""
    from kernel import migrate as migrations

    settings = _settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    for note in migrations.upgrade(settings.resolved_database_url, revision, app_role=settings.app_role):
        click.echo(note, err=True)
    click.echo(f"database at {revision}: {_without_password(settings.resolved_database_url)}")


def _without_password(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def _load_demo(settings: Settings, *, reset: bool, quiet: bool) -> None:
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from vila import demo

    if reset:
        from kernel import migrate as migrations

        migrations.downgrade(settings.resolved_database_url, "base")
        migrations.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            if demo.is_loaded(session):
                if not quiet:
                    click.echo("the database already has people; use --reset to start over")
                return
            now = SystemClock().now()
            people = demo.load(session=session, now=now)
            path = demo.issue_demo_tokens(session=session, people=people, now=now, data_dir=settings.data_dir)
        click.echo(f"loaded the demo region 'Region Exempel'; tokens in {path}")
    finally:
        engine.dispose()


@main.command("demo")
@click.option("--reset", is_flag=True, help="Erase ALL data and load the demo region again.")
@click.option("--yes", is_flag=True, help="Do not ask before erasing.")
def demo_command(reset: bool, yes: bool) -> None:
    """Load the demo region "Region Exempel" into an empty database (or --reset it)."""
    settings = _settings()
    if reset and not yes:
        click.confirm(f"Erase every row in {settings.resolved_database_url}?", abort=True)
    _migrate(settings)
    _load_demo(settings, reset=reset, quiet=False)


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--person", "email", required=True, help="The person's e-mail address.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(ROLES),
    help="Limit the token to this role (repeatable). The person is granted it if they lack it.",
)
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option("--ttl-days", default=None, type=int, help="Lifetime in days (default VILA_TOKEN_TTL_DAYS).")
def token_create(email: str, roles: tuple[str, ...], name: str, ttl_days: int | None) -> None:
    """Issue a bearer token for a person and print it once."""
    from kernel.audit import service as audit
    from kernel.auth.service import issue_token
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from kernel.directory import service as directory
    from kernel.errors import VilaError

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    now = SystemClock().now()
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            person = directory.person_by_email(session=session, email=email)
            if person is None:
                raise click.ClickException(f"no person with e-mail {email}")
            if not person.active:
                raise click.ClickException(f"{email} is deactivated")
            granted = [r for r in roles if r not in person.roles]
            if granted:
                before = person.snapshot()
                person.roles = sorted({*person.roles, *granted})
                audit.record(
                    session=session,
                    now=now,
                    actor_id=None,
                    actor_label="cli",
                    action="person.update",
                    target_type="person",
                    target_id=person.id,
                    meta=audit.SYSTEM,
                    before=before,
                    after=person.snapshot(),
                )
            ttl = timedelta(days=ttl_days or settings.token_ttl_days)
            try:
                tok, secret = issue_token(
                    session=session, person=person, now=now, name=name, roles=list(roles) or None, ttl=ttl
                )
            except VilaError as exc:
                raise click.ClickException(exc.message) from exc
            audit.record(
                session=session,
                now=now,
                actor_id=None,
                actor_label="cli",
                action="token.create",
                target_type="token",
                target_id=tok.id,
                meta=audit.SYSTEM,
                after={"person_id": str(person.id), "roles": tok.roles},
            )
    finally:
        engine.dispose()
    if granted:
        click.echo(f"granted {', '.join(granted)} to {email}", err=True)
    click.echo(secret)


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option(
    "--anchor",
    default=None,
    metavar="ID:HASH",
    help="A record id and hash noted down earlier (outside the database): prove it is still there unchanged.",
)
def audit_verify(anchor: str | None) -> None:
    """Walk the audit log's hash chain; exit 1 at the first record that was changed, removed or inserted."""
    from kernel.audit import chain
    from kernel.db import make_engine, make_session_factory

    noted = None
    if anchor:
        record_id, sep, digest = anchor.partition(":")
        if not (sep and record_id.isdigit() and len(digest) == 64):
            raise click.BadParameter("give the record id and its 64-character hash as ID:HASH", param_hint="--anchor")
        noted = (int(record_id), digest.lower())
    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            verdict = chain.verify(session, anchor=noted)
    finally:
        engine.dispose()
    if verdict.broken is not None:
        click.echo(
            f"audit log BROKEN at record {verdict.broken.record_id}: {verdict.broken.reason} "
            f"({verdict.records} record(s) before it are intact)",
            err=True,
        )
        raise SystemExit(1)
    if verdict.head_id is None:
        click.echo("audit log intact: it is empty")
        return
    click.echo(f"audit log intact: {verdict.records} record(s); head {verdict.head_id}:{verdict.head_hash}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--fcm-port", default=9310, show_default=True)
@click.option("--apns-port", default=9320, show_default=True)
@click.option("--control-port", default=9330, show_default=True)
@click.option("--webpush-port", default=9340, show_default=True)
def emulate(host: str, fcm_port: int, apns_port: int, control_port: int, webpush_port: int) -> None:
    """Run the FCM, APNs and Web Push stand-ins (with fault injection) until interrupted."""
    import asyncio

    from tools.standins.providers import serve_emulators
    from tools.standins.webpush import serve_webpush

    async def run() -> None:
        settings = _settings()
        emulators = await serve_emulators(
            host=host,
            fcm_port=fcm_port,
            apns_port=apns_port,
            control_port=control_port,
            state_dir=settings.data_dir / "emulators",
        )
        webpush = await serve_webpush(ca=emulators.ca, host=host, port=webpush_port)
        for name, value in {**emulators.describe(), "webpush": webpush.url}.items():
            click.echo(f"{name:8} {value}")
        click.echo(f"Point Vila at them: VILA_APNS_CA_FILE={emulators.ca.ca_file}")
        click.echo(
            f"Web Push: VILA_WEBPUSH_CA_FILE={emulators.ca.ca_file} "
            f"VILA_WEBPUSH_PUSH_SERVICES={webpush.url.removeprefix('https://')}; "
            f"subscriptions: POST {webpush.url}/webpush/subscriptions; received: {webpush.url}/webpush/received"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await webpush.stop()
            await emulators.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


main.add_command(fleet_cli.fleet)
main.add_command(directory_cli.directory)
main.add_command(pilot_cli.pilot)
main.add_command(webpush_cli.webpush)
main.add_command(jobs_cli.jobs)
main.add_command(ledger_cli.ledger)
main.add_command(bench)

if __name__ == "__main__":
    main()
