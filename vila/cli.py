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
import logging
from datetime import timedelta

import click

from kernel.settings import QUEUES, Settings
from kernel.vocabulary import ROLES
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


@main.group()
def bench() -> None:
    """Benchmarks. Each prints figures, the last line a JSON object."""


@bench.command("policy")
@click.option("--recipients", default=100_000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option(
    "--database-url",
    default=None,
    help="Also time a 10,000-recipient preview (load + decide); the bench makes its own database there.",
)
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_policy(recipients: int, database_url: str | None, as_json: bool) -> None:
    """Decide messages of every priority for N synthetic recipients with varied schedules."""
    import json

    from tools.bench.policy import run

    result = run(recipients, database_url=database_url)
    if not as_json:
        click.echo(
            f"{result['decisions']:,} decisions for {recipients:,} recipients in {result['seconds']:.2f} s: "
            f"{result['decisions_per_s']:,} decisions/s (states prepared at {result['prepare_per_s']:,}/s)"
        )
        preview = result.get("preview")
        if preview:
            click.echo(
                f"preview of {preview['recipients']:,} recipients on {preview['backend']}: {preview['seconds']:.3f} s "
                f"(load {preview['load_seconds']:.3f} s, policies {preview['policies_seconds']:.3f} s, "
                f"decide {preview['decide_seconds']:.3f} s)"
            )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("broadcast")
@click.option("--recipients", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option(
    "--database-url",
    default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="A PostgreSQL server; the bench makes (and drops) its own database there.",
)
@click.option("--broker-url", default="redis://127.0.0.1:6379/13", show_default=True)
@click.option("--workers", default=1, show_default=True, help="Celery worker processes.")
@click.option("--concurrency", default=2, show_default=True, help="Pool size of each worker.")
@click.option("--chunk", default=5000, show_default=True, help="Recipients per fan-out job (VILA_FANOUT_CHUNK).")
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_broadcast(
    recipients: int, database_url: str, broker_url: str, workers: int, concurrency: int, chunk: int, as_json: bool
) -> None:
    """One broadcast through the real API, PostgreSQL, Redis and Celery workers, to a push stand-in."""
    import json

    from vila.bench_broadcast import run

    result = run(
        recipients=recipients,
        database_url=database_url,
        broker_url=broker_url,
        workers=workers,
        concurrency=concurrency,
        chunk=chunk,
    )
    if not as_json:
        click.echo(
            f"{recipients:,} recipients: send answered in {result['accept_ms']} ms; decided and persisted in "
            f"{result['decide_and_persist_s']} s ({result['rows_per_s']} rows/s); "
            f"{result['deliveries_sent']:,}/{result['deliveries_expected']:,} pushes at {result['deliveries_per_s']}/s"
        )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("release")
@click.option("--people", default=5000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--messages-per-person", default=4, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--database-url",
    default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="A PostgreSQL server; the bench makes (and drops) its own database there.",
)
@click.option("--broker-url", default="redis://127.0.0.1:6379/13", show_default=True)
@click.option("--workers", default=2, show_default=True, help="Worker processes for the release (and default, bulk).")
@click.option("--concurrency", default=2, show_default=True, help="Pool size of each worker.")
@click.option("--batch", default=500, show_default=True, help="People per release job (VILA_RELEASE_BATCH).")
@click.option(
    "--platform",
    type=click.Choice(["android", "ios"]),
    default="android",
    show_default=True,
    help="Everyone's phone: Android (FCM) or iPhone (APNs).",
)
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_release(
    people: int,
    messages_per_person: int,
    database_url: str,
    broker_url: str,
    workers: int,
    concurrency: int,
    batch: int,
    platform: str,
    as_json: bool,
) -> None:
    """The morning release: people x messages held until one instant, released by Celery workers."""
    import json

    from vila.bench_release import run

    result = run(
        people=people,
        messages=messages_per_person,
        database_url=database_url,
        broker_url=broker_url,
        workers=workers,
        concurrency=concurrency,
        batch=batch,
        platform=platform,
    )
    if not as_json:
        click.echo(
            f"{people:,} people x {messages_per_person}: {result['digests']:,} digests, {result['pushes']:,} pushes "
            f"({result['duplicates']} duplicates), first {result['first_push_s']} s and last "
            f"{result['last_push_s']} s after the release instant; urgent {result['urgent_latency_ms']} ms"
        )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("roster")
@click.option("--queries", default=500, show_default=True, type=click.IntRange(10, 100_000))
@click.option(
    "--database-url", default=None, help="A PostgreSQL server to run on (a database of its own); default SQLite."
)
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_roster(queries: int, database_url: str | None, as_json: bool) -> None:
    """`who is on call` for a year-long roster of 20 people (target under 50 ms)."""
    import json

    from tools.bench.roster import run

    result = run(database_url=database_url, queries=queries)
    if not as_json:
        click.echo(
            f"{result['queries']} instants over a year on {result['backend']}: resolved from the roster "
            f"p50 {result['resolved']['p50_ms']} ms, p95 {result['resolved']['p95_ms']} ms; from the "
            f"materialised slots p50 {result['materialised']['p50_ms']} ms, p95 {result['materialised']['p95_ms']} ms"
        )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("fleet-import")
@click.option("--assets", default=10_000, show_default=True, type=click.IntRange(1, 50_000))
@click.option(
    "--database-url", default=None, help="A PostgreSQL server to make a scratch database on (default: SQLite)."
)
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_fleet_import(assets: int, database_url: str | None, as_json: bool) -> None:
    """Import Intune's export of N assets into an empty fleet register, then again (target: 10,000 under 10 s)."""
    import json

    from tools.bench.fleet_import import run

    result = run(database_url=database_url, assets=assets)
    if not as_json:
        click.echo(
            f"{result['assets']:,} assets on {result['backend']}: imported in {result['import_s']} s "
            f"({result['rows_per_s']:,} rows/s), imported again (all unchanged) in {result['reimport_s']} s"
        )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("scim")
@click.option("--users", default=10_000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--groups", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--api-workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--concurrency", default=None, type=click.IntRange(1, 256), help="Connections (bulk: 2, entra: 16).")
@click.option("--mode", type=click.Choice(["bulk", "entra"]), default="bulk", show_default=True,
              help="bulk: SCIM bulk requests; entra: one request per change, as Entra ID sends them.")  # fmt: skip
@click.option("--database-url", default=None, help="A PostgreSQL server to make a scratch database on.")
@click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")
def bench_scim(
    users: int,
    groups: int,
    api_workers: int,
    concurrency: int | None,
    mode: str,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Provision N users and G groups through /scim/v2 as Entra ID does (target: 10,000 and 500 under 60 s)."""
    import json

    from tools.bench.scim import run

    result = run(
        database_url=database_url,
        users=users,
        groups=groups,
        api_workers=api_workers,
        concurrency=concurrency or (2 if mode == "bulk" else 16),
        mode=mode,
    )
    if not as_json:
        click.echo(
            f"{result['users']:,} users and {result['groups']:,} groups ({mode}) on {result['backend']} in "
            f"{result['total_s']} s ({result['requests']:,} requests, {result['requests_per_s']:,}/s, "
            f"{result['failures']} failed)"
        )
    click.echo(json.dumps(result, sort_keys=True))


@bench.command("transport")
@click.option("--messages", default=20_000, show_default=True, help="Messages per transport.")
@click.option("--faults", is_flag=True, help="Also run 2% 429, 1% 503, 3% unregistered.")
@click.option("--profile", is_flag=True, help="Also print where the Web Push transport spends its time (cProfile).")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON line.")
def bench_transport(messages: int, faults: bool, profile: bool, as_json: bool) -> None:
    """Push transports (FCM, APNs, Web Push) against a local stand-in, beside firebase-admin's
    send_each_async and pywebpush's webpush()."""
    import asyncio
    import json

    from tools.bench import transports as transport_bench
    from tools.bench import webpush as webpush_bench

    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(transport_bench.throughput(messages))
    result.update(asyncio.run(webpush_bench.throughput(messages)))
    if faults:
        result["faults"] = asyncio.run(transport_bench.fault_run(messages))
        result["faults"]["webpush"] = asyncio.run(webpush_bench.fault_run(messages))
    if not as_json:
        for line in [*transport_bench.describe(result), *webpush_bench.describe(result)]:
            click.echo(line)
        if profile:
            click.echo(asyncio.run(webpush_bench.profile(min(messages, 5000))))
    click.echo(json.dumps(result))
    if faults and not all(result["faults"][p]["ok"] for p in ("fcm", "apns", "webpush")):
        raise SystemExit(1)


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

if __name__ == "__main__":
    main()
