"""Open311 API keys per channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_api_key",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(60), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_api_key_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("open311_api_key")
