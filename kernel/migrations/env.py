"""Alembic environment. The caller (`kernel.migrate`) passes the URL and the model modules."""

from __future__ import annotations

import importlib

from alembic import context

from kernel.db import Base, make_engine

config = context.config
for module in config.attributes.get("model_modules", ()):
    importlib.import_module(module)

target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
