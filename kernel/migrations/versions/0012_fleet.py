"""The device fleet: assets, assignments and loans, subscriptions, offboarding checklists; a push
device may be an app install on an asset (`device.asset_id`), and a shared ward tablet's device and
deliveries belong to no person.

Revision ID: 0012_fleet
Revises: 0013_pilot
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_fleet"
down_revision = "0013_pilot"
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")
UNFINISHED = sa.text("finished_at IS NULL")
NOT_DONE = sa.text("done_at IS NULL")
HELD = sa.text("state = 'held'")


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "fleet_asset",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("manufacturer", sa.String(100), nullable=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("imei", sa.String(15), nullable=True),
        sa.Column("purchase_date", sa.Date(), nullable=True),
        sa.Column("purchase_price_ore", sa.Integer(), nullable=True),
        sa.Column("warranty_end", sa.Date(), nullable=True),
        sa.Column("managed_account", sa.String(16), nullable=False),
        sa.Column("mdm_id", sa.String(64), nullable=True),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _instant("state_since"),
        _instant("last_check_in_at", True),
        sa.Column("note", sa.String(500), nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_asset")),
        sa.UniqueConstraint("serial", name=op.f("uq_fleet_asset_serial")),
        sa.UniqueConstraint("imei", name=op.f("uq_fleet_asset_imei")),
    )
    op.create_index("ix_fleet_asset_state", "fleet_asset", ["state"])
    op.create_index(op.f("ix_fleet_asset_mdm_id"), "fleet_asset", ["mdm_id"])
    op.create_index(op.f("ix_fleet_asset_site"), "fleet_asset", ["site"])

    op.create_table(
        "fleet_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("cost_unit_id", sa.Uuid(), nullable=True),
        sa.Column("replaces_asset_id", sa.Uuid(), nullable=True),
        _instant("started_at"),
        _instant("ended_at", True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["fleet_asset.id"], name=op.f("fk_fleet_assignment_asset_id_fleet_asset"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_fleet_assignment_person_id_person"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group.id"], name=op.f("fk_fleet_assignment_group_id_group"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["cost_unit_id"], ["group.id"], name=op.f("fk_fleet_assignment_cost_unit_id_group"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["replaces_asset_id"],
            ["fleet_asset.id"],
            name=op.f("fk_fleet_assignment_replaces_asset_id_fleet_asset"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_assignment")),
    )
    op.create_index(
        "uq_fleet_assignment_open",
        "fleet_assignment",
        ["asset_id"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index("ix_fleet_assignment_person", "fleet_assignment", ["person_id"])
    op.create_index(op.f("ix_fleet_assignment_role"), "fleet_assignment", ["role"])

    op.create_table(
        "fleet_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("extension", sa.String(16), nullable=True),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(100), nullable=False),
        sa.Column("monthly_cost_ore", sa.Integer(), nullable=False),
        sa.Column("cost_centre", sa.String(32), nullable=True),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        _instant("ended_at", True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["fleet_asset.id"],
            name=op.f("fk_fleet_subscription_asset_id_fleet_asset"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_subscription")),
        sa.UniqueConstraint("number", name=op.f("uq_fleet_subscription_number")),
    )
    op.create_index(op.f("ix_fleet_subscription_asset_id"), "fleet_subscription", ["asset_id"])

    op.create_table(
        "fleet_offboarding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("leaving_on", sa.Date(), nullable=True),
        _instant("started_at"),
        _instant("finished_at", True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_fleet_offboarding_person_id_person"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_offboarding")),
    )
    op.create_index(
        "uq_fleet_offboarding_open",
        "fleet_offboarding",
        ["person_id"],
        unique=True,
        postgresql_where=UNFINISHED,
        sqlite_where=UNFINISHED,
    )

    op.create_table(
        "fleet_offboarding_step",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("offboarding_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        _instant("due_at"),
        _instant("done_at", True),
        sa.Column("done_by", sa.String(254), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        _instant("reminded_at", True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offboarding_id"],
            ["fleet_offboarding.id"],
            name=op.f("fk_fleet_offboarding_step_offboarding_id_fleet_offboarding"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["fleet_asset.id"],
            name=op.f("fk_fleet_offboarding_step_asset_id_fleet_asset"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["fleet_subscription.id"],
            name=op.f("fk_fleet_offboarding_step_subscription_id_fleet_subscription"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["person.id"], name=op.f("fk_fleet_offboarding_step_owner_id_person"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_offboarding_step")),
    )
    op.create_index("ix_fleet_offboarding_step_offboarding", "fleet_offboarding_step", ["offboarding_id"])
    op.create_index(
        "ix_fleet_offboarding_step_due",
        "fleet_offboarding_step",
        ["due_at"],
        postgresql_where=NOT_DONE,
        sqlite_where=NOT_DONE,
    )

    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column("asset_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_device_asset_id"), ["asset_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_device_asset_id_fleet_asset"), "fleet_asset", ["asset_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("recipient_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    # Rows that belong to no person (shared ward tablets) cannot go back into NOT NULL columns.
    op.execute("DELETE FROM delivery WHERE recipient_id IS NULL OR person_id IS NULL")
    op.execute("DELETE FROM device WHERE person_id IS NULL")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("recipient_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_device_asset_id_fleet_asset"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_device_asset_id"))
        batch_op.drop_column("asset_id")
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index("ix_fleet_offboarding_step_due", table_name="fleet_offboarding_step")
    op.drop_index("ix_fleet_offboarding_step_offboarding", table_name="fleet_offboarding_step")
    op.drop_table("fleet_offboarding_step")
    op.drop_index("uq_fleet_offboarding_open", table_name="fleet_offboarding")
    op.drop_table("fleet_offboarding")
    op.drop_index(op.f("ix_fleet_subscription_asset_id"), table_name="fleet_subscription")
    op.drop_table("fleet_subscription")
    op.drop_index(op.f("ix_fleet_assignment_role"), table_name="fleet_assignment")
    op.drop_index("ix_fleet_assignment_person", table_name="fleet_assignment")
    op.drop_index("uq_fleet_assignment_open", table_name="fleet_assignment")
    op.drop_table("fleet_assignment")
    op.drop_index(op.f("ix_fleet_asset_site"), table_name="fleet_asset")
    op.drop_index(op.f("ix_fleet_asset_mdm_id"), table_name="fleet_asset")
    op.drop_index("ix_fleet_asset_state", table_name="fleet_asset")
    op.drop_table("fleet_asset")
