"""Reads of the region tree, and proof from the query planner that subtree and ancestor
queries use the primary-key index instead of scanning the table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gongzhi.errors import NotFound
from gongzhi.regions import queries
from tests.regions.fixtures import ANJI, DIPU, YUHUA, ZHANGWU


def test_get_and_children(db: Session) -> None:
    anji = queries.get_or_404(db, ANJI)
    assert (anji.name, anji.short_name, anji.level) == ("安吉县", "安吉", 3)
    kids = queries.children(db, ANJI)
    assert kids[0].code == DIPU and kids[0].name == "递铺街道"
    assert [k.code for k in kids] == sorted(k.code for k in kids)
    assert all(k.parent_code == ANJI for k in kids)
    with pytest.raises(NotFound):
        queries.get_or_404(db, "330523999000")
    with pytest.raises(NotFound):
        queries.get_or_404(db, "not-a-code")


def test_subtree_is_the_region_and_its_descendants(db: Session) -> None:
    rows = queries.subtree(db, ZHANGWU)
    assert rows[0].code == ZHANGWU
    assert {r.level for r in rows} == {4, 5}
    assert all(r.code.startswith("330523103") for r in rows)
    assert len(rows) == 1 + len(queries.children(db, ZHANGWU))
    assert [r.level for r in queries.subtree(db, ANJI, max_level=4)].count(4) == 15


def test_ancestors_and_path_names(db: Session) -> None:
    assert [r.code for r in queries.ancestors(db, YUHUA)] == [
        "330000000000",
        "330500000000",
        ANJI,
        ZHANGWU,
    ]
    assert queries.path_names(db, YUHUA) == ["浙江省", "湖州市", "安吉县", "鄣吴镇", "玉华村委会"]
    assert queries.ancestors(db, "330000000000") == []
    # municipalities: the 市辖区 level is a tree node but no part of a written address
    assert queries.path_names(db, "110105000000") == ["北京市", "朝阳区"]
    assert queries.path_names(db, "110105000000", skip_placeholders=False) == [
        "北京市",
        "市辖区",
        "朝阳区",
    ]


def test_search_by_name_prefix(db: Session) -> None:
    found = queries.search(db, "安吉")
    assert found[0].code == ANJI
    assert {r.code for r in queries.search(db, "鄣吴")} >= {ZHANGWU}
    # the short name matches too: 玉华 finds 玉华村委会
    assert YUHUA in {r.code for r in queries.search(db, "玉华")}
    # scoped to a subtree
    within = queries.search(db, "城", within=ANJI)
    assert within and all(r.code.startswith("330523") for r in within)
    assert queries.search(db, "  ") == []
    assert queries.search(db, "不存在的地方") == []


# --- query plans --------------------------------------------------------------------------


def _plan(db: Session, stmt: Any) -> str:
    bind = db.get_bind()
    sql = str(stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        rows = db.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
        return "\n".join(str(r[-1]) for r in rows)
    # The seeded table is small: for a province the planner rightly prefers reading it all.
    # Forbidding sequential scans asks whether an index *can* answer the query; a filter no
    # index serves still plans as a Seq Scan (see test_the_plan_check_can_fail).
    db.execute(text("SET LOCAL enable_seqscan = off"))
    return "\n".join(str(r[0]) for r in db.execute(text("EXPLAIN " + sql)).all())


def _assert_uses_index(db: Session, plan: str) -> None:
    if db.get_bind().dialect.name == "sqlite":
        # "SEARCH region USING PRIMARY KEY (code>? AND code<?)", never "SCAN region"
        assert "SEARCH region USING PRIMARY KEY" in plan, plan
        assert "SCAN region" not in plan, plan
    else:
        assert "Index" in plan and "pk_region" in plan, plan
        assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("code", [ANJI, ZHANGWU, "330000000000"])
def test_subtree_query_is_an_index_range(db: Session, code: str) -> None:
    _assert_uses_index(db, _plan(db, queries.subtree_statement(code)))


@pytest.mark.parametrize("code", [YUHUA, ANJI, YUHUA + "001"])
def test_ancestor_query_is_primary_key_lookups(db: Session, code: str) -> None:
    _assert_uses_index(db, _plan(db, queries.ancestors_statement(code)))


def test_name_search_uses_the_name_indexes(db: Session) -> None:
    plan = _plan(db, queries.search_statement("安吉"))
    if db.get_bind().dialect.name == "sqlite":
        assert "ix_region_name" in plan and "ix_region_short_name" in plan, plan
        assert "SCAN region" not in plan, plan
    else:
        assert "ix_region_name" in plan and "ix_region_short_name" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_the_plan_check_can_fail(db: Session) -> None:
    from sqlalchemy import select

    from gongzhi.regions.models import Region

    # A filter on an unindexed column must show up as a scan.
    plan = _plan(db, select(Region).where(Region.urban_rural_code == "111"))
    with pytest.raises(AssertionError):
        _assert_uses_index(db, plan)
