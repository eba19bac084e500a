"""Importing the responsibility list: every rejection reason with its line and column, every
encoding, XLSX, nothing written on error, idempotent re-import, and a new version replacing
the old one with an audit event."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Invalid
from gongzhi.org import queries, services
from gongzhi.org.importing import CANONICAL_HEADER, decode_text
from gongzhi.org.models import Matter, OrgLevel
from gongzhi.org.services import DATA_DIR
from tests.org.fixtures import ENFORCEMENT, HOUSING, ZHANGWU

ACTOR = SystemActor("test-import")
HEADER = ",".join(CANONICAL_HEADER)


def row(code: str = "T-001", name: str = "井盖缺失", **over: str) -> str:
    values = {
        "事项编码": code,
        "事项名称": name,
        "事项类型": "部件",
        "上级编码": "",
        "关键词": "井盖、窨井盖",
        "事项说明": "",
        "法律依据": "《城市道路管理条例》",
        "县级牵头": "县住建局",
        "县级协办": "县综合执法局",
        "乡镇级牵头": "属地",
        "乡镇级协办": "",
        "村级牵头": "",
        "村级协办": "",
        "派遣时限(小时)": "0.5",
        "签收时限(小时)": "1",
        "办理时限(工作日)": "2",
        "反馈时限(工作日)": "1",
        "是否下沉": "是",
    }
    values.update(over)
    return ",".join(values[h] for h in CANONICAL_HEADER)


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def errors_of(db: Session, data: bytes, filename: str = "list.csv") -> list[dict[str, Any]]:
    before = db.scalar(select(func.count()).select_from(Matter))
    with pytest.raises(Invalid) as info:
        services.import_responsibilities(db, data, filename=filename, actor=ACTOR)
    assert info.value.code == "import_rejected"
    # All or nothing: the demo list is untouched.
    assert db.scalar(select(func.count()).select_from(Matter)) == before
    assert db.scalar(select(func.count()).select_from(Matter).where(Matter.active)) == 71
    details = info.value.details
    assert isinstance(details, list)
    return details


def where(errors: list[dict[str, Any]]) -> set[tuple[int, str]]:
    return {(e["line"], e["column"]) for e in errors}


# -- rejections ---------------------------------------------------------------------------


def test_missing_columns_are_named(db: Session) -> None:
    header = HEADER.replace(",县级牵头", "").replace(",办理时限(工作日)", "")
    errors = errors_of(db, csv_bytes(header=header))
    assert where(errors) == {(1, "县级牵头"), (1, "办理时限(工作日)")}
    assert all("missing column" in e["reason"] for e in errors)


def test_every_bad_row_is_reported_with_line_column_and_reason(db: Session) -> None:
    data = csv_bytes(
        row("T-001"),  # line 2: fine
        row("T-002", name=""),  # 3: empty name
        row("", name="无编码"),  # 4: empty code
        row("T-004", **{"县级牵头": "县不存在局"}),  # 5: unknown department
        row("T-005", **{"县级协办": "县民政局、县不存在局"}),  # 6: unknown co-handler
        row("T-006", **{"派遣时限(小时)": "两小时"}),  # 7: not a number
        row("T-007", **{"办理时限(工作日)": "2.5"}),  # 8: not whole
        row("T-008", **{"反馈时限(工作日)": "-1"}),  # 9: negative
        row("T-001", name="重复"),  # 10: duplicate code
        row("T-010", **{"事项类型": "物件"}),  # 11: bad kind
        row("T-011", **{"是否下沉": "也许"}),  # 12: bad yes/no
        row("T-012", **{"县级牵头": "县住建局、县民政局"}),  # 13: two leads
        row("T-013", **{"县级牵头": "属地"}),  # 14: 属地 cannot lead at county level
        row("T-014", **{"上级编码": "NOPE"}),  # 15: unknown parent
        row("T-015", **{"签收时限(小时)": ""}),  # 16: limit missing although led
        row("T-016", **{"乡镇级牵头": "", "是否下沉": "是"}),  # 17: delegated, no township lead
        row("T-017", **{"县级协办": "县住建局"}),  # 18: co-handler is the lead
        row("T-018", **{"派遣时限(小时)": "nan"}),  # 19: not finite
        row("T 019"),  # 20: bad code characters
    )
    errors = errors_of(db, data)
    assert where(errors) == {
        (3, "事项名称"),
        (4, "事项编码"),
        (5, "县级牵头"),
        (6, "县级协办"),
        (7, "派遣时限(小时)"),
        (8, "办理时限(工作日)"),
        (9, "反馈时限(工作日)"),
        (10, "事项编码"),
        (11, "事项类型"),
        (12, "是否下沉"),
        (13, "县级牵头"),
        (14, "县级牵头"),
        (15, "上级编码"),
        (16, "签收时限(小时)"),
        (17, "乡镇级牵头"),
        (18, "县级协办"),
        (19, "派遣时限(小时)"),
        (20, "事项编码"),
    }
    reasons = {e["line"]: e["reason"] for e in errors}
    assert "县不存在局" in reasons[5]
    assert "县不存在局" in reasons[6]
    assert "first on line 2" in reasons[10]


def test_duplicates_are_found_even_when_the_first_row_has_other_errors(db: Session) -> None:
    errors = errors_of(db, csv_bytes(row("T-1", name=""), row("T-1")))
    assert where(errors) == {(2, "事项名称"), (3, "事项编码")}


def test_parent_cycle(db: Session) -> None:
    data = csv_bytes(row("A", **{"上级编码": "B"}), row("B", **{"上级编码": "A"}))
    errors = errors_of(db, data)
    assert {e["line"] for e in errors} == {2, 3}
    assert all("cycle" in e["reason"] for e in errors)


def test_line_numbers_count_physical_lines_of_quoted_multiline_cells(db: Session) -> None:
    multiline = row("T-1", **{"事项说明": '"第一行\n第二行"'})
    errors = errors_of(db, csv_bytes(multiline, row("T-2", name="")))
    assert where(errors) == {(4, "事项名称")}


def test_empty_file_and_header_only(db: Session) -> None:
    assert errors_of(db, b"")[0]["reason"].startswith("文件为空")
    assert "no data rows" in errors_of(db, csv_bytes())[0]["reason"]


def test_undecodable_bytes_are_rejected_not_guessed(db: Session) -> None:
    # 0x80 alone is neither UTF-8 nor a valid GB18030 sequence start.
    errors = errors_of(db, HEADER.encode() + b"\n\x80\x80\xff\n")
    assert errors[0]["reason"].startswith("encoding")


def test_damaged_xlsx(db: Session) -> None:
    errors = errors_of(db, b"PK\x03\x04 not really a zip", filename="list.xlsx")
    assert errors[0]["reason"].startswith("xlsx")


# -- encodings and formats ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_each_encoding_is_read(db: Session, encoding: str) -> None:
    text = HEADER + "\n" + _demo_body() + row("ENC-1", name="井盖缺失（编码测试）") + "\n"
    result = services.import_responsibilities(db, text.encode(encoding), actor=ACTOR)
    assert result.created == ["ENC-1"] and result.unchanged == 71
    matter = db.scalar(select(Matter).where(Matter.code == "ENC-1"))
    assert matter is not None and matter.name == "井盖缺失（编码测试）"
    assert matter.keywords == ["井盖", "窨井盖"]


def test_gb18030_only_characters_survive(db: Session) -> None:
    # 𠀀 (U+20000) is outside GBK; GB18030 encodes it in four bytes.
    data = csv_bytes(row("GB-1", name="𠀀字事项"), encoding="gb18030")
    assert decode_text(data).splitlines()[1].split(",")[1] == "𠀀字事项"


def test_tab_separated_text_from_spreadsheets(db: Session) -> None:
    header = "\t".join(CANONICAL_HEADER)
    body = row("TAB-1").replace(",", "\t")
    result = services.import_responsibilities(
        db, (HEADER.replace(",", "\t") + "\n" + body + "\n").encode("utf-16"), actor=ACTOR
    )
    assert result.created == ["TAB-1"]
    assert header.startswith("事项编码\t")


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_import_with_numeric_cells(db: Session) -> None:
    good = row("X-1").split(",")
    cells: list[Any] = [*good[:13], 0.5, 1, 2, 1, "是"]
    result = services.import_responsibilities(
        db, _xlsx([CANONICAL_HEADER, cells]), filename="list.xlsx", actor=ACTOR
    )
    assert result.created == ["X-1"]
    matter = queries.get_matter(db, "X-1")
    county = next(r for r in matter.responsibilities if r.level == "county")
    assert county.dispatch_hours == 0.5 and county.handling_days == 2
    assert len(result.deactivated) == 71  # the file is the whole new list


def test_xlsx_rejections_name_the_spreadsheet_rows(db: Session) -> None:
    good = row("X-1").split(",")
    bad = [*good[:7], "县不存在局", *good[8:13], "abc", 1, 2, 1, "是"]
    errors = errors_of(db, _xlsx([CANONICAL_HEADER, bad, bad]), filename="list.xlsx")
    assert (2, "县级牵头") in where(errors) and (2, "派遣时限(小时)") in where(errors)
    assert (3, "事项编码") in where(errors)  # duplicate of row 2


def test_english_headers_are_accepted(db: Session) -> None:
    english = (
        "code,name,kind,county_lead,township_lead,village_lead,"
        "dispatch_hours,signoff_hours,handling_days,feedback_days,delegated"
    )
    data = (english + f"\nEN-1,Manhole,component,{HOUSING},@local,,1,1,2,1,yes\n").encode()
    result = services.import_responsibilities(db, data, actor=ACTOR)
    assert result.created == ["EN-1"]
    lead = queries.lead_for(db, "EN-1", ZHANGWU)
    assert lead is not None and lead.level == OrgLevel.TOWNSHIP


# -- versions -----------------------------------------------------------------------------


def _demo_body() -> str:
    text = (DATA_DIR / "responsibilities.csv").read_text(encoding="utf-8")
    return text.split("\n", 1)[1]


def _keep_demo_rows() -> bytes:
    return (HEADER + "\n" + _demo_body()).encode()


def _import_events(db: Session) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "org.responsibility.import")
            .order_by(AuditEvent.id)
        )
    )


def test_reimporting_the_demo_file_is_idempotent(db: Session) -> None:
    before = len(_import_events(db))
    data = (DATA_DIR / "responsibilities.csv").read_bytes()
    result = services.import_responsibilities(db, data, actor=ACTOR)
    assert not result.changed and result.unchanged == 71
    assert len(_import_events(db)) == before
    # The same list in GBK is the same list.
    gbk = data.decode("utf-8").encode("gbk")
    assert not services.import_responsibilities(db, gbk, actor=ACTOR).changed


def test_a_new_version_replaces_rows_and_records_one_event(db: Session) -> None:
    body = _demo_body().splitlines()
    # Change XC-002's county lead and limits, drop XC-071, add a new matter with a parent.
    body = [
        line.replace("县住建局,县综合执法局,属地,,,,0.5,0.5,1,1", "县综合执法局,,属地,,,,1,1,3,2")
        if line.startswith("XC-002,")
        else line
        for line in body
        if not line.startswith("XC-071,")
    ]
    body.append(row("XC-900", name="井盖异响", **{"上级编码": "XC-002"}))
    data = (HEADER + "\n" + "\n".join(body) + "\n").encode()
    result = services.import_responsibilities(db, data, filename="v2.csv", actor=ACTOR)
    assert result.created == ["XC-900"]
    assert result.updated == ["XC-002"]
    assert result.deactivated == ["XC-071"]
    assert result.unchanged == 69

    matter = queries.get_matter(db, "XC-002")
    county = next(r for r in matter.responsibilities if r.level == "county")
    assert county.lead_department is not None and county.lead_department.code == ENFORCEMENT
    assert county.co_handlers == [] and county.handling_days == 3
    assert queries.get_matter(db, "XC-900").parent is matter
    assert queries.lead_for(db, "XC-071", ZHANGWU) is None  # deactivated
    assert not queries.get_matter(db, "XC-071").active

    event = _import_events(db)[-1]
    assert event.new is not None
    assert event.new["created"] == ["XC-900"] and event.new["deactivated"] == ["XC-071"]
    assert event.new["filename"] == "v2.csv" and len(event.new["version"]) == 64

    # Importing the original again restores XC-002 and reactivates XC-071.
    again = services.import_responsibilities(
        db, (DATA_DIR / "responsibilities.csv").read_bytes(), actor=ACTOR
    )
    assert sorted(again.updated) == ["XC-002", "XC-071"]
    assert again.deactivated == ["XC-900"]
