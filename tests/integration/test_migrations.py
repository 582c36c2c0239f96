"""Migrations upgrade from empty to head and back on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from kernel import migrate
from kernel.db import Base, make_engine
from vila.cli import MODEL_MODULES


def test_models_and_migrations_agree(db_url: str) -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from the migrations: {diff}"


def test_downgrade_to_empty_and_upgrade_again(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    assert migrate.current_heads(db_url) == {h for h in _heads()}
    engine = make_engine(db_url)
    try:
        assert {"person", "group", "api_token", "audit_record", "job"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads())
