"""The demo database holds no plaintext ID number or mobile phone number.

The demo is the fullest database the platform builds on its own: people, case contacts from
the case history, department datasets with ID numbers and phones, notifications. Its file
(and write-ahead log) is scanned byte for byte: for the exact values the platform decrypts
through its own models, and for anything shaped like an ID number or a mobile number
that is not part of a longer run of letters and digits (hashes are hex, credit codes
alphanumeric, ciphertexts binary).
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.config import Settings
from gongzhi.crypto.identifiers import shaped_values
from gongzhi.db import make_engine
from gongzhi.demo import build_demo, reset_database
from tests.security.plaintext_scan import scan_sqlite


def test_the_scan_finds_what_it_looks_for() -> None:
    blob = b"\x00abc 330523199001011234 x 13812341999\x00 deadbeef13812341999cafe"
    assert shaped_values(blob) == {b"330523199001011234", b"13812341999"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, str]:
    if "GONGZHI_TEST_DATABASE_URL" in os.environ:
        pytest.skip("the demo is built on the embedded SQLite default")
    path = Path(tmp_path_factory.mktemp("demo-scan")) / "demo.db"
    settings = Settings(env="demo", database_url=f"sqlite:///{path}", _env_file=None)  # type: ignore[call-arg]
    reset_database(settings)
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(logs):
            build_demo(settings, full_china=False, cases=60)
    finally:
        root.removeHandler(handler)
    return settings, path, logs.getvalue()


def _known_plaintexts(settings: Settings) -> set[bytes]:
    from gongzhi.cases.models import CaseContact
    from gongzhi.people.models import Person

    engine = make_engine(settings.database_url)
    values: set[str] = set()
    with Session(engine) as db:
        for person in db.scalars(select(Person)):
            values.update(v for v in (person.id_number, person.phone) if v)
        for contact in db.scalars(select(CaseContact)):
            if contact.phone:
                values.add(contact.phone)
    engine.dispose()
    return {v.encode() for v in values}


def test_no_plaintext_identifier_in_the_demo_database(demo_db: tuple[Settings, Path, str]) -> None:
    settings, path, _ = demo_db
    known = _known_plaintexts(settings)
    assert len(known) >= 20, "the demo should hold people and case contacts to scan for"
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    for file in files:
        data = file.read_bytes()
        leaked = [v for v in known if v in data]
        assert not leaked, f"{file.name} holds plaintext values: {leaked[:3]}"
        assert not shaped_values(data), f"{file.name}: {sorted(shaped_values(data))[:3]}"
    # Value by value too: in the file a record's header byte can hide a value's start.
    findings = scan_sqlite(path, path.name)
    assert not findings, [str(f) for f in findings[:3]]


def test_no_plaintext_identifier_in_what_the_demo_prints(
    demo_db: tuple[Settings, Path, str],
) -> None:
    settings, _, printed = demo_db
    known = _known_plaintexts(settings)
    assert not [v for v in known if v.decode() in printed]
    assert not shaped_values(printed.encode())
