"""The end-to-end benchmarks run as documented, at a small size: every push they expect arrives,
once. Their figures belong in docs/benchmarks.md; what is checked here is that they still work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

VILA = str(Path(sys.executable).parent / "vila")


def _server(pg_url: str) -> str:
    """The PostgreSQL server of the test database: each benchmark makes a database of its own there."""
    return make_url(pg_url).set(database="postgres").render_as_string(hide_password=False)


def _bench(*args: str) -> dict[str, Any]:
    done = subprocess.run([VILA, "bench", *args, "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_vila_bench_broadcast_delivers_every_push(pg_url: str) -> None:
    result = _bench(
        "broadcast",
        "--recipients",
        "300",
        "--workers",
        "1",
        "--database-url",
        _server(pg_url),
        "--broker-url",
        "redis://127.0.0.1:6379/12",
    )
    assert result["recipients"] == 300
    assert result["deliveries_expected"] > 0
    assert result["deliveries_sent"] == result["deliveries_expected"]


def test_vila_bench_release_gives_one_digest_per_person(pg_url: str) -> None:
    result = _bench(
        "release",
        "--people",
        "200",
        "--messages-per-person",
        "3",
        "--workers",
        "1",
        "--batch",
        "60",
        "--database-url",
        _server(pg_url),
        "--broker-url",
        "redis://127.0.0.1:6379/12",
    )
    assert result["people_with_a_digest"] == result["digests"] == 200
    assert result["pushes"] == 200
    assert result["duplicates"] == 0
    assert result["still_held"] == 0
