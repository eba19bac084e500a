"""Grid cells (网格): code assignment under a village, renames, urban-rural class changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.regions import queries
from gongzhi.regions.models import Region
from gongzhi.regions.services import create_grid_cell, rename_grid_cell, set_urban_rural_class
from tests.regions.fixtures import ANJI, DIPU, YUHUA, make_grid

ACTOR = SystemActor("test")


def _events(db: Session, action: str, object_id: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
        )
    )


def test_grid_codes_count_up_under_each_village(db: Session) -> None:
    first = make_grid(db, YUHUA, "第一网格")
    second = make_grid(db, YUHUA, "第二网格")
    other = make_grid(db, "330523001002", "苕秀一格")
    assert (first.code, second.code) == (YUHUA + "001", YUHUA + "002")
    assert other.code == "330523001002001"
    assert (first.level, first.parent_code) == (6, YUHUA)
    assert [g.code for g in queries.children(db, YUHUA)] == [first.code, second.code]
    assert queries.path_names(db, first.code)[-2:] == ["玉华村委会", "第一网格"]
    # a grid inherits its village's class
    assert (first.is_urban, first.urban_rural_derived) == (False, True)
    assert _events(db, "regions.grid.create", first.code)[0].new == {
        "code": first.code,
        "name": "第一网格",
        "parent_code": YUHUA,
    }


def test_the_next_code_follows_the_highest_even_after_a_gap(db: Session) -> None:
    db.add(
        Region(
            code=YUHUA + "007",
            name="旧网格",
            short_name="旧网格",
            aliases=[],
            level=6,
            parent_code=YUHUA,
            urban_rural_derived=False,
        )
    )
    db.flush()
    assert make_grid(db, YUHUA, "新网格").code == YUHUA + "008"


def test_codes_run_out_after_999(db: Session) -> None:
    db.add(
        Region(
            code=YUHUA + "999",
            name="末网格",
            short_name="末网格",
            aliases=[],
            level=6,
            parent_code=YUHUA,
            urban_rural_derived=False,
        )
    )
    db.flush()
    with pytest.raises(Conflict) as err:
        make_grid(db, YUHUA, "再一个")
    assert err.value.code == "grid_codes_exhausted"


def test_grid_names_are_unique_within_a_village(db: Session) -> None:
    make_grid(db, YUHUA, "第一网格")
    with pytest.raises(Conflict):
        make_grid(db, YUHUA, " 第一网格 ")
    # the same name under another village is fine
    assert make_grid(db, "330523001002", "第一网格").code.endswith("001")


@pytest.mark.parametrize(
    ("code", "error"),
    [(DIPU, Invalid), (ANJI, Invalid), ("330523103299", NotFound), ("nonsense", NotFound)],
)
def test_grids_hang_under_existing_villages_only(
    db: Session, code: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_grid_cell(db, village_code=code, name="网格", actor=ACTOR)


def test_an_empty_name_is_refused(db: Session) -> None:
    with pytest.raises(Invalid):
        make_grid(db, YUHUA, "   ")


def test_rename_records_old_and_new(db: Session) -> None:
    grid = make_grid(db, YUHUA, "第一网格")
    make_grid(db, YUHUA, "第二网格")
    renamed = rename_grid_cell(db, code=grid.code, name="玉华东片", actor=ACTOR)
    assert (renamed.name, renamed.short_name) == ("玉华东片", "玉华东片")
    event = _events(db, "regions.grid.rename", grid.code)[0]
    assert event.old is not None and event.new is not None
    assert (event.old["name"], event.new["name"]) == ("第一网格", "玉华东片")
    with pytest.raises(Conflict):
        rename_grid_cell(db, code=grid.code, name="第二网格", actor=ACTOR)
    with pytest.raises(NotFound):
        rename_grid_cell(db, code=YUHUA, name="不是网格", actor=ACTOR)


def test_set_urban_rural_class(db: Session) -> None:
    region = set_urban_rural_class(db, code=YUHUA, urban_rural_code="122", actor=ACTOR)
    assert (region.urban_rural_code, region.is_urban, region.urban_rural_derived) == (
        "122",
        True,
        False,
    )
    event = _events(db, "regions.region.set_urban_rural_class", YUHUA)[0]
    assert event.old is not None and event.new is not None
    assert event.old["urban_rural_derived"] is True and event.new["urban_rural_code"] == "122"
    with pytest.raises(Invalid):
        set_urban_rural_class(db, code=YUHUA, urban_rural_code="130", actor=ACTOR)
    with pytest.raises(Invalid):
        set_urban_rural_class(db, code=DIPU, urban_rural_code="111", actor=ACTOR)
