"""Local region files: every bad row is named, and nothing is imported unless all are good."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.audit.services import SystemActor
from gongzhi.errors import Invalid
from gongzhi.regions import cli
from gongzhi.regions.models import Region
from gongzhi.regions.services import import_region_csv
from tests.regions.fixtures import ANJI

ACTOR = SystemActor("test")
HEADER = "code,name,parent_code,level,urban_rural_class"
# A fictitious township of 安吉县 (code 990) with two villages and a grid cell.
GOOD_ROWS = [
    "330523990000,测试镇,330523000000,4,",
    "330523990201,甲村村民委员会,330523990000,5,220",
    "330523990001,乙社区居民委员会,330523990000,5,",
    "330523990201001,甲村一网格,330523990201,6,",
]


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _import(db: Session, text: str | bytes, filename: str = "regions.csv"):  # type: ignore[no-untyped-def]
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_region_csv(db, data=data, filename=filename, actor=ACTOR)


def _stored(db: Session, prefix: str = "330523990") -> int:
    return (
        db.scalar(select(func.count()).select_from(Region).where(Region.code.startswith(prefix)))
        or 0
    )


def test_a_good_file_is_imported_and_reimport_changes_nothing(db: Session) -> None:
    result = _import(db, _csv(*GOOD_ROWS))
    assert result.counts.as_dict() == {"inserted": 4, "updated": 0, "unchanged": 0}
    village = db.get(Region, "330523990201")
    community = db.get(Region, "330523990001")
    grid = db.get(Region, "330523990201001")
    assert village is not None and community is not None and grid is not None
    # a given class wins and is not marked derived
    assert (village.urban_rural_code, village.is_urban, village.urban_rural_derived) == (
        "220",
        False,
        False,
    )
    assert (community.urban_rural_code, community.is_urban, community.urban_rural_derived) == (
        None,
        True,
        True,
    )
    assert (grid.level, grid.parent_code) == (6, "330523990201")
    assert village.short_name == "甲村"
    again = _import(db, _csv(*GOOD_ROWS))
    assert again.counts.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 4}


def test_rows_may_come_in_any_order(db: Session) -> None:
    result = _import(db, _csv(*reversed(GOOD_ROWS)))
    assert result.counts.inserted == 4


def test_a_given_class_replaces_a_derived_one(db: Session) -> None:
    _import(db, _csv(*GOOD_ROWS))
    rows = [*GOOD_ROWS[:2], "330523990001,乙社区居民委员会,330523990000,5,112", GOOD_ROWS[3]]
    result = _import(db, _csv(*rows))
    assert result.counts.updated == 1
    community = db.get(Region, "330523990001")
    assert community is not None
    assert (community.urban_rural_code, community.urban_rural_derived) == ("112", False)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)],
)
def test_encodings(db: Session, encoding: str, bom: bool) -> None:
    rows = list(GOOD_ROWS)
    if encoding == "gb18030":
        # 㘵 is outside GBK: only a GB18030 reader gets it back
        rows[1] = "330523990201,㘵村村民委员会,330523990000,5,220"
    data = _csv(*rows).encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    _import(db, data)
    village = db.get(Region, "330523990201")
    assert village is not None
    assert village.name == rows[1].split(",")[1]


def test_windows_line_endings_and_spaces_in_the_header(db: Session) -> None:
    text = _csv(*GOOD_ROWS, header="Code, Name ,parent_code,LEVEL").replace("\n", "\r\n")
    text = "\r\n".join(",".join(line.split(",")[:4]) for line in text.split("\r\n"))
    assert _import(db, text).counts.inserted == 4


def test_a_missing_column_is_reported_and_nothing_imported(db: Session) -> None:
    with pytest.raises(Invalid) as err:
        _import(db, _csv("330523990000,测试镇,4", header="code,name,level"))
    assert err.value.code == "missing_columns"
    assert err.value.details == [{"line": 1, "code": None, "reason": "missing column parent_code"}]
    assert _stored(db) == 0


def test_every_bad_row_is_named_and_nothing_imported(db: Session) -> None:
    rows = [
        *GOOD_ROWS,  # lines 2-5, fine on their own
        "33052399100,短码村,330523990000,5,",  # 6: 11 digits
        "330523990202,层级村,330523990000,4,",  # 7: level does not match
        "330523990203,错父村,330523001000,5,",  # 8: not the arithmetic parent
        "330523998201,孤儿村,330523998000,5,",  # 9: parent nowhere
        "330523990201,重复村,330523990000,5,",  # 10: duplicate of line 3
        "330523990204,类别村,330523990000,5,999",  # 11: bad class
        "330523990205,,330523990000,5,",  # 12: empty name
        "330523991000,类别镇,330523000000,4,111",  # 13: class above village level
    ]
    with pytest.raises(Invalid) as err:
        _import(db, _csv(*rows))
    assert err.value.code == "bad_rows"
    details = err.value.details
    assert [(d["line"], d["code"]) for d in details] == [
        (6, "33052399100"),
        (7, "330523990202"),
        (8, "330523990203"),
        (9, "330523998201"),
        (10, "330523990201"),
        (11, "330523990204"),
        (12, "330523990205"),
        (13, "330523991000"),
    ]
    reasons = [d["reason"] for d in details]
    assert reasons[0].startswith("bad code")
    assert "does not match" in reasons[1]
    assert "is not 330523990000" in reasons[2]
    assert reasons[3].startswith("orphan")
    assert reasons[4] == "duplicate code (first on line 3)"
    assert reasons[5].startswith("bad urban_rural_class 999")
    assert reasons[6] == "empty name"
    assert "village-level" in reasons[7]
    assert _stored(db) == 0


def test_a_parent_already_stored_is_not_an_orphan(db: Session) -> None:
    result = _import(db, _csv(f"330523990000,测试镇,{ANJI},4,"))
    assert result.counts.inserted == 1


def test_undecodable_bytes_are_refused(db: Session) -> None:
    with pytest.raises(Invalid) as err:
        _import(db, HEADER.encode() + b"\n330523990000,\xff\xff,330523000000,4,\n")
    assert err.value.code == "bad_encoding"
    assert _stored(db) == 0


# --- the command --------------------------------------------------------------------------

from tests.fixtures import run_cli_in_test_session  # noqa: E402

runner = CliRunner()


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    run_cli_in_test_session(monkeypatch, cli, db)
    return db


def test_cli_prints_the_bad_rows_and_fails(cli_db: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv(*GOOD_ROWS, "330523998201,孤儿村,330523998000,5,").encode("gbk"))
    result = runner.invoke(cli.app, ["import", "--csv", str(path)])
    assert result.exit_code == 1
    assert "bad_rows" in result.output
    assert "330523998201" in result.output and "orphan" in result.output
    assert _stored(cli_db) == 0


def test_cli_imports_a_good_file(cli_db: Session, tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_bytes(_csv(*GOOD_ROWS).encode("utf-8-sig"))
    result = runner.invoke(cli.app, ["import", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 inserted, 0 updated, 0 unchanged" in result.output
    assert _stored(cli_db) == 4
