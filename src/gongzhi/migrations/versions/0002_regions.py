"""regions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# Names compare by code point on PostgreSQL (prefix search as an index range).
NAME = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(15), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("short_name", NAME, nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.String(15), nullable=True),
        sa.Column("urban_rural_code", sa.String(3), nullable=True),
        sa.Column("is_urban", sa.Boolean(), nullable=True),
        sa.Column("urban_rural_derived", sa.Boolean(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["region.code"], name=op.f("fk_region_parent_code_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_region_name"), "region", ["name"])
    op.create_index(op.f("ix_region_short_name"), "region", ["short_name"])
    op.create_index(op.f("ix_region_parent_code"), "region", ["parent_code"])
    op.create_index(op.f("ix_region_updated_at"), "region", ["updated_at"])


def downgrade() -> None:
    op.drop_table("region")
