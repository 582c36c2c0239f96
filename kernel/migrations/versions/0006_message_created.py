"""An index on when a message was accepted: the metrics count the last 24 hours and retention
finds what is older than its period, neither by reading every message.

Revision ID: 0006_message_created
Revises: 0005_lean_deliveries
"""

from __future__ import annotations

from alembic import op

revision = "0006_message_created"
down_revision = "0005_lean_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_created")
