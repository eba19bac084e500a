"""the audit events as an RFC 9162 Merkle log with signed checkpoints

Every event gets its leaf hash; the sequencer's tables (audit_leaf, audit_node) and the
signed checkpoints are added; and the database itself refuses to change or delete any of
them (triggers), except the retention prune, which may only empty the payload of an event
older than 180 days and must leave its leaf hash and the rest of the row as they were.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The retention floor the triggers enforce whatever the configuration says (the setting is
# refused below it too): six months.
MIN_RETENTION_DAYS = 180

APPEND_ONLY_TABLES = ("audit_leaf", "audit_node", "audit_checkpoint", "audit_log")

# Which columns a prune must leave alone (NULL-safe comparison on both backends).
KEPT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "region_code",
    "leaf_hash",
)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("leaf_hash", sa.LargeBinary(64), nullable=True))
        batch.add_column(sa.Column("pruned_at", gongzhi.db.UTCDateTime(), nullable=True))
        batch.alter_column("canonical", existing_type=sa.Text(), nullable=True)
    _backfill_leaf_hashes(bind)
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("leaf_hash", existing_type=sa.LargeBinary(64), nullable=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("hash_algorithm", sa.String(10), nullable=False),
        sa.Column("started_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "audit_leaf",
        sa.Column("leaf_index", gongzhi.db.BigIntPK, autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(64), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_audit_leaf")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_leaf_event_id")),
    )
    op.create_table(
        "audit_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(64), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_audit_node")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(64), nullable=False),
        sa.Column("signed_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(65), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoint_tree_size")),
    )
    if bind.dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _backfill_leaf_hashes(bind: sa.engine.Connection) -> None:
    """Events written before the log existed get H(0x00 ‖ canonical) with the configured hash
    (the log's hash is fixed from here on)."""
    from gongzhi.config import get_settings

    algorithm = get_settings().audit_hash
    event = sa.table(
        "audit_event",
        sa.column("id", sa.BigInteger()),
        sa.column("canonical", sa.Text()),
        sa.column("leaf_hash", sa.LargeBinary()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(event.c.id, event.c.canonical)
            .where(event.c.id > last)
            .order_by(event.c.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        bind.execute(
            event.update()
            .where(event.c.id == sa.bindparam("b_id"))
            .values(leaf_hash=sa.bindparam("b_hash")),
            [
                {
                    "b_id": r.id,
                    "b_hash": hashlib.new(algorithm, b"\x00" + r.canonical.encode()).digest(),
                }
                for r in rows
            ],
        )
        last = rows[-1].id


def _prune_shape(distinct: str, now_minus_floor: str) -> str:
    same = " AND ".join(f"NEW.{c} {distinct} OLD.{c}" for c in KEPT_COLUMNS)
    return (
        "OLD.canonical IS NOT NULL AND NEW.canonical IS NULL AND NEW.old IS NULL "
        "AND NEW.new IS NULL AND NEW.reason IS NULL AND NEW.pruned_at IS NOT NULL "
        f"AND {same} AND OLD.occurred_at < {now_minus_floor}"
    )


def _sqlite_triggers() -> None:
    prune = _prune_shape("IS", f"datetime('now', '-{MIN_RETENTION_DAYS} days')")
    op.execute(
        "CREATE TRIGGER audit_event_append_only_update BEFORE UPDATE ON audit_event "
        f"FOR EACH ROW WHEN NOT ({prune}) "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END"
    )
    for table in APPEND_ONLY_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def _postgresql_triggers() -> None:
    prune = _prune_shape("IS NOT DISTINCT FROM", f"now() - interval '{MIN_RETENTION_DAYS} days'")
    op.execute(
        """
        CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND {prune} THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_guard()"
    )
    for table in ("audit_event", *APPEND_ONLY_TABLES):
        if table != "audit_event":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("audit_event", *APPEND_ONLY_TABLES):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_event_guard()")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    else:
        for table in ("audit_event", *APPEND_ONLY_TABLES):
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{verb}")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_node")
    op.drop_table("audit_leaf")
    op.drop_table("audit_log")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("pruned_at")
        batch.drop_column("leaf_hash")
        batch.alter_column("canonical", existing_type=sa.Text(), nullable=False)
