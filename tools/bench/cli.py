"""`vila bench`: the benchmarks' command line. Each prints figures, the last line a JSON object."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Only the JSON line.")


def server_options(command: F) -> F:
    """A PostgreSQL server the bench makes its own database on, and the Redis broker its workers use."""
    command = click.option("--broker-url", default="redis://127.0.0.1:6379/13", show_default=True)(command)
    return click.option(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        show_default=True,
        help="A PostgreSQL server; the bench makes (and drops) its own database there.",
    )(command)


def _report(result: dict[str, Any], as_json: bool, *summary: str) -> None:
    """A benchmark's readable lines (unless only the JSON line is asked for), then its JSON line."""
    if not as_json:
        for line in summary:
            click.echo(line)
    click.echo(json.dumps(result, sort_keys=True))


@click.group()
def bench() -> None:
    """Benchmarks. Each prints figures, the last line a JSON object."""


@bench.command("policy")
@click.option("--recipients", default=100_000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option(
    "--database-url",
    default=None,
    help="Also time a 10,000-recipient preview (load + decide); the bench makes its own database there.",
)
@json_option
def bench_policy(recipients: int, database_url: str | None, as_json: bool) -> None:
    """Decide messages of every priority for N synthetic recipients with varied schedules."""
    from tools.bench.policy import run

    result = run(recipients, database_url=database_url)
    summary = [
        f"{result['decisions']:,} decisions for {recipients:,} recipients in {result['seconds']:.2f} s: "
        f"{result['decisions_per_s']:,} decisions/s (states prepared at {result['prepare_per_s']:,}/s)"
    ]
    preview = result.get("preview")
    if preview:
        summary.append(
            f"preview of {preview['recipients']:,} recipients on {preview['backend']}: {preview['seconds']:.3f} s "
            f"(load {preview['load_seconds']:.3f} s, policies {preview['policies_seconds']:.3f} s, "
            f"decide {preview['decide_seconds']:.3f} s)"
        )
    _report(result, as_json, *summary)


@bench.command("broadcast")
@click.option("--recipients", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@server_options
@click.option("--workers", default=1, show_default=True, help="Celery worker processes.")
@click.option("--concurrency", default=2, show_default=True, help="Pool size of each worker.")
@click.option("--chunk", default=5000, show_default=True, help="Recipients per fan-out job (VILA_FANOUT_CHUNK).")
@json_option
def bench_broadcast(
    recipients: int, database_url: str, broker_url: str, workers: int, concurrency: int, chunk: int, as_json: bool
) -> None:
    """One broadcast through the real API, PostgreSQL, Redis and Celery workers, to a push stand-in."""
    from tools.bench.broadcast import run

    result = run(
        recipients=recipients,
        database_url=database_url,
        broker_url=broker_url,
        workers=workers,
        concurrency=concurrency,
        chunk=chunk,
    )
    _report(
        result,
        as_json,
        (
            f"{recipients:,} recipients: send answered in {result['accept_ms']} ms; decided and persisted in "
            f"{result['decide_and_persist_s']} s ({result['rows_per_s']} rows/s); "
            f"{result['deliveries_sent']:,}/{result['deliveries_expected']:,} pushes at {result['deliveries_per_s']}/s"
        ),
    )


@bench.command("release")
@click.option("--people", default=5000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--messages-per-person", default=4, show_default=True, type=click.IntRange(1, 100))
@server_options
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
@json_option
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
    from tools.bench.release import run

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
    _report(
        result,
        as_json,
        (
            f"{people:,} people x {messages_per_person}: {result['digests']:,} digests, {result['pushes']:,} pushes "
            f"({result['duplicates']} duplicates), first {result['first_push_s']} s and last "
            f"{result['last_push_s']} s after the release instant; urgent {result['urgent_latency_ms']} ms"
        ),
    )


@bench.command("roster")
@click.option("--queries", default=500, show_default=True, type=click.IntRange(10, 100_000))
@click.option(
    "--database-url", default=None, help="A PostgreSQL server to run on (a database of its own); default SQLite."
)
@json_option
def bench_roster(queries: int, database_url: str | None, as_json: bool) -> None:
    """`who is on call` for a year-long roster of 20 people (target under 50 ms)."""
    from tools.bench.roster import run

    result = run(database_url=database_url, queries=queries)
    _report(
        result,
        as_json,
        (
            f"{result['queries']} instants over a year on {result['backend']}: resolved from the roster "
            f"p50 {result['resolved']['p50_ms']} ms, p95 {result['resolved']['p95_ms']} ms; from the "
            f"materialised slots p50 {result['materialised']['p50_ms']} ms, p95 {result['materialised']['p95_ms']} ms"
        ),
    )


@bench.command("fleet-import")
@click.option("--assets", default=10_000, show_default=True, type=click.IntRange(1, 50_000))
@click.option(
    "--database-url", default=None, help="A PostgreSQL server to make a scratch database on (default: SQLite)."
)
@json_option
def bench_fleet_import(assets: int, database_url: str | None, as_json: bool) -> None:
    """Import Intune's export of N assets into an empty fleet register, then again (target: 10,000 under 10 s)."""
    from tools.bench.fleet_import import run

    result = run(database_url=database_url, assets=assets)
    _report(
        result,
        as_json,
        (
            f"{result['assets']:,} assets on {result['backend']}: imported in {result['import_s']} s "
            f"({result['rows_per_s']:,} rows/s), imported again (all unchanged) in {result['reimport_s']} s"
        ),
    )


@bench.command("scim")
@click.option("--users", default=10_000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--groups", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--api-workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--concurrency", default=None, type=click.IntRange(1, 256), help="Connections (bulk: 2, entra: 16).")
@click.option("--mode", type=click.Choice(["bulk", "entra"]), default="bulk", show_default=True,
              help="bulk: SCIM bulk requests; entra: one request per change, as Entra ID sends them.")  # fmt: skip
@click.option("--database-url", default=None, help="A PostgreSQL server to make a scratch database on.")
@json_option
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
    from tools.bench.scim import run

    result = run(
        database_url=database_url,
        users=users,
        groups=groups,
        api_workers=api_workers,
        concurrency=concurrency or (2 if mode == "bulk" else 16),
        mode=mode,
    )
    _report(
        result,
        as_json,
        (
            f"{result['users']:,} users and {result['groups']:,} groups ({mode}) on {result['backend']} in "
            f"{result['total_s']} s ({result['requests']:,} requests, {result['requests_per_s']:,}/s, "
            f"{result['failures']} failed)"
        ),
    )


@bench.command("transport")
@click.option("--messages", default=20_000, show_default=True, help="Messages per transport.")
@click.option("--faults", is_flag=True, help="Also run 2% 429, 1% 503, 3% unregistered.")
@click.option("--profile", is_flag=True, help="Also print where the Web Push transport spends its time (cProfile).")
@json_option
def bench_transport(messages: int, faults: bool, profile: bool, as_json: bool) -> None:
    """Push transports (FCM, APNs, Web Push) against a local stand-in, beside firebase-admin's
    send_each_async and pywebpush's webpush()."""
    import asyncio

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
