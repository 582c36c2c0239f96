"""Policies: availability facts (shifts, working and quiet hours, DND, leave, on-call slots),
versioned HR rest-time policies with their group assignments, and the rest ledger.

Revision ID: 0002_policies
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_policies"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rest_policy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rest_policy")),
        sa.UniqueConstraint("name", name=op.f("uq_rest_policy_name")),
    )
    op.create_table(
        "dnd_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_dnd_session_order")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_dnd_session_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnd_session")),
    )
    with op.batch_alter_table("dnd_session", schema=None) as batch_op:
        batch_op.create_index("ix_dnd_session_person_end", ["person_id", "end_at"], unique=False)

    op.create_table(
        "leave",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_leave_order")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["person.id"], name=op.f("fk_leave_created_by_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_leave_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave")),
    )
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.create_index("ix_leave_person_end", ["person_id", "end_at"], unique=False)

    op.create_table(
        "on_call_slot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_on_call_slot_order")),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group.id"], name=op.f("fk_on_call_slot_group_id_group"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_on_call_slot_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_call_slot")),
    )
    with op.batch_alter_table("on_call_slot", schema=None) as batch_op:
        batch_op.create_index("ix_on_call_slot_person_end", ["person_id", "end_at"], unique=False)
        batch_op.create_index("ix_on_call_slot_role_end", ["role", "end_at"], unique=False)

    op.create_table(
        "policy_assignment",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["person.id"], name=op.f("fk_policy_assignment_assigned_by_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group.id"], name=op.f("fk_policy_assignment_group_id_group"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["rest_policy.id"],
            name=op.f("fk_policy_assignment_policy_id_rest_policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_policy_assignment")),
    )
    with op.batch_alter_table("policy_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_assignment_policy_id"), ["policy_id"], unique=False)

    op.create_table(
        "quiet_hours",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_quiet_hours_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiet_hours")),
    )
    with op.batch_alter_table("quiet_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quiet_hours_person_id"), ["person_id"], unique=False)

    op.create_table(
        "rest_policy_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("daily_rest_hours", sa.Float(), nullable=False),
        sa.Column("weekly_rest_hours", sa.Float(), nullable=False),
        sa.Column(
            "working_time",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("hold_target", sa.String(length=16), nullable=False),
        sa.Column("morning_time", sa.Time(), nullable=False),
        sa.Column("urgent_override_allowed", sa.Boolean(), nullable=False),
        sa.Column(
            "override_roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("override_reason_required", sa.Boolean(), nullable=False),
        sa.Column("override_weekly_cap", sa.Integer(), nullable=False),
        sa.Column("compensatory_days", sa.Integer(), nullable=False),
        sa.Column("content_free_push", sa.Boolean(), nullable=False),
        sa.Column("approval_note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("compensatory_days >= 0", name=op.f("ck_rest_policy_version_compensatory_days")),
        sa.CheckConstraint(
            "daily_rest_hours >= 0 AND daily_rest_hours <= 24", name=op.f("ck_rest_policy_version_daily_rest")
        ),
        sa.CheckConstraint("override_weekly_cap >= 0", name=op.f("ck_rest_policy_version_cap")),
        sa.CheckConstraint(
            "weekly_rest_hours >= 0 AND weekly_rest_hours <= 168", name=op.f("ck_rest_policy_version_weekly_rest")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_rest_policy_version_author_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["rest_policy.id"],
            name=op.f("fk_rest_policy_version_policy_id_rest_policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rest_policy_version")),
        sa.UniqueConstraint("policy_id", "version", name=op.f("uq_rest_policy_version_policy_id_version")),
    )
    with op.batch_alter_table("rest_policy_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rest_policy_version_policy_id"), ["policy_id"], unique=False)

    op.create_table(
        "shift",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("planned_end > planned_start", name=op.f("ck_shift_planned_order")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_shift_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift")),
    )
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.create_index("ix_shift_person_start", ["person_id", "planned_start"], unique=False)

    op.create_table(
        "working_hours",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_working_hours_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_working_hours_person_id"), ["person_id"], unique=False)

    op.create_table(
        "rest_ledger_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "states", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("on_call", sa.String(length=16), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column(
            "rules", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("sender_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("policy_version_id", sa.Uuid(), nullable=True),
        sa.Column("restarts_rest", sa.Boolean(), nullable=False),
        sa.Column("compensatory_minutes", sa.Integer(), nullable=False),
        sa.Column("compensatory_due", sa.Date(), nullable=True),
        sa.Column("granted_minutes", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["person.id"], name=op.f("fk_rest_ledger_entry_granted_by_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_rest_ledger_entry_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["rest_policy_version.id"],
            name=op.f("fk_rest_ledger_entry_policy_version_id_rest_policy_version"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["person.id"], name=op.f("fk_rest_ledger_entry_sender_id_person"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rest_ledger_entry")),
    )
    with op.batch_alter_table("rest_ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rest_ledger_entry_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_rest_ledger_entry_person_at", ["person_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rest_ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_rest_ledger_entry_person_at")
        batch_op.drop_index(batch_op.f("ix_rest_ledger_entry_message_id"))

    op.drop_table("rest_ledger_entry")
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_working_hours_person_id"))

    op.drop_table("working_hours")
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.drop_index("ix_shift_person_start")

    op.drop_table("shift")
    with op.batch_alter_table("rest_policy_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rest_policy_version_policy_id"))

    op.drop_table("rest_policy_version")
    with op.batch_alter_table("quiet_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiet_hours_person_id"))

    op.drop_table("quiet_hours")
    with op.batch_alter_table("policy_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_assignment_policy_id"))

    op.drop_table("policy_assignment")
    with op.batch_alter_table("on_call_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_on_call_slot_role_end")
        batch_op.drop_index("ix_on_call_slot_person_end")

    op.drop_table("on_call_slot")
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.drop_index("ix_leave_person_end")

    op.drop_table("leave")
    with op.batch_alter_table("dnd_session", schema=None) as batch_op:
        batch_op.drop_index("ix_dnd_session_person_end")

    op.drop_table("dnd_session")
    op.drop_table("rest_policy")
