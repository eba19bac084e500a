"""daily roll-up of the case indicator counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

``case_indicator_day`` (which local days are rolled up, and as of when) and
``case_indicator_rollup`` (their counts per department and township, and per village), kept
by ``gongzhi.cases.rollup``; an index on ``service_case.updated_at`` finds the cases changed
since a day was rolled up. The tables start empty: ``gongzhi cases rollup`` builds them over
an existing history (the ``cases.rollup_indicators`` job also fills them, a few weeks per run).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_service_case_updated_at", "service_case", ["updated_at"], unique=False)
    op.create_table(
        "case_indicator_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("ends_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("rolled_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("checked_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_indicator_day")),
    )
    counts = [
        sa.Column(name, sa.Integer(), nullable=False)
        for name in (
            "dispatched",
            "responded",
            "returned",
            "closed",
            "resolved",
            "rated",
            "satisfied",
            "due",
            "met",
            "verified",
            "reworked",
        )
    ]
    op.create_table(
        "case_indicator_rollup",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grain", sa.String(length=12), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        *counts,
        sa.ForeignKeyConstraint(
            ["day"],
            ["case_indicator_day.day"],
            name=op.f("fk_case_indicator_rollup_day_case_indicator_day"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_indicator_rollup")),
    )
    op.create_index("ix_case_indicator_rollup_grain_day", "case_indicator_rollup", ["grain", "day"])


def downgrade() -> None:
    op.drop_index("ix_case_indicator_rollup_grain_day", table_name="case_indicator_rollup")
    op.drop_table("case_indicator_rollup")
    op.drop_table("case_indicator_day")
    op.drop_index("ix_service_case_updated_at", table_name="service_case")
