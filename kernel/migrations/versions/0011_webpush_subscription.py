"""A Web Push device keeps its browser subscription: the endpoint is the device's token, and the
keys that every payload is encrypted for (RFC 8291) sit beside it.

Revision ID: 0011_webpush_subscription
Revises: 0012_fleet
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_webpush_subscription"
down_revision = "0012_fleet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webpush_p256dh", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("webpush_auth", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("webpush_auth")
        batch_op.drop_column("webpush_p256dh")
