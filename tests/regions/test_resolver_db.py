"""``get_resolver(db)``: the resolver built from the region table, cached per table version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from gongzhi.regions import resolver as resolver_module
from gongzhi.regions.models import Region
from gongzhi.regions.names import written_forms
from gongzhi.regions.resolver import get_resolver, invalidate

# A made-up province (code 99) so the test does not depend on what the seed imported.
TREE = [
    ("990000000000", "测试省", 1, None),
    ("990100000000", "甲乙市", 2, "990000000000"),
    ("990102000000", "丙丁县", 3, "990100000000"),
    ("990102101000", "戊己镇", 4, "990102000000"),
    ("990102101201", "庚辛村村民委员会", 5, "990102101000"),
]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # Each test sees its own transaction's table; leave no index built from it behind.
    invalidate()
    yield
    invalidate()


def _add(db: Session, code: str, name: str, level: int, parent: str | None) -> None:
    short, aliases = written_forms(name, level)
    db.add(
        Region(
            code=code,
            name=name,
            short_name=short,
            aliases=aliases,
            level=level,
            parent_code=parent,
        )
    )
    db.flush()


def test_get_resolver_reads_the_region_table_and_follows_changes(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for row in TREE:
        _add(db, *row)
    resolver = get_resolver(db, home_region="990102000000")
    assert get_resolver(db, home_region="990102000000") is resolver  # cached

    got = resolver.resolve("丙丁县戊己镇庚辛村12号")
    assert got.code == "990102101201"
    assert got.names == ["测试省", "甲乙市", "丙丁县", "戊己镇", "庚辛村村民委员会"]
    assert got.remainder == "12号"

    # A new row changes the table version, noticed at the next version check.
    _add(db, "990102101202", "壬癸社区居民委员会", 5, "990102101000")
    assert get_resolver(db, home_region="990102000000") is resolver  # not checked yet
    monkeypatch.setattr(resolver_module, "VERSION_CHECK_SECONDS", 0.0)
    rebuilt = get_resolver(db, home_region="990102000000")
    assert rebuilt is not resolver
    assert rebuilt.resolve("戊己镇壬癸社区").code == "990102101202"
    assert get_resolver(db, home_region="990102000000") is rebuilt  # same version: kept

    invalidate()
    assert get_resolver(db, home_region="990102000000") is not rebuilt


def test_get_resolver_on_the_seeded_tree(db: Session) -> None:
    # The seed imports every county of China and every village of 湖州 and 杭州.
    resolver = get_resolver(db, home_region="330523000000")
    got = resolver.resolve("浙江湖州安吉县孝丰镇横溪坞村 12号")
    assert got.to_json()["code"] == "330523105202"
    assert got.names == ["浙江省", "湖州市", "安吉县", "孝丰镇", "横溪坞村委会"]
    assert got.remainder == "12号"
    assert resolver.resolve("安吉递铺").code == "330523001000"
    assert resolver.resolve("内蒙古鄂尔多斯东胜区").code == "150602000000"


def test_warm_up_builds_the_cached_index_ahead_of_requests(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from gongzhi.regions import resolver

    resolver.invalidate()
    resolver.warm_up(lambda: Session(bind=engine), "330523000000")
    assert any(home == "330523000000" for _url, home in resolver._cache)
    with Session(bind=engine) as db:
        cached = resolver.get_resolver(db, home_region="330523000000")
    assert cached.resolve("安吉县递铺街道").to_json()["code"] == "330523001000"


def test_warm_up_survives_a_database_without_regions() -> None:
    from sqlalchemy.orm import Session

    from gongzhi.db import make_engine
    from gongzhi.regions import resolver

    empty = make_engine("sqlite://")
    resolver.warm_up(lambda: Session(bind=empty), None)  # logs, does not raise
