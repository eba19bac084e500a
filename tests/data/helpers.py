"""Building blocks for the data hub's tests: valid ID numbers, small files, datasets."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.crypto import get_provider
from gongzhi.data import services
from gongzhi.data.models import Dataset
from gongzhi.data.services import DatasetSpec

CIVIL_AFFAIRS = "330523-MZ"  # 安吉县民政局
ACTOR = SystemActor("test-data")
VILLAGE = "330523103202"  # 玉华村 (鄣吴镇)

PERSON_HEADER = [
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "联系电话",
    "现住址",
    "行政区划代码",
    "人员类别",
    "更新日期",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(region: str, born: str, serial: int, *, valid: bool = True) -> str:
    """A GB 11643 number: 6-digit region, YYYYMMDD, 3-digit serial (odd = male), check."""
    first17 = f"{region}{born}{serial:03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]
    if not valid:
        check = "10X98765432"[("10X98765432".index(check) + 1) % 11]
    return first17 + check


def person_row(
    serial: int,
    *,
    name: str = "张伟",
    born: str = "19800101",
    sex: str | None = None,
    region: str = VILLAGE,
    address: str = "安吉县鄣吴镇玉华村12号",
    **overrides: str,
) -> dict[str, str]:
    number = id_number("330523", born, serial)
    row = {
        "身份证号": number,
        "姓名": name,
        "性别": sex or ("男" if serial % 2 else "女"),
        "出生日期": f"{born[:4]}-{born[4:6]}-{born[6:]}",
        "民族": "汉族",
        "联系电话": f"138{serial:08d}",
        "现住址": address,
        "行政区划代码": region,
        "人员类别": "户籍人口",
        "更新日期": "2026-11-01",
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: list[dict[str, str]],
    header: list[str] | None = None,
    *,
    encoding: str = "utf-8",
) -> bytes:
    header = header or PERSON_HEADER
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue().encode(encoding)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def make_dataset(
    db: Session,
    code: str = "test-persons",
    *,
    standard: str = "person_list",
    table_schema: dict[str, Any] | None = None,
    **spec: Any,
) -> Dataset:
    values: dict[str, Any] = {
        "name": "测试人员名单",
        "department_code": CIVIL_AFFAIRS,
        "sharing_type": "conditional",
        "sharing_condition": "用于社会救助核对",
        "update_cycle": "monthly",
        **spec,
    }
    return services.create_dataset(
        db,
        DatasetSpec(
            code=code,
            standard=None if table_schema else standard,
            table_schema=table_schema,
            **values,
        ),
        actor=ACTOR,
    )


def provider(settings: Any) -> Any:
    return get_provider(settings)


def import_bytes(
    db: Session,
    settings: Any,
    dataset: Dataset,
    tmp_path: Path,
    data: bytes,
    name: str = "persons.csv",
    **kwargs: Any,
) -> services.ImportOutcome:
    path = write(tmp_path, name, data)
    return services.import_file(
        db, dataset, path, provider=get_provider(settings), actor=ACTOR, **kwargs
    )
