"""the master index of persons and legal entities linked across department datasets

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_master_build",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("built_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("built_by_label", sa.String(length=200), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("entity_count", sa.Integer(), nullable=False),
        sa.Column("pair_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_build")),
        sa.UniqueConstraint("kind", name=op.f("uq_data_master_build_kind")),
    )
    op.create_table(
        "data_master_entity",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("dataset_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["data_master_build.id"],
            name=op.f("fk_data_master_entity_build_id_data_master_build"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_entity")),
    )
    op.create_index(
        op.f("ix_data_master_entity_build_id"), "data_master_entity", ["build_id"], unique=False
    )
    op.create_index(
        op.f("ix_data_master_entity_dataset_count"),
        "data_master_entity",
        ["dataset_count"],
        unique=False,
    )
    op.create_table(
        "data_master_link",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("record_key", sa.String(length=80), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_master_link_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["data_master_entity.id"],
            name=op.f("fk_data_master_link_entity_id_data_master_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["row_id"],
            ["data_dataset_row.id"],
            name=op.f("fk_data_master_link_row_id_data_dataset_row"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["data_dataset_version.id"],
            name=op.f("fk_data_master_link_version_id_data_dataset_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_link")),
        sa.UniqueConstraint("row_id", name=op.f("uq_data_master_link_row_id")),
    )
    op.create_index(
        op.f("ix_data_master_link_entity_id"), "data_master_link", ["entity_id"], unique=False
    )
    op.create_table(
        "data_master_pair",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=False),
        sa.Column("left_link_id", sa.BigInteger(), nullable=False),
        sa.Column("right_link_id", sa.BigInteger(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["data_master_build.id"],
            name=op.f("fk_data_master_pair_build_id_data_master_build"),
        ),
        sa.ForeignKeyConstraint(
            ["left_link_id"],
            ["data_master_link.id"],
            name=op.f("fk_data_master_pair_left_link_id_data_master_link"),
        ),
        sa.ForeignKeyConstraint(
            ["right_link_id"],
            ["data_master_link.id"],
            name=op.f("fk_data_master_pair_right_link_id_data_master_link"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_master_pair")),
    )
    for column in ("build_id", "left_link_id", "right_link_id"):
        op.create_index(
            op.f(f"ix_data_master_pair_{column}"), "data_master_pair", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("data_master_pair")
    op.drop_table("data_master_link")
    op.drop_table("data_master_entity")
    op.drop_table("data_master_build")
