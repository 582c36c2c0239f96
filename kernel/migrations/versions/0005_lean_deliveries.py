"""Lean delivery rows: a broadcast writes one per device, so each keeps only the foreign key to its
recipient (deletes still cascade through it) and indexes by state, person and release instant
only over held rows, the only ones looked up that way.

Revision ID: 0005_lean_deliveries
Revises: 0004_rosters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_lean_deliveries"
down_revision = "0004_rosters"
branch_labels = None
depends_on = None

HELD = sa.text("state = 'held'")


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_device_id_device", type_="foreignkey")
        batch_op.drop_constraint("fk_delivery_message_id_message", type_="foreignkey")
        batch_op.drop_index("ix_delivery_state_due")
        batch_op.drop_index("ix_delivery_person_id")
        batch_op.create_index("ix_delivery_held_due", ["not_before"], postgresql_where=HELD, sqlite_where=HELD)
        batch_op.create_index("ix_delivery_held_person", ["person_id"], postgresql_where=HELD, sqlite_where=HELD)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_held_person")
        batch_op.drop_index("ix_delivery_held_due")
        batch_op.create_index("ix_delivery_person_id", ["person_id"], unique=False)
        batch_op.create_index("ix_delivery_state_due", ["state", "not_before"], unique=False)
        batch_op.create_foreign_key(
            "fk_delivery_message_id_message", "message", ["message_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key("fk_delivery_device_id_device", "device", ["device_id"], ["id"], ondelete="CASCADE")
