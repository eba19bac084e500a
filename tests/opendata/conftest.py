"""Open-data fixtures: the demo's open datasets (through the data hub's services), plus a
closed person list and an open dataset without public fields, inside the test's
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.crypto import get_provider
from gongzhi.opendata.demo import seed_open_data
from tests.data.helpers import csv_bytes, import_bytes, make_dataset, person_row

ACTOR = SystemActor("test-opendata")


@dataclass
class OpenData:
    open_codes: list[str]
    conditional_code: str
    closed_code: str
    no_public_fields_code: str


@pytest.fixture
def open_data(db: Session, settings: Any, tmp_path: Path) -> OpenData:
    result = seed_open_data(db, provider=get_provider(settings), actor=ACTOR)
    assert len(result.datasets) == 4
    closed = make_dataset(db, "test-closed-persons")  # open_type closed by default
    import_bytes(db, settings, closed, tmp_path, csv_bytes([person_row(i) for i in range(1, 6)]))
    people = make_dataset(db, "test-open-persons", name="公开类型但无公开字段", open_type="open")
    import_bytes(db, settings, people, tmp_path, csv_bytes([person_row(i) for i in range(1, 4)]))
    db.flush()
    return OpenData(
        open_codes=["ajx-scjg-frdw", "ajx-sl-skxx", "ajx-zhzf-gcfb", "test-open-persons"],
        conditional_code="ajx-mz-ylcw",
        closed_code="test-closed-persons",
        no_public_fields_code="test-open-persons",
    )
