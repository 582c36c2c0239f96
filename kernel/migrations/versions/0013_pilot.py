"""The pilot evaluation: pilots, participants (profession, device kind, unit, arm), survey waves,
invitations ("has answered") and anonymous answers ("what was answered": no person, no timestamp,
a random id, and on SQLite no rowid).

Revision ID: 0013_pilot
Revises: 0008_audit_chain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_pilot"
down_revision = "0008_audit_chain"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pilot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_questions", JSON, nullable=False),
        sa.Column("cost_inputs", JSON, nullable=False),
        sa.Column("rollout", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('planned', 'running', 'finished')", name=op.f("ck_pilot_status")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_pilot_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot")),
        sa.UniqueConstraint("code", name=op.f("uq_pilot_code")),
    )
    op.create_table(
        "pilot_participant",
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("profession", sa.String(length=64), nullable=False),
        sa.Column("device_kind", sa.String(length=8), nullable=True),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "arm = 'comparison' OR device_kind IS NOT NULL", name=op.f("ck_pilot_participant_pilot_has_device")
        ),
        sa.CheckConstraint("arm IN ('pilot', 'comparison')", name=op.f("ck_pilot_participant_arm")),
        sa.CheckConstraint(
            "device_kind IS NULL OR device_kind IN ('phone', 'tablet')", name=op.f("ck_pilot_participant_device_kind")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_pilot_participant_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pilot_id"], ["pilot.id"], name=op.f("fk_pilot_participant_pilot_id_pilot"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["group.id"], name=op.f("fk_pilot_participant_unit_id_group"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("pilot_id", "person_id", name=op.f("pk_pilot_participant")),
    )
    with op.batch_alter_table("pilot_participant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pilot_participant_person_id"), ["person_id"], unique=False)

    op.create_table(
        "pilot_survey",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("wave", sa.String(length=16), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("wave IN ('baseline', 'midpoint', 'final')", name=op.f("ck_pilot_survey_wave")),
        sa.CheckConstraint("closes_at > opens_at", name=op.f("ck_pilot_survey_window")),
        sa.ForeignKeyConstraint(
            ["pilot_id"], ["pilot.id"], name=op.f("fk_pilot_survey_pilot_id_pilot"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_survey")),
        sa.UniqueConstraint("pilot_id", "wave", name=op.f("uq_pilot_survey_pilot_id_wave")),
    )
    op.create_table(
        "pilot_survey_answer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("profession", sa.String(length=64), nullable=False),
        sa.Column("device_kind", sa.String(length=8), nullable=True),
        sa.Column("reachability", sa.SmallInteger(), nullable=False),
        sa.Column("stress", sa.SmallInteger(), nullable=False),
        sa.Column("coordination", sa.SmallInteger(), nullable=False),
        sa.Column("information", sa.SmallInteger(), nullable=False),
        sa.Column("disturbance", sa.SmallInteger(), nullable=False),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.CheckConstraint("arm IN ('pilot', 'comparison')", name=op.f("ck_pilot_survey_answer_arm")),
        sa.CheckConstraint("coordination BETWEEN 1 AND 5", name=op.f("ck_pilot_survey_answer_coordination")),
        sa.CheckConstraint("disturbance BETWEEN 1 AND 5", name=op.f("ck_pilot_survey_answer_disturbance")),
        sa.CheckConstraint("information BETWEEN 1 AND 5", name=op.f("ck_pilot_survey_answer_information")),
        sa.CheckConstraint("reachability BETWEEN 1 AND 5", name=op.f("ck_pilot_survey_answer_reachability")),
        sa.CheckConstraint("stress BETWEEN 1 AND 5", name=op.f("ck_pilot_survey_answer_stress")),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["pilot_survey.id"],
            name=op.f("fk_pilot_survey_answer_survey_id_pilot_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_survey_answer")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("pilot_survey_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pilot_survey_answer_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "pilot_survey_invitation",
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_pilot_survey_invitation_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["pilot_survey.id"],
            name=op.f("fk_pilot_survey_invitation_survey_id_pilot_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("survey_id", "person_id", name=op.f("pk_pilot_survey_invitation")),
    )
    with op.batch_alter_table("pilot_survey_invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pilot_survey_invitation_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pilot_survey_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pilot_survey_invitation_person_id"))

    op.drop_table("pilot_survey_invitation")
    with op.batch_alter_table("pilot_survey_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pilot_survey_answer_survey_id"))

    op.drop_table("pilot_survey_answer")
    op.drop_table("pilot_survey")
    with op.batch_alter_table("pilot_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pilot_participant_person_id"))

    op.drop_table("pilot_participant")
    op.drop_table("pilot")
