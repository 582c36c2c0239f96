"""Messaging: recall (a message taken back by its sender or an admin); scheduled messages; the
e-mail channel; message templates per group; escalation chains (versioned) and
the record of escalation runs.

Revision ID: 0019_messaging
Revises: 0017_rest_periods
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_messaging"
down_revision = "0017_rest_periods"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("send_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("send_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("escalation_chain_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("chain_version_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("chain_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("chain_step_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_message_scheduled",
            ["send_at"],
            unique=False,
            postgresql_where=sa.text("state = 'scheduled'"),
            sqlite_where=sa.text("state = 'scheduled'"),
        )
    op.create_table(
        "email_choice",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounce_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_email_choice_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_email_choice")),
    )
    op.create_table(
        "email_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column(
            "message_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("smtp_message_id", sa.String(length=300), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_email_message_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_message")),
    )
    op.create_table(
        "message_template",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("deep_link", sa.String(length=2000), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group.id"], name=op.f("fk_message_template_group_id_group"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template")),
    )
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_template_group_id"), ["group_id"], unique=False)
    op.create_table(
        "escalation_chain",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_chain")),
        sa.UniqueConstraint("name", name=op.f("uq_escalation_chain_name")),
    )
    op.create_table(
        "escalation_chain_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "steps", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["escalation_chain.id"],
            name=op.f("fk_escalation_chain_version_chain_id_escalation_chain"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_chain_version")),
        sa.UniqueConstraint("chain_id", "version", name=op.f("uq_escalation_chain_version_chain_id_version")),
    )
    with op.batch_alter_table("escalation_chain_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_chain_version_chain_id"), ["chain_id"], unique=False)
    op.create_table(
        "escalation_step",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_escalation_step_message_id_message"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_step")),
    )
    with op.batch_alter_table("escalation_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_step_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_message_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_email_message_smtp_message_id"), ["smtp_message_id"], unique=False)


def downgrade() -> None:
    op.drop_table("escalation_step")
    op.drop_table("escalation_chain_version")
    op.drop_table("escalation_chain")
    op.drop_table("message_template")
    op.drop_table("email_message")
    op.drop_table("email_choice")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_scheduled")
        batch_op.drop_column("chain_step_at")
        batch_op.drop_column("chain_step")
        batch_op.drop_column("chain_version_id")
        batch_op.drop_column("escalation_chain_id")
        batch_op.drop_column("send_error")
        batch_op.drop_column("send_at")
        batch_op.drop_column("recalled_by")
        batch_op.drop_column("recalled_at")
