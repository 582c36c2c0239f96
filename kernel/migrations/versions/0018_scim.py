"""Provisioning from the identity system (SCIM) and bulk import: a person's employment fields
(employee number, department, employment type, manager) and which fields the identity system
provides; a group's external id; and the provisioning errors the admin pages show.

Revision ID: 0018_scim
Revises: 0019_messaging
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_scim"
down_revision = "0019_messaging"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employee_number", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("department", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("employment_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("manager_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("provisioned", JSON, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_person_manager_id_person"), "person", ["manager_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("provisioned", sa.Boolean(), server_default="0", nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_group_external_id"), ["external_id"])
    op.create_table(
        "provisioning_error",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_error")),
    )
    op.create_index(op.f("ix_provisioning_error_at"), "provisioning_error", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_provisioning_error_at"), table_name="provisioning_error")
    op.drop_table("provisioning_error")
    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_group_external_id"), type_="unique")
        batch_op.drop_column("provisioned")
        batch_op.drop_column("external_id")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_person_manager_id_person"), type_="foreignkey")
        batch_op.drop_column("provisioned")
        batch_op.drop_column("manager_id")
        batch_op.drop_column("employment_type")
        batch_op.drop_column("department")
        batch_op.drop_column("employee_number")
