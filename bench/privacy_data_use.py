"""Benchmark: a citizen's "who used my data" page query among 1,000,000 recorded reveals.

Run from the project root::

    .venv/bin/python bench/privacy_data_use.py                    # both backends
    .venv/bin/python bench/privacy_data_use.py --rows 100000 --backends sqlite

Measured: ``gongzhi.privacy.queries.data_use`` — read the citizen's person link, then one
SELECT of the newest 51 ``personal_data_access`` rows whose subject is the citizen's account
or linked person (the two composite indexes ``(subject_account_id, occurred_at)`` and
``(person_id, occurred_at)``) — for random citizens, half of them linked to a person; and
the query plan, to show both indexes are used and the table is never scanned.

The load: ``--citizens`` accounts (default 100,000) and ``--rows`` reveal rows (default
1,000,000, about 10 per citizen, one in five by person), written with Core INSERTs of 20,000
rows with foreign-key checks off (the rows name audit events and people that the benchmark
does not create: the page query reads neither). SQLite: a fresh ``/tmp/bench_privacy.sqlite``;
PostgreSQL: the database ``bench_privacy`` on 127.0.0.1, dropped and created.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade
from gongzhi.privacy.models import PersonalDataAccess
from gongzhi.privacy.queries import data_use
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.principal import Grant, Principal

CHUNK = 20_000
SQLITE_PATH = "/tmp/bench_privacy.sqlite"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_NAME = "bench_privacy"
START = datetime(2026, 1, 1, tzinfo=UTC)
COUNTY = "330523000000"


def _engine(backend: str) -> Engine:
    if backend == "sqlite":
        if os.path.exists(SQLITE_PATH):
            os.remove(SQLITE_PATH)
        return make_engine(f"sqlite:///{SQLITE_PATH}")
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    return make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_NAME}")


def _load(engine: Engine, citizens: int, rows: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as outer:
        if engine.dialect.name == "sqlite":
            # Outside any transaction (SQLite ignores the pragma inside one).
            outer.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        _insert(outer, citizens, rows)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))
    return time.perf_counter() - started


def _insert(outer: Any, citizens: int, rows: int) -> None:
    with outer.begin():
        conn = outer
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        now = datetime.now(UTC)
        for first in range(0, citizens, CHUNK):
            conn.execute(
                insert(Account),
                [
                    {
                        "id": i + 1,
                        "username": f"c{i}",
                        "display_name": f"市民{i}",
                        "kind": "citizen",
                        "password_hash": "x",
                        "active": True,
                        "created_at": now,
                        "password_changed_at": now,
                        "password_must_change": False,
                        "failed_login_count": 0,
                        # Every other citizen is linked to a person of the same number.
                        "person_id": i + 1 if i % 2 == 0 else None,
                    }
                    for i in range(first, min(first + CHUNK, citizens))
                ],
            )
        rng = random.Random(7)
        for first in range(0, rows, CHUNK):
            batch: list[dict[str, Any]] = []
            for n in range(first, min(first + CHUNK, rows)):
                subject = rng.randrange(citizens)
                by_person = subject % 2 == 0 and rng.random() < 0.4
                batch.append(
                    {
                        "audit_event_id": n + 1,
                        "occurred_at": START + timedelta(seconds=n * 30),
                        "subject_account_id": None if by_person else subject + 1,
                        "person_id": subject + 1 if by_person else None,
                        "subject_kind": "person" if by_person else "case_contact",
                        "case_number": None if by_person else f"AJ-20260101-{n % 10000:04d}",
                        "actor_account_id": 1,
                        "actor_name": "刘洋",
                        "actor_role": "dispatcher",
                        "department_name": "安吉县社会治理中心",
                        "fields": ["case_contact.phone"],
                        "purpose": "call_back",
                        "purpose_text": None,
                    }
                )
            conn.execute(insert(PersonalDataAccess), batch)


def _plan(engine: Engine) -> str:
    sql = (
        "SELECT id FROM personal_data_access WHERE subject_account_id = 1 OR person_id = 1 "
        "ORDER BY occurred_at DESC, id DESC LIMIT 51"
    )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + sql).all()
        return "; ".join(r[0].strip() for r in rows)


def _time(engine: Engine, citizens: int, lookups: int) -> dict[str, float]:
    rng = random.Random(11)
    wall: list[float] = []
    cpu: list[float] = []
    found = 0
    with Session(engine) as db:
        for _ in range(lookups):
            i = rng.randrange(citizens)
            who = Principal(
                account_id=i + 1,
                username=f"c{i}",
                display_name=f"市民{i}",
                kind="citizen",
                grants=(Grant(Role.CITIZEN, COUNTY),),
            )
            w0, c0 = time.perf_counter(), time.process_time()
            page, _more = data_use(db, who)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            found += len(page)
            db.expunge_all()
    wall.sort()
    cpu.sort()
    return {
        "median_ms": statistics.median(wall) * 1000,
        "p99_ms": wall[int(len(wall) * 0.99) - 1] * 1000,
        "cpu_median_ms": statistics.median(cpu) * 1000,
        "cpu_p99_ms": cpu[int(len(cpu) * 0.99) - 1] * 1000,
        "rows_per_page": found / lookups,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    for backend in args.backends.split(","):
        engine = _engine(backend)
        seconds = _load(engine, args.citizens, args.rows)
        print(
            f"\n{backend}: loaded {args.rows:,} rows for {args.citizens:,} citizens in "
            f"{seconds:.0f} s"
        )
        print(f"plan: {_plan(engine)}")
        result = _time(engine, args.citizens, args.lookups)
        print(
            f"data_use page ({args.lookups:,} random citizens): median "
            f"{result['median_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms; CPU median "
            f"{result['cpu_median_ms']:.2f} ms, p99 {result['cpu_p99_ms']:.2f} ms; "
            f"{result['rows_per_page']:.1f} rows per page"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
