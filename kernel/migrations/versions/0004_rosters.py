"""Rosters: on-call rosters with layers of rotations and overrides; materialised slots point back
at their roster; shifts keep the unit and shift type of the schedule they were imported from;
calendar feeds (export secret, linked calendars for DND, units' patient-meeting rules); on-call
reminders; working hours that skip public holidays.

Revision ID: 0004_rosters
Revises: 0003_messaging
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_rosters"
down_revision = "0003_messaging"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "roster",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("materialised_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["group.id"], name=op.f("fk_roster_group_id_group"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster")),
        sa.UniqueConstraint("role", name=op.f("uq_roster_role")),
    )
    with op.batch_alter_table("roster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_group_id"), ["group_id"], unique=False)

    op.create_table(
        "roster_layer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rotation", sa.String(length=16), nullable=False),
        sa.Column("length_days", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("handoff_time", sa.Time(), nullable=False),
        sa.Column(
            "participants",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("length_days >= 1", name=op.f("ck_roster_layer_length")),
        sa.ForeignKeyConstraint(
            ["roster_id"], ["roster.id"], name=op.f("fk_roster_layer_roster_id_roster"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_layer")),
    )
    with op.batch_alter_table("roster_layer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_layer_roster_id"), ["roster_id"], unique=False)

    op.create_table(
        "roster_override",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("ical_uid", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_roster_override_order")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["person.id"], name=op.f("fk_roster_override_created_by_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_roster_override_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"], ["roster.id"], name=op.f("fk_roster_override_roster_id_roster"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_override")),
    )
    with op.batch_alter_table("roster_override", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_override_roster_id"), ["roster_id"], unique=False)

    with op.batch_alter_table("on_call_slot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("roster_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_on_call_slot_roster_id"), ["roster_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_on_call_slot_roster_id_roster"), "roster", ["roster_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "calendar_feed",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_calendar_feed_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("digest", name=op.f("uq_calendar_feed_digest")),
    )
    op.create_table(
        "calendar_link",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_calendar_link_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_calendar_link")),
    )
    op.create_table(
        "calendar_rule",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("all_busy", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group.id"], name=op.f("fk_calendar_rule_group_id_group"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_calendar_rule")),
    )
    op.create_table(
        "on_call_reminder",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.Column("last_slot_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_on_call_reminder_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_on_call_reminder")),
    )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holidays", sa.String(length=16), nullable=True))

    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("shift_type", sa.String(length=50), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_shift_unit_id_group"), "group", ["unit_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_column("holidays")
    op.drop_table("on_call_reminder")
    op.drop_table("calendar_rule")
    op.drop_table("calendar_link")
    op.drop_table("calendar_feed")
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_shift_unit_id_group"), type_="foreignkey")
        batch_op.drop_column("shift_type")
        batch_op.drop_column("unit_id")

    with op.batch_alter_table("on_call_slot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_on_call_slot_roster_id_roster"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_on_call_slot_roster_id"))
        batch_op.drop_column("roster_id")

    with op.batch_alter_table("roster_override", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_override_roster_id"))
    op.drop_table("roster_override")
    with op.batch_alter_table("roster_layer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_layer_roster_id"))
    op.drop_table("roster_layer")
    with op.batch_alter_table("roster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_group_id"))
    op.drop_table("roster")
