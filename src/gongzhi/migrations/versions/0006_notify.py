"""notification outbox and in-app notifications

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("recipient_account_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_phone", sa.String(40), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("claimed_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("sent_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("provider_message_id", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("read_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.ForeignKeyConstraint(
            ["recipient_account_id"],
            ["account.id"],
            name=op.f("fk_notification_recipient_account_id_account"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_notification_case_number"), "notification", ["case_number"])
    op.create_index(
        "ix_notification_status_next_attempt_at", "notification", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_recipient_account_id_read_at",
        "notification",
        ["recipient_account_id", "read_at"],
    )


def downgrade() -> None:
    op.drop_table("notification")
