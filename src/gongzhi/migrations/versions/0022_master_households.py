"""the master index's households: persons sharing a household number in a registry

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_master_household",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("household_number", sa.String(length=60), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("head_entity_id", sa.BigInteger(), nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("deceased_count", sa.Integer(), nullable=False),
        sa.Column("on_low_income", sa.Boolean(), nullable=False),
        sa.Column("on_poverty", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["data_master_build.id"],
            name=op.f("fk_data_master_household_build_id_data_master_build"),
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_master_household_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["head_entity_id"],
            ["data_master_entity.id"],
            name=op.f("fk_data_master_household_head_entity_id_data_master_entity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_household")),
    )
    op.create_index(
        op.f("ix_data_master_household_build_id"),
        "data_master_household",
        ["build_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_data_master_household_region_code"),
        "data_master_household",
        ["region_code"],
        unique=False,
    )
    op.create_table(
        "data_master_household_member",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["data_master_household.id"],
            name=op.f("fk_data_master_household_member_household_id_data_master_household"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["data_master_entity.id"],
            name=op.f("fk_data_master_household_member_entity_id_data_master_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["data_master_link.id"],
            name=op.f("fk_data_master_household_member_link_id_data_master_link"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_household_member")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_data_master_household_member_entity_id")),
    )
    op.create_index(
        op.f("ix_data_master_household_member_household_id"),
        "data_master_household_member",
        ["household_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("data_master_household_member")
    op.drop_table("data_master_household")
