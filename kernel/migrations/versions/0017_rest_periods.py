"""The rest ledger counts lost rest per rest period: a `rest_period` table, and each ledger entry
points to the period it fell in (its compensatory minutes become its share of the period's).
Existing entries are regrouped by `vila ledger recompute`, which audits what it changed.

Revision ID: 0017_rest_periods
Revises: 0011_webpush_subscription
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_rest_periods"
down_revision = "0011_webpush_subscription"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rest_period",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("required_minutes", sa.Integer(), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rest_minutes", sa.Integer(), nullable=True),
        sa.Column("compensatory_minutes", sa.Integer(), nullable=False),
        sa.Column("compensatory_due", sa.Date(), nullable=True),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("policy_version_id", sa.Uuid(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_rest_period_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["rest_policy_version.id"],
            name=op.f("fk_rest_period_policy_version_id_rest_policy_version"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rest_period")),
        sa.UniqueConstraint("person_id", "start_at", name=op.f("uq_rest_period_person_id_start_at")),
    )
    op.create_index(op.f("ix_rest_period_person_id"), "rest_period", ["person_id"], unique=False)
    with op.batch_alter_table("rest_ledger_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_rest_ledger_entry_period_id"), ["period_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_rest_ledger_entry_period_id_rest_period"),
            "rest_period",
            ["period_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("rest_ledger_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rest_ledger_entry_period_id_rest_period"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_rest_ledger_entry_period_id"))
        batch_op.drop_column("period_id")
    op.drop_index(op.f("ix_rest_period_person_id"), table_name="rest_period")
    op.drop_table("rest_period")
