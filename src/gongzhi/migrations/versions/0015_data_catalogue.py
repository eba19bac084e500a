"""the data hub's catalogue, schemas and immutable dataset versions

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_dataset",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("resource_class", sa.String(length=20), nullable=False),
        sa.Column("resource_format", sa.String(length=20), nullable=False),
        sa.Column("sharing_type", sa.String(length=20), nullable=False),
        sa.Column("sharing_condition", sa.Text(), nullable=False),
        sa.Column("sharing_method", sa.String(length=40), nullable=False),
        sa.Column("open_type", sa.String(length=20), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=False),
        sa.Column("update_cycle", sa.String(length=20), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("table_schema", sa.JSON(), nullable=False),
        sa.Column("max_rejected_ratio", sa.Float(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_data_dataset_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_dataset")),
        sa.UniqueConstraint("code", name=op.f("uq_data_dataset_code")),
    )
    with op.batch_alter_table("data_dataset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_dataset_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "data_dataset_version",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("imported_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("imported_by_id", sa.BigInteger(), nullable=True),
        sa.Column("imported_by_label", sa.String(length=200), nullable=False),
        sa.Column("source_filename", sa.String(length=255), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_size", sa.BigInteger(), nullable=False),
        sa.Column("source_format", sa.String(length=10), nullable=False),
        sa.Column("source_encoding", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("table_schema", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_dataset_version_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["account.id"],
            name=op.f("fk_data_dataset_version_imported_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_dataset_version")),
        sa.UniqueConstraint(
            "dataset_id", "number", name=op.f("uq_data_dataset_version_dataset_id_number")
        ),
    )
    with op.batch_alter_table("data_dataset_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_dataset_version_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "data_dataset_row",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["data_dataset_version.id"],
            name=op.f("fk_data_dataset_row_version_id_data_dataset_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_dataset_row")),
    )
    with op.batch_alter_table("data_dataset_row", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_dataset_row_version_key", ["version_id", "row_key"], unique=True
        )

    op.create_table(
        "data_import_job",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("file_report", sa.JSON(), nullable=True),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["account.id"], name=op.f("fk_data_import_job_created_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_import_job_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["data_dataset_version.id"],
            name=op.f("fk_data_import_job_version_id_data_dataset_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import_job")),
    )
    with op.batch_alter_table("data_import_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_import_job_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "data_import_issue",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["data_import_job.id"],
            name=op.f("fk_data_import_issue_job_id_data_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import_issue")),
    )
    with op.batch_alter_table("data_import_issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_import_issue_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_table("data_import_issue")
    op.drop_table("data_import_job")
    op.drop_table("data_dataset_row")
    op.drop_table("data_dataset_version")
    op.drop_table("data_dataset")
