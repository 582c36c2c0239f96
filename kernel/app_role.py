"""The application's own PostgreSQL role: it reads and writes every table, but may only read and
append to the audit log, and owns nothing, so it can neither empty the log nor drop or disable the
triggers that keep it append-only (only a table's owner or a superuser can).

The migrations run as the role that owns the tables and call `secure()`: it creates the app role
when it can (the owner may create roles and a password is given), and grants what the app needs,
now and, through default privileges, on tables later migrations create. Every run is idempotent.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from psycopg import sql

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLE = "audit_record"
READ_ONLY = ("alembic_version",)


class AppRoleError(RuntimeError):
    """The configured role cannot be made safe (a superuser, the owner itself, an owner of tables)."""


@dataclass(frozen=True)
class AppRole:
    name: str
    password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"VILA_DB_APP_ROLE: '{self.name}' is not a plain role name (a-z, 0-9, _)")


def secure(conn: Connection, role: AppRole) -> list[str]:
    """Create the role if it is missing and possible, then grant it what the app needs and no more.
    Returns notes for the operator; raises AppRoleError when the role would be unsafe."""
    if conn.dialect.name != "postgresql":
        return []
    me = conn.scalar(text("SELECT current_user"))
    if role.name == me:
        raise AppRoleError(f"the app role {role.name} is the role that runs the migrations and owns the tables")
    notes: list[str] = []
    found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :name"), {"name": role.name}).first()
    if found is None:
        if not _create(conn, role):
            return [
                f"the role {role.name} does not exist and was not created (set VILA_DB_APP_PASSWORD and run the "
                "migrations as a role that may create roles, or create it yourself); then run vila migrate again"
            ]
        notes.append(f"created the role {role.name}")
    elif found.rolsuper:
        raise AppRoleError(f"the app role {role.name} is a superuser: it could empty the audit log")
    owned = conn.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :name"),
        {"name": role.name},
    ).all()
    if owned:
        raise AppRoleError(f"the app role {role.name} owns tables ({', '.join(owned)}); the migration role must")
    owner = conn.scalar(
        text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = :t"),
        {"t": AUDIT_TABLE},
    )
    if owner and conn.scalar(text("SELECT pg_has_role(:name, :owner, 'MEMBER')"), {"name": role.name, "owner": owner}):
        raise AppRoleError(f"the app role {role.name} is a member of {owner}, which owns the audit log")
    _grant(conn, role.name)
    notes.append(f"{role.name} may read and write the tables and only read and append to {AUDIT_TABLE}")
    return notes


def _create(conn: Connection, role: AppRole) -> bool:
    from psycopg import errors, sql

    may = conn.scalar(text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
    if not (may and role.password):
        return False
    statement = sql.SQL(
        "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    ).format(sql.Identifier(role.name), sql.Literal(role.password))
    with contextlib.suppress(errors.DuplicateObject, errors.UniqueViolation), conn.begin_nested():
        _run(conn, [statement])  # DuplicateObject: another migration run created it at the same moment
    return True


def _grant(conn: Connection, name: str) -> None:
    from psycopg import sql

    schema = sql.Identifier(str(conn.scalar(text("SELECT current_schema()"))))
    database = sql.Identifier(str(conn.scalar(text("SELECT current_database()"))))
    who = sql.Identifier(name)
    names = {"database": database, "schema": schema, "who": who, "audit": sql.Identifier(AUDIT_TABLE)}
    statements = [
        sql.SQL(template).format(**names)
        for template in (
            "GRANT CONNECT ON DATABASE {database} TO {who}",
            "GRANT USAGE ON SCHEMA {schema} TO {who}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {who}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {who}",
            "REVOKE UPDATE, DELETE ON {schema}.{audit} FROM {who}",
        )
    ]
    statements += [
        sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {}.{} FROM {}").format(schema, sql.Identifier(table), who)
        for table in READ_ONLY
    ]
    _run(conn, statements)


def _run(conn: Connection, statements: list[sql.Composed]) -> None:
    """Run composed statements on the connection's own transaction: psycopg quotes the names and
    the password, so nothing here is pasted into SQL by hand."""
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
