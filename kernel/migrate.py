"""Run Alembic migrations programmatically (used by `vila migrate`, `vila serve` and tests)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

from kernel.app_role import AppRole, secure

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, model_modules: Sequence[str] = (), app_role: AppRole | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["model_modules"] = tuple(model_modules)
    cfg.attributes["app_role"] = app_role  # the migration that protects the audit log sets it up
    return cfg


def upgrade(url: str, revision: str = "head", *, app_role: AppRole | None = None) -> list[str]:
    """Upgrade, then (PostgreSQL, with an app role) grant the app role what it needs again, so tables
    of new migrations and a role created after the migrations ran are covered. Returns notes."""
    command.upgrade(alembic_config(url, app_role=app_role), revision)
    if app_role is None or not url.startswith("postgresql"):
        return []
    from kernel.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return secure(conn, app_role)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from kernel.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A throw-away database at the head revision, for benchmarks: a temporary SQLite file when
    `url` is empty or SQLite, else a database of its own made on that PostgreSQL server and dropped
    afterwards. Yields its URL."""
    from sqlalchemy import make_url, text

    from kernel.db import make_engine

    if not url or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            scratch = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(scratch)
            yield scratch
        return
    name = f"vila_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
        upgrade(scratch)
        yield scratch
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
