"""On the embedded SQLite default, concurrent read-then-write units of work queue instead of
failing with "database is locked"; read-only units do not take the write lock."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gongzhi.db import make_engine, session_scope


@pytest.fixture
def counter_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def _increment(engine, barrier: threading.Barrier, errors: list[str], write: bool) -> None:  # type: ignore[no-untyped-def]
    try:
        with session_scope(lambda: Session(bind=engine), write=write) as db:
            n = db.execute(text("SELECT n FROM counter")).scalar_one()
            # Deferred units both read before either writes; immediate ones cannot both get
            # here (the second waits at BEGIN), so the barrier times out for the first.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=0.5)
            time.sleep(0.05)
            db.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
    except Exception as exc:
        errors.append(str(exc))


def _run(engine, write: bool) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(2)
    errors: list[str] = []
    threads = [
        threading.Thread(target=_increment, args=(engine, barrier, errors, write)) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    with engine.connect() as conn:
        return conn.execute(text("SELECT n FROM counter")).scalar_one(), errors


def test_writing_units_queue_and_both_succeed(counter_db) -> None:  # type: ignore[no-untyped-def]
    n, errors = _run(counter_db, write=True)
    assert errors == [] and n == 2


def test_without_the_write_lock_one_of_them_fails(counter_db) -> None:  # type: ignore[no-untyped-def]
    # The failure mode the write lock prevents (and proof that the test above can fail).
    n, errors = _run(counter_db, write=False)
    assert n == 1 and len(errors) == 1 and "locked" in errors[0]
