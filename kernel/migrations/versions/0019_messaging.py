"""Messaging: recall (a message taken back by its sender or an admin).

Revision ID: 0019_messaging
Revises: 0011_webpush_subscription
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_messaging"
down_revision = "0011_webpush_subscription"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("recalled_by")
        batch_op.drop_column("recalled_at")
