"""departments name their head (a staff member) for escalation notices

The head is a flag on the staff profile (the membership: a profile belongs to one
department), at most one a department through a partial unique index.

Data: before this revision the escalation guessed heads from staff titles (…长, 主任, 书记,
负责人). The upgrade applies that guess once, so a deployment keeps the recipients it had:
in each department the first active staff member (by account) whose title ends so becomes
the head. From here on only ``set_department_head`` (the department page, the org import)
names a head; the titles are not read at run time any more.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

HEAD_TITLE_ENDINGS = ("长", "主任", "书记", "负责人")


def upgrade() -> None:
    op.add_column(
        "staff_profile",
        sa.Column("is_head", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ux_staff_profile_department_head",
        "staff_profile",
        ["department_id"],
        unique=True,
        sqlite_where=sa.text("is_head"),
        postgresql_where=sa.text("is_head"),
    )
    _heads_from_titles()


def _heads_from_titles() -> None:
    conn = op.get_bind()
    staff = sa.table(
        "staff_profile",
        sa.column("id", sa.BigInteger),
        sa.column("account_id", sa.BigInteger),
        sa.column("department_id", sa.BigInteger),
        sa.column("title", sa.String),
        sa.column("is_head", sa.Boolean),
    )
    account = sa.table("account", sa.column("id", sa.BigInteger), sa.column("active", sa.Boolean))
    rows = conn.execute(
        sa.select(staff.c.id, staff.c.department_id, staff.c.title)
        .join(account, account.c.id == staff.c.account_id)
        .where(account.c.active.is_(True), staff.c.title.is_not(None))
        .order_by(staff.c.department_id, staff.c.account_id)
    )
    chosen: dict[int, int] = {}
    for profile_id, department_id, title in rows:
        if department_id not in chosen and title.strip().endswith(HEAD_TITLE_ENDINGS):
            chosen[department_id] = profile_id
    for profile_id in chosen.values():
        conn.execute(sa.update(staff).where(staff.c.id == profile_id).values(is_head=True))


def downgrade() -> None:
    op.drop_index("ux_staff_profile_department_head", table_name="staff_profile")
    with op.batch_alter_table("staff_profile") as batch:
        batch.drop_column("is_head")
