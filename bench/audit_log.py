"""Benchmark of the verifiable audit log at 1,000,000 entries, on SQLite and PostgreSQL.

Run from the project root::

    .venv/bin/python bench/audit_log.py                           # both backends, 1 M events
    .venv/bin/python bench/audit_log.py --events 100000 --backends sqlite
    .venv/bin/python bench/audit_log.py --reuse                   # time the loaded databases

Steps, each timed:

1. load: synthetic audit events written with bulk INSERTs straight into ``audit_event``
   (canonical text and leaf hash made exactly as ``record()`` makes them: a million actions
   through the services would take hours). Varied actions, actors, regions, old/new
   snapshots with Chinese text; ~330 bytes of canonical text each.
2. sequence: the real sequencer (``gongzhi.audit.log.sequence``), batch after batch until
   every event is in the log, then one signed checkpoint: sequencing throughput.
3. verify: the real ``gongzhi audit verify`` (``verify_log`` in one read snapshot): every
   leaf re-hashed from its canonical text and checked against the event's columns, the tree
   rebuilt and compared with every stored subtree, the checkpoint's signature and root.
4. proofs: inclusion proofs of random entries against the checkpoint (as the API makes them),
   and consistency proofs from random sizes; latency per proof.
5. event list: the audit administrator's list query (``gongzhi.audit.queries.events_page``,
   50 a page, keyset) for the first page, a page in the middle of the log and each filter;
   median of ``--page-runs``.

On PostgreSQL on this machine, verify also reports the server backend's CPU for its
connection (read from /proc), which the client's CPU time does not include.

SQLite: a fresh file ``/tmp/bench_audit.sqlite``. PostgreSQL: the database ``bench_audit``
on 127.0.0.1 is dropped and created (``--pg-url`` names the server's ``postgres`` database).
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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from gongzhi.audit import log, merkle
from gongzhi.audit.services import CANONICAL_VERSION, canonical_bytes, log_hasher
from gongzhi.audit.verify import verify_log
from gongzhi.config import Settings
from gongzhi.db import make_engine, make_session_factory, session_scope, utcnow
from gongzhi.migrations.runner import upgrade

ACTIONS = (
    ("cases.case.submit", "service_case"),
    ("cases.case.dispatch", "service_case"),
    ("cases.case.sign", "service_case"),
    ("cases.case.feedback", "service_case"),
    ("cases.case.close", "service_case"),
    ("org.staff.update", "staff"),
    ("security.session.login", "account"),
    ("security.personal_data.view", "person"),
)
REGIONS = [f"330523{t:03d}{v:03d}" for t in (100, 101, 102, 103, 200, 201) for v in range(1, 31)]
CHUNK = 20_000


def synthetic_events(n: int, algorithm: str, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    hasher = log_hasher(algorithm)
    start = utcnow() - timedelta(days=100)
    step = timedelta(days=99) / max(n, 1)
    for i in range(n):
        action, object_type = ACTIONS[rng.randrange(len(ACTIONS))]
        at = start + step * i
        actor_id = rng.randrange(1, 5000)
        region = REGIONS[rng.randrange(len(REGIONS))]
        old = {"status": "dispatched", "lead": rng.randrange(1, 60)}
        new = {
            "status": "handling",
            "lead": rng.randrange(1, 60),
            "note": "已联系群众，正在现场处理",
        }
        reason = "按权责清单派至主责部门" if rng.random() < 0.5 else None
        object_id = f"AJ-2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}-{i:07d}"
        fields = {
            "v": CANONICAL_VERSION,
            "at": at.isoformat(),
            "actor_id": actor_id,
            "actor": f"staff:{actor_id}:张**",
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "region": region,
            "old": old,
            "new": new,
            "reason": reason,
        }
        canonical = canonical_bytes(fields)
        yield {
            "id": i + 1,
            "occurred_at": at,
            "actor_id": actor_id,
            "actor_label": fields["actor"],
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "region_code": region,
            "old": old,
            "new": new,
            "reason": reason,
            "canonical": canonical.decode(),
            "leaf_hash": hasher.hash_leaf(canonical),
        }


COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "region_code",
    "old",
    "new",
    "reason",
    "canonical",
    "leaf_hash",
)


def load(engine: Engine, n: int, algorithm: str) -> float:
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        batch: list[dict[str, Any]] = []
        if engine.dialect.name == "postgresql":
            copy_sql = f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN"
            with cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                for row in synthetic_events(n, algorithm):
                    copy.write_row(
                        [
                            *(row[c] for c in COLUMNS[:8]),
                            json.dumps(row["old"], ensure_ascii=False),
                            json.dumps(row["new"], ensure_ascii=False),
                            row["reason"],
                            row["canonical"],
                            row["leaf_hash"],
                        ]
                    )
            cur.execute(f"SELECT setval('audit_event_id_seq', {n})")
        else:
            sql = (
                f"INSERT INTO audit_event ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in COLUMNS)})"
            )
            for row in synthetic_events(n, algorithm):
                batch.append(row)
                if len(batch) == CHUNK:
                    cur.executemany(sql, [_sqlite_row(r) for r in batch])
                    batch.clear()
            if batch:
                cur.executemany(sql, [_sqlite_row(r) for r in batch])
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def _sqlite_row(row: dict[str, Any]) -> tuple[Any, ...]:
    at: datetime = row["occurred_at"]
    return (
        row["id"],
        at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        *(row[c] for c in COLUMNS[2:8]),
        json.dumps(row["old"], ensure_ascii=False),
        json.dumps(row["new"], ensure_ascii=False),
        row["reason"],
        row["canonical"],
        row["leaf_hash"],
    )


def sequence_all(engine: Engine, settings: Settings) -> tuple[float, float, int]:
    factory = make_session_factory(engine)
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    while True:
        with session_scope(factory) as db:
            result = log.sequence(db, settings)
        size = result.tree_size
        if result.sequenced == 0:
            break
    with session_scope(factory) as db:
        log.sign_checkpoint(db, settings, utcnow())
    return time.perf_counter() - started, time.process_time() - cpu, size


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of a local process, e.g. the PostgreSQL backend serving
    a connection; None when it cannot be read (a server on another machine)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verify(engine: Engine, settings: Settings) -> tuple[float, float, float | None, Any]:
    """Wall time, this process's CPU, the database server's CPU for the connection
    (PostgreSQL on this machine), and the report."""
    factory = make_session_factory(engine)
    started, cpu = time.perf_counter(), time.process_time()
    server_pid = None
    with session_scope(factory, write=False) as db:
        if engine.dialect.name == "postgresql":
            db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            server_pid = db.execute(text("SELECT pg_backend_pid()")).scalar()
        server_before = _process_cpu(server_pid)
        report = verify_log(db, settings)
        server_after = _process_cpu(server_pid)
    server_cpu = (
        server_after - server_before
        if server_before is not None and server_after is not None
        else None
    )
    return time.perf_counter() - started, time.process_time() - cpu, server_cpu, report


def list_pages(engine: Engine, runs: int) -> list[tuple[str, float, int]]:
    """The audit administrator's event list (``gongzhi.audit.queries.events_page``, 50 a
    page): the first page, a page deep in the log, and each filter; median ms of ``runs``."""
    from zoneinfo import ZoneInfo

    from gongzhi.audit import queries

    zone = ZoneInfo("Asia/Shanghai")
    factory = make_session_factory(engine)
    out: list[tuple[str, float, int]] = []
    with session_scope(factory, write=False) as db:
        newest = db.execute(text("SELECT max(occurred_at) FROM audit_event")).scalar()
        if isinstance(newest, str):
            newest = datetime.fromisoformat(newest).replace(tzinfo=UTC)
        day = (newest - timedelta(days=30)).astimezone(zone).date()
        deep = db.execute(text("SELECT id FROM audit_event WHERE id = 500000")).scalar()
        some_object = db.execute(
            text("SELECT object_type, object_id FROM audit_event WHERE id = 400000")
        ).one()
        cases: list[tuple[str, queries.EventFilter, int | None]] = [
            ("first page, no filter", queries.EventFilter(), None),
            ("a page in the middle of the log (keyset)", queries.EventFilter(), deep),
            ("one day", queries.EventFilter(since=day, until=day), None),
            ("one actor", queries.EventFilter(actor_id=17), None),
            ("action prefix (1 in 8 events)", queries.EventFilter(action_prefix="org."), None),
            ("action prefix (no such action)", queries.EventFilter(action_prefix="zz."), None),
            ("one township's region", queries.EventFilter(region_code="330523101000"), None),
            (
                "one object",
                queries.EventFilter(object_type=some_object[0], object_id=some_object[1]),
                None,
            ),
        ]
        for name, flt, older_than in cases:
            timings = []
            rows = 0
            for _ in range(runs):
                t0 = time.perf_counter()
                page = queries.events_page(db, flt, zone=zone, older_than=older_than)
                timings.append(time.perf_counter() - t0)
                rows = len(page.events)
            out.append((name, statistics.median(timings) * 1000, rows))
    return out


def proofs(engine: Engine, settings: Settings, runs: int) -> dict[str, float]:
    factory = make_session_factory(engine)
    rng = random.Random(7)
    inclusion: list[float] = []
    consistency: list[float] = []
    cpu_started = time.process_time()
    with session_scope(factory, write=False) as db:
        cp = log.latest_checkpoint(db)
        assert cp is not None
        hasher = log.hasher_of(db, settings)
        size = cp.tree_size
        for _ in range(runs):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            proof = log.inclusion_for(db, settings, leaf_index=index)
            inclusion.append(time.perf_counter() - t0)
            assert merkle.verify_inclusion(
                hasher, index, size, proof.leaf_hash, proof.path, cp.root_hash
            )
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            c = log.consistency_for(db, settings, first, size)
            consistency.append(time.perf_counter() - t0)
            assert merkle.verify_consistency(
                hasher, first, size, c.first_root, c.second_root, c.path
            )
    cpu_per_pair = (time.process_time() - cpu_started) / runs
    inclusion.sort()
    consistency.sort()
    return {
        "cpu_per_proof_pair_ms": cpu_per_pair * 1000,
        "inclusion_median_ms": statistics.median(inclusion) * 1000,
        "inclusion_p95_ms": inclusion[int(len(inclusion) * 0.95)] * 1000,
        "consistency_median_ms": statistics.median(consistency) * 1000,
        "consistency_p95_ms": consistency[int(len(consistency) * 0.95)] * 1000,
    }


def prepare(backend: str, args: argparse.Namespace) -> Engine:
    if backend == "sqlite":
        path = Path(args.sqlite_path)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
    else:
        server = args.pg_url.rsplit("/", 1)[0]
        if not args.reuse:
            admin = make_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS bench_audit WITH (FORCE)"))
                conn.execute(text("CREATE DATABASE bench_audit"))
            admin.dispose()
        engine = make_engine(f"{server}/bench_audit")
    if not args.reuse:
        with engine.begin() as conn:
            upgrade(conn)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--sqlite-path", default="/tmp/bench_audit.sqlite")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--hash", default="sm3", choices=["sm3", "sha256"])
    parser.add_argument("--proofs", type=int, default=500, help="Proofs of each kind timed.")
    parser.add_argument("--reuse", action="store_true", help="Time the loaded databases.")
    parser.add_argument("--page-runs", type=int, default=20, help="Runs of each list query.")
    args = parser.parse_args()
    settings = Settings(audit_hash=args.hash, _env_file=None)  # type: ignore[call-arg]
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}")
    for backend in args.backends:
        engine = prepare(backend, args)
        try:
            if not args.reuse:
                seconds = load(engine, args.events, args.hash)
                print(f"[{backend}] load {args.events} events: {seconds:.1f} s")
                if backend == "postgresql":
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(text("VACUUM ANALYZE audit_event"))
                seconds, cpu, size = sequence_all(engine, settings)
                print(
                    f"[{backend}] sequence {size} entries + sign a checkpoint: {seconds:.1f} s "
                    f"wall, {cpu:.1f} s CPU ({size / seconds:,.0f} entries/s)"
                )
                if backend == "postgresql":
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(text("VACUUM ANALYZE"))
            wall, cpu, server_cpu, report = verify(engine, settings)
            status = "ok" if report.ok else f"FAILED: {report.first}"
            server = f", server {server_cpu:.1f} s CPU" if server_cpu is not None else ""
            print(
                f"[{backend}] verify {report.entries} entries, {report.subtrees} subtrees, "
                f"{report.checkpoints} checkpoints: {wall:.1f} s wall, {cpu:.1f} s CPU{server}, "
                f"load average {os.getloadavg()[0]:.1f} ({status})"
            )
            for name, ms, rows in list_pages(engine, args.page_runs):
                print(f"[{backend}] event list, {name}: {ms:.1f} ms ({rows} rows)")
            figures = proofs(engine, settings, args.proofs)
            print(
                f"[{backend}] inclusion proof: median {figures['inclusion_median_ms']:.2f} ms, "
                f"p95 {figures['inclusion_p95_ms']:.2f} ms; consistency proof: median "
                f"{figures['consistency_median_ms']:.2f} ms, p95 "
                f"{figures['consistency_p95_ms']:.2f} ms; CPU per inclusion+consistency pair "
                f"(both verified) {figures['cpu_per_proof_pair_ms']:.2f} ms"
            )
        finally:
            engine.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
