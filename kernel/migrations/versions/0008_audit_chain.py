"""Tamper evidence for the audit log, a database role for the app, and web sessions of their own.

- Every audit record gets `prev_hash` and `hash` (the hash chain of `kernel/audit/chain.py`);
  records written before are chained here, in id order. A unique `prev_hash` forbids a fork.
- PostgreSQL with an app role configured (`VILA_DB_APP_ROLE`): the role is created when the
  migration role may create roles, and granted everything but changing the audit log
  (`kernel/app_role.py`). Nothing happens on SQLite.
- API tokens get a `kind` (`api`, or `web` for a web sign-in) and the `parent_id` of the token a
  web session was exchanged for, so revoking that token ends the session too.

Revision ID: 0008_audit_chain
Revises: 0006_message_created
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from kernel.app_role import secure
from kernel.audit.chain import GENESIS, normal, seal
from kernel.db import UTCDateTime, json_type

revision = "0008_audit_chain"
down_revision = "0006_message_created"
branch_labels = None
depends_on = None

log = logging.getLogger("vila.migrate")
_SQLITE_GUARDS = ("UPDATE", "DELETE")
_records = sa.table(
    "audit_record",
    sa.column("id", sa.BigInteger()),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_label", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("source_ip", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("method", sa.String()),
    sa.column("path", sa.String()),
    sa.column("before", json_type()),
    sa.column("after", json_type()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _postgres() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")


def _guards_off() -> None:
    """The append-only guard would refuse the one rewrite a migration does (or, on SQLite, be lost
    when the table is rebuilt); the migration role owns the table, so it may lift it meanwhile."""
    if _postgres():
        op.execute("ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only")
    else:
        for event in _SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS audit_record_no_{event.lower()}")


def _guards_on() -> None:
    if _postgres():
        op.execute("ALTER TABLE audit_record ENABLE TRIGGER audit_record_append_only")
    else:
        for event in _SQLITE_GUARDS:
            op.execute(
                f"CREATE TRIGGER audit_record_no_{event.lower()} BEFORE {event} ON audit_record "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def _chain_existing() -> None:
    conn = op.get_bind()
    prev = GENESIS
    last_id = -1
    while True:
        rows = conn.execute(sa.select(_records).where(_records.c.id > last_id).order_by(_records.c.id).limit(1000))
        batch = rows.all()
        if not batch:
            return
        updates: list[dict[str, Any]] = []
        for row in batch:
            sealed = seal(prev, row)
            updates.append({"rid": row.id, "p": prev, "h": sealed, "b": normal(row.before), "a": normal(row.after)})
            prev, last_id = sealed, row.id
        conn.execute(
            _records.update()
            .where(_records.c.id == sa.bindparam("rid"))
            .values(
                prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"), before=sa.bindparam("b"), after=sa.bindparam("a")
            ),
            updates,
        )


def upgrade() -> None:
    _guards_off()
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing()
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_record_prev_hash"), ["prev_hash"])
    _guards_on()

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="api", nullable=False))
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_token_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_parent_id_api_token"), "api_token", ["parent_id"], ["id"], ondelete="CASCADE"
        )
    op.execute("UPDATE api_token SET kind = 'web' WHERE name = 'web (oidc)'")

    role = context.config.attributes.get("app_role")
    if role is not None:
        for note in secure(op.get_bind(), role):
            log.warning("%s", note)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_token_parent_id_api_token"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_token_parent_id"))
        batch_op.drop_column("parent_id")
        batch_op.drop_column("kind")
    _guards_off()
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_record_prev_hash"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    _guards_on()
