"""Database: the declarative base, column types, engines and sessions.

One owner of the transaction: a route or a job opens a unit of work (`kernel.uow`) and commits;
services only add, flush and emit events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, bindparam, column, create_engine, event, func, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool
from sqlalchemy.types import TypeDecorator
from uuid_utils.compat import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as an aware UTC instant.

    SQLite has no time zones; PostgreSQL's `timestamptz` does. Either way the application only
    ever sees aware UTC datetimes, and a naive one is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7): rows written together sit together in the primary key's
    index, so a broadcast's thousands of inserts touch a few index pages instead of thousands."""
    return uuid7()


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() folds only A-Z: without this, a search for "åberg" misses "Åberg".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Build an engine; SQLite gets WAL and foreign keys, PostgreSQL a sized pool."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            engine = create_engine(url, echo=echo, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            engine = create_engine(
                url, echo=echo, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 30}
            )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


SessionFactory = Callable[[], Session]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose commit turns the domain events stated in them into follow-up jobs (`kernel.uow`)."""
    from kernel.uow import install_publisher  # kernel.uow builds on this module

    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    install_publisher(factory)
    return factory


@contextmanager
def unit_of_work(factory: SessionFactory) -> Iterator[Session]:
    """Open a session, commit when the block ends cleanly, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def json_type() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL."""
    from sqlalchemy import JSON
    from sqlalchemy.dialects.postgresql import JSONB

    return JSON().with_variant(JSONB(), "postgresql")


def among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values`, as one array parameter on PostgreSQL (`= ANY(:values)`): thousands of
    ids then cost one bind instead of thousands of rendered ones."""
    if is_postgres(session):
        from sqlalchemy import Uuid, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(Uuid())))
    return column.in_(list(values))


def bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: one COPY on PostgreSQL (psycopg renders the
    rows), an executemany elsewhere. Every row has the same keys. The fan-out of a broadcast writes
    its recipients and deliveries this way."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        # A Core executemany: the ORM's insert would fetch each generated key (an audit record's
        # id) row by row, about twice the time for 10,000 rows on SQLite.
        session.execute(insert(model.__table__), list(rows))
        return
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    # COPY bypasses UTCDateTime: refuse a naive instant here, as the column type would.
    instants = [c for c in columns if isinstance(model.__table__.c[c].type, UTCDateTime)]
    if any(row[c] is not None and row[c].tzinfo is None for c in instants for row in rows):
        raise ValueError("naive datetime given to a UTC column")
    raw: Any = session.connection().connection.dbapi_connection
    statement = f'COPY "{model.__tablename__}" ({", ".join(columns)}) FROM STDIN'
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in (row[c] for c in columns)])


def bulk_update(session: Session, model: type[Any], rows: Sequence[dict[str, Any]], *, key: str = "id") -> None:
    """Update many rows, each by its `key` with values of its own (every row has the same keys).

    On PostgreSQL one UPDATE joins the table to the values sent as one array per column
    (`unnest`), where an executemany runs one UPDATE per row (a send batch of about 470 results:
    18 ms instead of 23, docs/benchmarks.md). Elsewhere an executemany. Ids that are not there
    are skipped on every database."""
    if not rows:
        return
    table = model.__table__
    columns = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        stmt = (
            update(table)
            .where(table.c[key] == bindparam(f"v_{key}"))
            .values({c: bindparam(f"v_{c}") for c in columns if c != key})
        )
        session.execute(stmt, [{f"v_{c}": row[c] for c in columns} for row in rows])
        return
    from sqlalchemy.dialects.postgresql import ARRAY

    arrays = [bindparam(f"v_{c}", [row[c] for row in rows], type_=ARRAY(table.c[c].type)) for c in columns]
    values = func.unnest(*arrays).table_valued(*(column(c, table.c[c].type) for c in columns)).render_derived("v")
    session.execute(
        update(table)
        .where(table.c[key] == values.c[key])
        .values({c: values.c[c] for c in columns if c != key})
        .execution_options(synchronize_session=False)
    )
