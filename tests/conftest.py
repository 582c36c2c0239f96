"""Shared fixtures: real databases (SQLite and PostgreSQL), a controllable clock, the API client.

Each test gets an empty, migrated database. PostgreSQL: one database per test session, created
here and dropped at the end, truncated between tests. SQLite: a copy of a migrated file.
Set VILA_TEST_DATABASES=sqlite to run without PostgreSQL (CI runs both).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session, sessionmaker

from kernel import migrate
from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory
from kernel.settings import Settings
from tests.factories import Factory

PG_ADMIN_URL = os.environ.get("VILA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("VILA_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Stockholm
BROKER_URL = os.environ.get("VILA_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
# Broker keys of this test session carry their own prefix, so parallel runs on one Redis never share work.
BROKER_NAMESPACE = f"vila-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def flush_broker() -> None:
    """Lose every broker message of this test session (and only of this session)."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    try:
        for key in client.scan_iter(f"{BROKER_NAMESPACE}:*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"vila_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            tables = (
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables"
                        " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            if tables:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database: the test runs once per backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "vila.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
    elif request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")
        _truncate_all(url)
        yield url
    else:
        raise ValueError(f"unknown backend {request.param}")


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL test database, empty, for what only PostgreSQL has (roles, advisory locks)."""
    if "postgresql" not in BACKENDS:
        pytest.skip("needs PostgreSQL (VILA_TEST_DATABASES lacks postgresql)")
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url, data_dir=tmp_path, broker_url="", broker_namespace=BROKER_NAMESPACE, load_demo=False
    )


@pytest.fixture
def make(session_factory: sessionmaker[Session], clock: ManualClock) -> Factory:
    """Build people, groups and tokens for a test."""
    return Factory(session_factory, clock)
