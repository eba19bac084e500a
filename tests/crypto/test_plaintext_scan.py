"""No plaintext phone number, ID number or name reaches the database: every row of every
table is dumped and scanned (both backends), and a SQLite database file is scanned byte by
byte after known values were written through the services and committed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import gongzhi.models  # noqa: F401  (every table)
from gongzhi.audit.services import SystemActor
from gongzhi.cases.models import Channel
from gongzhi.cases.services import submit_case
from gongzhi.config import Settings
from gongzhi.db import Base, make_engine, make_session_factory, session_scope
from gongzhi.migrations.runner import upgrade
from gongzhi.notify import services as notify
from gongzhi.notify.models import NotificationChannel
from gongzhi.people import services as people
from gongzhi.people.idnumber import check_character
from tests.cases.helpers import submit

ACTOR = SystemActor("test")
PHONES = ("13812341999", "15967890123")
ID_NUMBERS = tuple(f + check_character(f) for f in ("33052319850315004", "33052319620708003"))
NAMES = ("欧阳锋锐", "司马青衫")


def _needles() -> list[bytes]:
    out: list[bytes] = []
    for value in (*PHONES, *ID_NUMBERS, *NAMES):
        out.append(value.encode("utf-8"))
        out.append(json.dumps(value).strip('"').encode())  # \\uXXXX escapes of JSON text
    for phone in PHONES:
        out.append(f"{phone[:3]} {phone[3:7]} {phone[7:]}".encode())
    for number in ID_NUMBERS:
        out.append(number[:14].encode())  # region + birth date, the guessable part
    return out


def _write_personal_data(db: Session) -> None:
    for i in range(2):
        people.register_person(
            db, id_number=ID_NUMBERS[i], name=NAMES[i], phone=PHONES[i], actor=ACTOR
        )
    notify.enqueue(
        db,
        recipient_phone=PHONES[0],
        kind="test",
        subject="受理通知",
        body="您的诉求已受理",
        channels=[NotificationChannel.SMS],
    )


def _as_bytes(value: object) -> Iterable[bytes]:
    if value is None:
        return
    if isinstance(value, bytes | memoryview):
        yield bytes(value)
    elif isinstance(value, str):
        yield value.encode("utf-8")
    elif isinstance(value, dict | list):
        yield json.dumps(value, ensure_ascii=False).encode("utf-8")
        yield json.dumps(value).encode()
    else:
        yield str(value).encode("utf-8")


def test_no_table_row_holds_a_plain_phone_id_number_or_name(db: Session) -> None:
    _write_personal_data(db)
    submit(db, contact_name=NAMES[0], contact_phone=PHONES[0])
    submit(db, channel=Channel.HOTLINE, contact_name=NAMES[1], contact_phone=PHONES[1])
    db.flush()
    needles = _needles()
    scanned = 0
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).all():
            for value in row:
                for blob in _as_bytes(value):
                    scanned += 1
                    for needle in needles:
                        assert needle not in blob, (
                            f"{table.name}: {needle.decode(errors='replace')}"
                        )
    assert scanned > 1000


def test_the_sqlite_file_holds_no_plain_phone_id_number_or_name(tmp_path: Path) -> None:
    path = tmp_path / "scan.db"
    settings = Settings(env="test", database_url=f"sqlite:///{path}", _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            upgrade(conn)
        with session_scope(make_session_factory(engine)) as db:
            _write_personal_data(db)
            for name, phone in zip(NAMES, PHONES, strict=True):
                submit_case(
                    db,
                    channel=Channel.HOTLINE,
                    description="路灯坏了，晚上很黑",
                    contact_name=name,
                    contact_phone=phone,
                    actor=ACTOR,
                    settings=settings,
                )
        with engine.begin() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            assert conn.execute(text("SELECT count(*) FROM person")).scalar() == 2
            assert conn.execute(text("SELECT count(*) FROM case_contact")).scalar() == 2
    finally:
        engine.dispose()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("scan.db")]
    content = b"".join(p.read_bytes() for p in files)
    assert len(content) > 100_000
    for needle in _needles():
        assert needle not in content, needle.decode(errors="replace")
    # The scan reads the real data: the plain (non-personal) text the services wrote is there.
    assert "路灯坏了".encode() in content
