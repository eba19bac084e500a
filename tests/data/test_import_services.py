"""Importing files into dataset versions: encodings, headers, bad rows, all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.data.importing import ImportRefused
from gongzhi.data.models import DatasetRow, DatasetVersion
from tests.data.helpers import csv_bytes, import_bytes, make_dataset, person_row


def _rows(db: Session, version: DatasetVersion) -> list[DatasetRow]:
    return list(
        db.scalars(
            select(DatasetRow)
            .where(DatasetRow.version_id == version.id)
            .order_by(DatasetRow.row_number)
        )
    )


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
    rows = _rows(db, version)
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    # Personal fields are sealed, never in the payload; the key is a keyed index.
    assert "身份证号" not in rows[0].payload and "姓名" not in rows[0].payload
    assert rows[0].payload["性别"] == "男"
    assert rows[0].row_key.startswith("~")
    assert rows[0].sealed is not None and "张伟".encode() not in rows[0].sealed
    assert rows[0].region_code == "330523103202"
    q = version.quality["dataset"]
    assert q["conformity"] == 1.0 and q["completeness"] == 1.0 and q["accuracy"] == 1.0
