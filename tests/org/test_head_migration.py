"""Migration 0021 names each department's head once from the old title guess (the first
active staff member whose title ends in 长, 主任, 书记 or 负责人), and keeps one head a
department from then on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade

NOW = "2026-01-01 00:00:00"
# (account id, department id, title, active)
STAFF = [
    (1, 1, "科员", True),
    (2, 1, "局长", True),
    (3, 1, "副局长", True),  # a later one with a head's title: not the head
    (4, 2, "镇长", False),  # inactive: passed over
    (5, 2, "党委书记", True),
    (6, 3, "办事员", True),  # no head's title: no head
    (7, 3, None, True),
]


def test_the_upgrade_names_heads_from_titles_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'heads.db'}")
    try:
        with engine.begin() as conn:
            upgrade(conn, "0020")
            for dept in (1, 2, 3):
                conn.execute(
                    text(
                        "INSERT INTO department (id, code, name, kind, level, region_code,"
                        " active, created_at, updated_at) VALUES (:id, :code, '部门',"
                        " 'functional', 'county', '330523000000', 1, :now, :now)"
                    ),
                    {"id": dept, "code": f"D{dept}", "now": NOW},
                )
            for account, dept, title, active in STAFF:
                conn.execute(
                    text(
                        "INSERT INTO account (id, username, display_name, kind, password_hash,"
                        " active, created_at, password_changed_at, password_must_change,"
                        " failed_login_count) VALUES (:id, :u, :u, 'staff', 'x', :active,"
                        " :now, :now, 0, 0)"
                    ),
                    {"id": account, "u": f"u{account}", "active": active, "now": NOW},
                )
                conn.execute(
                    text(
                        "INSERT INTO staff_profile (account_id, department_id, title, row_key,"
                        " created_at, updated_at) VALUES (:a, :d, :t, :k, :now, :now)"
                    ),
                    {"a": account, "d": dept, "t": title, "k": bytes([account]) * 16, "now": NOW},
                )
        with engine.begin() as conn:
            upgrade(conn, "0021")
            heads = dict(
                conn.execute(
                    text("SELECT department_id, account_id FROM staff_profile WHERE is_head")
                ).all()
            )
        assert heads == {1: 2, 2: 5}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE staff_profile SET is_head = 1 WHERE account_id = 3"))
    finally:
        engine.dispose()
