"""Importing files into dataset versions: encodings, headers, bad rows, all or nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.crypto import get_provider
from gongzhi.data import queries, services
from gongzhi.data.importing import ImportRefused
from gongzhi.data.models import DatasetRow, DatasetVersion, ImportIssue, ImportJob
from tests.data.helpers import (
    ACTOR,
    PERSON_HEADER,
    csv_bytes,
    id_number,
    import_bytes,
    make_dataset,
    person_row,
    write,
)


def _rows(db: Session, version: DatasetVersion) -> list[DatasetRow]:
    return list(
        db.scalars(
            select(DatasetRow)
            .where(DatasetRow.version_id == version.id)
            .order_by(DatasetRow.row_number)
        )
    )


def _values(db: Session, settings: Any, version: DatasetVersion) -> list[dict[str, Any]]:
    provider = get_provider(settings)
    return [queries.row_values(provider, version.id, r) for r in _rows(db, version)]


def test_a_clean_utf8_file_becomes_version_one(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db)
    data = csv_bytes([person_row(i) for i in range(1, 6)])
    outcome = import_bytes(db, settings, dataset, tmp_path, data, as_of=date(2026, 11, 20))
    version = outcome.version
    assert (version.number, version.rows_read, version.row_count, version.rows_rejected) == (
        1,
        5,
        5,
        0,
    )
    assert version.source_encoding == "utf-8"
    assert version.as_of == date(2026, 11, 20)
    rows = _rows(db, version)
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    # Personal fields are sealed, never in the payload; the key is a keyed index.
    assert "身份证号" not in rows[0].payload and "姓名" not in rows[0].payload
    assert rows[0].payload["性别"] == "男"
    assert rows[0].row_key.startswith("~")
    assert rows[0].sealed is not None and "张伟".encode() not in rows[0].sealed
    assert rows[0].region_code == "330523103202"
    values = _values(db, settings, version)[0]
    assert values["姓名"] == "张伟" and values["姓名#pinyin"] == "zhang wei"
    assert values["身份证号"] == id_number("330523", "19800101", 1)
    q = version.quality["dataset"]
    assert q["conformity"] == 1.0 and q["completeness"] == 1.0 and q["accuracy"] == 1.0
    assert q["consistency"] == 1.0 and q["accessibility"] == 0.5


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_bom_gbk_and_gb18030_files_are_read(
    db: Session, settings: Any, tmp_path: Path, encoding: str, expected: str
) -> None:
    dataset = make_dataset(db)
    # 喆 and 堃 are outside GB2312; GBK and GB18030 both have them.
    data = csv_bytes([person_row(1, name="王喆"), person_row(3, name="李堃")], encoding=encoding)
    version = import_bytes(db, settings, dataset, tmp_path, data).version
    assert version.source_encoding == expected
    assert [v["姓名"] for v in _values(db, settings, version)] == ["王喆", "李堃"]


def test_a_file_in_neither_encoding_is_refused(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db)
    utf16 = csv_bytes([person_row(1)]).decode().encode("utf-16")
    with pytest.raises(ImportRefused) as caught:
        import_bytes(db, settings, dataset, tmp_path, utf16)
    assert caught.value.code == "bad_encoding"
    garbage = b"\xff\xfe\xfd,\x80\x80\n" * 3
    with pytest.raises(ImportRefused) as caught:
        import_bytes(db, settings, dataset, tmp_path, garbage)
    assert caught.value.code == "bad_encoding"
    assert "UTF-8" in caught.value.message and "GB18030" in caught.value.message


def test_a_wrong_header_refuses_the_whole_file(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db)
    header = [h for h in PERSON_HEADER if h != "民族"] + ["备注"]
    data = csv_bytes([person_row(1)], header=header)
    with pytest.raises(ImportRefused) as caught:
        import_bytes(db, settings, dataset, tmp_path, data)
    assert caught.value.code == "header_rejected"
    report = {(r["column"], r["reason"].split(" / ")[1]) for r in caught.value.file_report}
    assert report == {("备注", "unexpected column"), ("民族", "missing column")}
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) == 0


def test_header_matches_titles_and_ignores_order_and_width(
    db: Session, settings: Any, tmp_path: Path
) -> None:
    dataset = make_dataset(db)
    header = list(reversed(PERSON_HEADER))
    header[header.index("联系电话")] = " 联系电话 "
    header[header.index("更新日期")] = "信息更新日期"  # the field's title
    rows = [{("信息更新日期" if k == "更新日期" else k): v for k, v in person_row(1).items()}]
    rows[0][" 联系电话 "] = rows[0].pop("联系电话")
    version = import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows, header=header)).version
    assert version.row_count == 1
    assert _values(db, settings, version)[0]["更新日期"] == "2026-11-01"


def test_standardisation_before_validation(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db, max_rejected_ratio=0.5)
    old_id = "330523800101003"  # a 15-digit number of 1980-01-01, serial 003
    rows = [
        person_row(
            1,
            name="張 偉國",
            身份证号="３３０５２３１９８００１０１００１" + id_number("330523", "19800101", 1)[-1],
        ),
        person_row(3, 身份证号=old_id, 出生日期="1980/1/1", 联系电话="+86 138-0000-0003"),
        person_row(5, 行政区划代码="330523"),
    ]
    rows[1]["性别"] = "男"
    version = import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows)).version
    assert version.rows_rejected == 0, version.quality
    first, second, third = _values(db, settings, version)
    assert first["姓名"] == "张伟国" and first["姓名#pinyin"] == "zhang wei guo"
    assert first["身份证号"] == id_number("330523", "19800101", 1)
    assert second["身份证号"] == id_number("330523", "19800101", 3)
    assert second["出生日期"] == "1980-01-01" and second["联系电话"] == "13800000003"
    assert third["行政区划代码"] == "330523000000"
    counts = version.quality["counts"]["fields"]
    assert counts["身份证号"]["standardised"] == 2 and counts["姓名"]["standardised"] == 1


def test_bad_rows_are_rejected_and_reported(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db, max_rejected_ratio=0.5)
    rows = [person_row(i) for i in range(1, 21)]
    rows[2]["联系电话"] = "12345"  # pattern
    rows[4]["性别"] = "未知"  # enum
    rows[6]["姓名"] = ""  # required
    rows[8]["出生日期"] = "1980-02-30"  # type
    outcome = import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows))
    version = outcome.version
    assert (version.rows_read, version.row_count, version.rows_rejected) == (20, 16, 4)
    job = db.scalar(select(ImportJob).where(ImportJob.version_id == version.id))
    assert job is not None and job.status == "succeeded"
    issues = {(i.row_number, i.field, i.code) for i in queries.issues(db, job)}
    assert issues == {
        (4, "联系电话", "constraint-error"),
        (6, "性别", "constraint-error"),
        (8, "姓名", "missing-cell"),
        (10, "出生日期", "type-error"),
    }
    csv_text = "".join(queries.issues_csv(db, job))
    assert csv_text.startswith("\ufeff行号 row,")
    # Values of sensitive fields never reach the report; others do.
    assert "12345" not in csv_text and "未知" in csv_text


def test_duplicate_keys(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db, max_rejected_ratio=0.5)
    rows = [person_row(i) for i in range(1, 9)]
    rows.append(dict(rows[0]))  # the same row again
    rows.append({**rows[1], "联系电话": "13912345678"})  # same key, other values
    rows.append({**rows[1], "联系电话": "13912345679"})  # and once more
    version = import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows)).version
    assert (version.rows_read, version.row_count, version.rows_rejected) == (11, 8, 3)
    counts = version.quality["counts"]
    assert counts["duplicate_rows"] == 1 and counts["duplicate_keys"] == 2
    # The contradicting key involves its first row and both later rows: 3 of 11.
    assert counts["rows_contradicted"] == 3
    assert version.quality["dataset"]["consistency"] == pytest.approx(1 - 3 / 11, abs=1e-6)


def test_quality_scores_on_a_hand_made_file(db: Session, settings: Any, tmp_path: Path) -> None:
    """Ten rows with known faults; every score computed by hand from docs/data.md."""
    dataset = make_dataset(db, update_cycle="monthly", max_rejected_ratio=0.5)
    rows = [person_row(i) for i in range(1, 11)]
    rows[0]["身份证号"] = id_number("330523", "19800101", 1, valid=False)  # accuracy
    rows[1]["出生日期"] = "1980-01-02"  # contradicts the ID number
    rows[2]["性别"] = "男"  # serial 3 is male: consistent
    rows[3]["性别"] = "男"  # serial 4 is female: contradiction
    rows[4]["民族"] = ""  # optional, empty
    rows[5]["联系电话"] = "abc"  # does not conform -> rejected
    rows[6]["现住址"] = "火星基地"  # resolves nowhere
    rows[7]["行政区划代码"] = "330523999999"  # conforms, no such region
    rows[8]["更新日期"] = "2025-01-01"  # older than one cycle before the as-of day
    outcome = import_bytes(
        db, settings, dataset, tmp_path, csv_bytes(rows), as_of=date(2026, 11, 20)
    )
    q = outcome.quality
    fields = q["fields"]
    # conformity: 100 cells, 1 empty, 1 not conforming -> 98 / 99
    assert q["dataset"]["conformity"] == pytest.approx(98 / 99, abs=1e-6)
    assert fields["联系电话"]["conformity"] == pytest.approx(9 / 10)
    # completeness over the 7 required fields: all filled
    assert q["dataset"]["completeness"] == 1.0
    assert fields["民族"]["completeness"] == pytest.approx(9 / 10)
    # accuracy: ID 9/10 (the rejected row's ID still counts), region 9/10, address 9/10
    assert fields["身份证号"]["accuracy"] == pytest.approx(9 / 10)
    assert fields["行政区划代码"]["accuracy"] == pytest.approx(9 / 10)
    assert fields["现住址"]["accuracy"] == pytest.approx(9 / 10)
    assert q["dataset"]["accuracy"] == pytest.approx(27 / 30)
    # consistency: rows 2 and 4 of the 10 read contradict their ID numbers
    assert q["dataset"]["consistency"] == pytest.approx(8 / 10)
    assert fields["出生日期"]["consistency"] == pytest.approx(1 - 1 / 10)
    assert fields["性别"]["consistency"] == pytest.approx(1 - 1 / 10)
    # timeliness: imported today, data as of 2026-11-20, monthly cycle
    assert fields["更新日期"]["timeliness"] == pytest.approx(8 / 9)
    # accessibility: conditional sharing 0.5; sensitive fields half of that
    assert q["dataset"]["accessibility"] == 0.5
    assert fields["姓名"]["accessibility"] == 0.25 and fields["性别"]["accessibility"] == 0.5
    assert outcome.version.rows_rejected == 1


def test_timeliness_formula() -> None:
    from gongzhi.data.quality import timeliness

    as_of = date(2026, 1, 1)
    assert timeliness(as_of, date(2026, 1, 31), "monthly") == 1.0
    assert timeliness(as_of, date(2026, 2, 16), "monthly") == pytest.approx(2 - 46 / 31, abs=1e-6)
    assert timeliness(as_of, date(2026, 3, 15), "monthly") == 0.0
    assert timeliness(as_of, date(2030, 1, 1), "irregular") == 1.0


def test_too_many_rejected_rows_make_no_version(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db, max_rejected_ratio=0.2)
    rows = [person_row(i) for i in range(1, 11)]
    for row in rows[:3]:
        row["性别"] = "?"
    path = write(tmp_path, "bad.csv", csv_bytes(rows))
    job = services.start_import_job(
        db,
        dataset,
        filename="bad.csv",
        size=path.stat().st_size,
        sha256="x",
        as_of=None,
        actor=ACTOR,
    )
    with pytest.raises(ImportRefused) as caught, db.begin_nested():
        services.import_version(db, job, path, provider=get_provider(settings), actor=ACTOR)
    assert caught.value.code == "too_many_rejected"
    services.record_import_failure(db, job.id, caught.value, actor=ACTOR)
    db.refresh(job)
    assert (job.status, job.error_code, job.rows_read, job.rows_rejected) == (
        "failed",
        "too_many_rejected",
        10,
        3,
    )
    assert job.quality is not None and job.quality["dataset"]["conformity"] < 1
    assert db.scalar(select(func.count()).where(ImportIssue.job_id == job.id)) == 3
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) == 0
    assert db.scalar(select(func.count()).select_from(DatasetRow)) == 0


def test_a_crash_mid_import_leaves_the_previous_version_intact(
    db: Session, settings: Any, tmp_path: Path
) -> None:
    dataset = make_dataset(db)
    first = import_bytes(
        db, settings, dataset, tmp_path, csv_bytes([person_row(i) for i in range(1, 6)])
    )
    rows_before = db.scalar(select(func.count()).select_from(DatasetRow))

    class Crash(RuntimeError):
        pass

    def crash(done: int, total: int, rows: int) -> None:
        if rows >= 30:
            raise Crash("power cut")

    big = csv_bytes([person_row(i) for i in range(1, 61)])
    # begin_nested: what the edge's transaction does on an exception
    with pytest.raises(Crash), db.begin_nested():
        import_bytes(
            db,
            settings,
            dataset,
            tmp_path,
            big,
            name="v2.csv",
            on_progress=crash,
            batch_size=10,
        )
    assert db.scalars(select(DatasetVersion.number)).all() == [1]
    assert db.scalar(select(func.count()).select_from(DatasetRow)) == rows_before
    assert first.version.row_count == 5
    # The next import is version 2, as if the crashed one never happened.
    again = import_bytes(db, settings, dataset, tmp_path, big, name="v2.csv")
    assert again.version.number == 2 and again.version.row_count == 60


def test_xlsx_files(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(PERSON_HEADER)
    for i in (1, 2):
        row = person_row(i)
        values: list[Any] = [row[h] for h in PERSON_HEADER]
        values[3] = date(1980, 1, 1)  # a real date cell
        values[7] = int(values[7])  # a region code typed as a number
        sheet.append(values)
    path = tmp_path / "persons.xlsx"
    book.save(path)
    version = services.import_file(
        db, dataset, path, provider=get_provider(settings), actor=ACTOR
    ).version
    assert (version.source_format, version.row_count, version.rows_rejected) == ("xlsx", 2, 0)
    assert _values(db, settings, version)[0]["出生日期"] == "1980-01-01"


def test_comparing_versions(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db)
    v1_rows = [person_row(i) for i in range(1, 11)]
    v2_rows = [dict(r) for r in v1_rows[2:]] + [person_row(i) for i in (11, 12, 13)]
    v2_rows[0]["联系电话"] = "13700000000"  # serial 3
    v2_rows[1]["联系电话"] = "13700000001"  # serial 4
    v2_rows[1]["人员类别"] = "流动人口"
    v2_rows[2]["人员类别"] = "流动人口"  # serial 5
    import_bytes(db, settings, dataset, tmp_path, csv_bytes(v1_rows), name="v1.csv")
    import_bytes(db, settings, dataset, tmp_path, csv_bytes(v2_rows), name="v2.csv")
    result = queries.compare_versions(db, dataset, 1, 2, provider=get_provider(settings))
    assert (result.added, result.removed, result.changed, result.unchanged) == (3, 2, 3, 5)
    assert result.field_changes["联系电话"] == 2
    assert result.field_changes["人员类别"] == 2
    assert result.field_changes["姓名"] == 0
    assert result.to_json()["rows"] == {"from": 10, "to": 11}


def test_legal_entities_check_credit_codes(db: Session, settings: Any, tmp_path: Path) -> None:
    dataset = make_dataset(db, code="test-entities", standard="legal_entity")
    descriptor = dataset.table_schema
    header = [f["name"] for f in descriptor["fields"]]
    base = {
        "单位名称": "安吉白茶有限公司",
        "市场主体类型": "有限责任公司",
        "法定代表人": "陈茶",
        "成立日期": "2010-05-01",
        "注册资本": "100",
        "登记状态": "存续",
        "住所": "安吉县递铺街道",
        "行政区划代码": "330523001000",
    }
    rows = [
        {**base, "统一社会信用代码": "91330523MA2B3C4D5E"},  # conforms, bad check character
        {**base, "统一社会信用代码": "91110000802100433B"},  # valid
        {**base, "统一社会信用代码": "９１１１０１０８５５１３８５０８２Ｑ".lower()},  # full width
    ]
    version = import_bytes(
        db, settings, dataset, tmp_path, csv_bytes(rows, header=header), name="entities.csv"
    ).version
    assert version.row_count == 3
    assert version.quality["fields"]["统一社会信用代码"]["accuracy"] == pytest.approx(2 / 3)
    # Public fields, public key: stored as they are.
    keys = {r.row_key for r in _rows(db, version)}
    assert "91110000802100433B" in keys and "91110108551385082Q" in keys


def test_a_schema_is_checked(db: Session) -> None:
    from gongzhi.errors import Invalid

    bad = {
        "fields": [{"name": "a", "type": "money"}, {"name": "a"}],
        "primaryKey": ["b"],
    }
    with pytest.raises(Invalid) as caught:
        make_dataset(db, code="bad-schema", table_schema=bad)
    reasons = " ".join(d["reason"] for d in caught.value.details)
    assert "unsupported type" in reasons and "duplicate field" in reasons
    assert "unknown field 'b'" in reasons


def test_every_standard_schema_compiles() -> None:
    from gongzhi.data.schemas import standard_schemas
    from gongzhi.data.tableschema import compile_schema

    schemas = standard_schemas()
    assert set(schemas) == {
        "household_registry",
        "person_list",
        "legal_entity",
        "dibao_list",
        "poverty_monitoring",
    }
    for descriptor in schemas.values():
        compiled = compile_schema(descriptor)
        assert compiled.primary_key and all(f.classification for f in compiled.fields)
    assert json.dumps(schemas, ensure_ascii=False).count("id_number") >= 5


def test_updating_the_catalogue_entry_is_audited(db: Session) -> None:
    from gongzhi.audit.models import AuditEvent

    dataset = make_dataset(db, code="test-update")
    spec = services.DatasetSpec(
        code="ignored",
        name="人员名单（更名）",
        department_code="330523-MZ",
        sharing_type="unconditional",
        open_type="open",
        update_cycle="quarterly",
    )
    services.update_dataset(db, dataset, spec, actor=ACTOR)
    assert (dataset.code, dataset.sharing_type, dataset.update_cycle) == (
        "test-update",
        "unconditional",
        "quarterly",
    )
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "data.dataset.update")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.new is not None
    assert event.new["sharing_type"] == "unconditional" and "code" not in event.new
