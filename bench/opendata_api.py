"""Benchmark of the open-data API: CKAN actions over a large catalogue and DataStore reads
and the CSV download over a large version.

Run from the project root::

    .venv/bin/python bench/opendata_api.py                    # SQLite
    .venv/bin/python bench/opendata_api.py --backends sqlite postgresql --rows 200000

What is measured: whole requests through the application (FastAPI, the route guard, the
session, JSON encoding) with Starlette's in-process test client, so the figures are the
server's work without a network. The database is the demo county (``build_demo``, county
only, which seeds the four demo open datasets) plus ``--datasets`` open catalogue entries
(each with the reservoir schema and no version) and one open dataset of ``--rows`` rows
(8 public columns, imported through the data hub). Each figure is the median of
``--repeat`` calls after one warm-up call.

Why: ``package_search`` runs in memory over the published listings (gongzhi/opendata/
search.py) rather than keeping a search index; this shows what that costs as the catalogue
grows. ``datastore_search`` filters and sorts in SQL over the rows' JSON payloads.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from gongzhi.app import create_app
from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.data import services
from gongzhi.data.services import DatasetSpec
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.demo import build_demo
from gongzhi.opendata.demo import RESERVOIR_SCHEMA

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_opendata"
ACTOR = SystemActor("bench-opendata")

BIG_SCHEMA: dict[str, Any] = {
    "name": "bench_points",
    "title": "便民服务点",
    "keywords": ["便民"],
    "fields": [
        {"name": "编号", "type": "string", "classification": "public"},
        {"name": "名称", "type": "string", "classification": "public"},
        {"name": "乡镇", "type": "string", "classification": "public"},
        {"name": "类别", "type": "string", "classification": "public"},
        {"name": "经度", "type": "number", "classification": "public"},
        {"name": "纬度", "type": "number", "classification": "public"},
        {"name": "开放", "type": "boolean", "classification": "public"},
        {"name": "建成年份", "type": "year", "classification": "public"},
        {"name": "负责人", "type": "string", "classification": "internal"},
    ],
    "primaryKey": ["编号"],
}
TOWNS = ["递铺街道", "昌硕街道", "灵峰街道", "孝丰镇", "报福镇", "天荒坪镇", "梅溪镇", "杭垓镇"]
KINDS = ["公厕", "停车场", "充电桩", "便民服务站", "文化礼堂", "体育场地"]


def _settings(backend: str, folder: Path) -> Settings:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    return Settings(
        env="demo", database_url=url, key_file=str(folder / "keys.json"), _env_file=None
    )  # type: ignore[call-arg]


def _populate(settings: Settings, folder: Path, datasets: int, rows: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    build_demo(settings, full_china=False)
    factory = make_session_factory(make_engine(settings.database_url))
    started = time.perf_counter()
    with session_scope(factory) as db:
        departments = ["330523-SL", "330523-ZJ", "330523-JT", "330523-NYNC", "330523-STHJ"]
        for i in range(datasets):
            schema = copy.deepcopy(RESERVOIR_SCHEMA)
            schema["keywords"] = ["水利", f"主题{i % 37}"]
            services.create_dataset(
                db,
                DatasetSpec(
                    code=f"bench-{i:05d}",
                    name=f"第{i}号数据集（{TOWNS[i % len(TOWNS)]}）",
                    department_code=departments[i % len(departments)],
                    abstract=f"基准测试用的开放数据集 {i}",
                    sharing_type="unconditional",
                    open_type="open",
                    update_cycle="yearly",
                    table_schema=schema,
                ),
                actor=ACTOR,
            )
    timings["catalogue entries created (s)"] = time.perf_counter() - started
    rng = random.Random(7)
    path = folder / "points.csv"
    with path.open("w", encoding="utf-8", newline="") as fp:
        writer = csv.writer(fp)
        writer.writerow([f["name"] for f in BIG_SCHEMA["fields"]])
        for i in range(rows):
            town = TOWNS[i % len(TOWNS)]
            kind = rng.choice(KINDS)
            writer.writerow(
                [
                    f"P{i:07d}",
                    f"{town}{kind}{i}",
                    town,
                    kind,
                    round(119.4 + rng.random() / 2, 5),
                    round(30.4 + rng.random() / 3, 5),
                    rng.choice(["是", "否"]),
                    rng.randrange(1990, 2026),
                    "某某",
                ]
            )
    started = time.perf_counter()
    with session_scope(factory) as db:
        dataset = services.create_dataset(
            db,
            DatasetSpec(
                code="bench-points",
                name="便民服务点（基准）",
                department_code="330523-ZJ",
                sharing_type="unconditional",
                open_type="open",
                update_cycle="monthly",
                table_schema=copy.deepcopy(BIG_SCHEMA),
            ),
            actor=ACTOR,
        )
        services.import_file(db, dataset, path, provider=get_provider(settings), actor=ACTOR)
    timings[f"import of {rows:,} rows (s)"] = time.perf_counter() - started
    return timings


def _median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["success"], body
    return body["result"]


def run(backend: str, datasets: int, rows: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-opendata-") as tmp:
        folder = Path(tmp)
        settings = _settings(backend, folder)
        figures: dict[str, Any] = _populate(settings, folder, datasets, rows)
        app = create_app(settings)
        with TestClient(app) as client:
            resource = _ok(client.get("/api/action/package_show", params={"id": "bench-points"}))[
                "resources"
            ][0]["id"]
            facets = json.dumps(["organization", "tags", "res_format"])
            calls: dict[str, Callable[[], Any]] = {
                "package_list": lambda: _ok(client.get("/api/action/package_list")),
                "package_search, no query, rows=10, 3 facets": lambda: _ok(
                    client.get("/api/action/package_search", params={"facet.field": facets})
                ),
                "package_search q=水库 fq=organization, rows=10": lambda: _ok(
                    client.get(
                        "/api/action/package_search",
                        params={"q": "水库", "fq": "organization:330523-sl"},
                    )
                ),
                "package_search rows=1000": lambda: _ok(
                    client.get("/api/action/package_search", params={"rows": 1000})
                ),
                "package_show": lambda: _ok(
                    client.get("/api/action/package_show", params={"id": "bench-00042"})
                ),
                "datastore_search limit=100": lambda: _ok(
                    client.get("/api/action/datastore_search", params={"resource_id": resource})
                ),
                "datastore_search filters 乡镇+类别, limit=100": lambda: _ok(
                    client.get(
                        "/api/action/datastore_search",
                        params={
                            "resource_id": resource,
                            "filters": json.dumps({"乡镇": "孝丰镇", "类别": "公厕"}),
                        },
                    )
                ),
                "datastore_search q=充电桩 sort=建成年份 desc": lambda: _ok(
                    client.get(
                        "/api/action/datastore_search",
                        params={"resource_id": resource, "q": "充电桩", "sort": "建成年份 desc"},
                    )
                ),
                f"datastore_search offset={rows - 100}": lambda: _ok(
                    client.get(
                        "/api/action/datastore_search",
                        params={"resource_id": resource, "offset": rows - 100},
                    )
                ),
            }
            for label, call in calls.items():
                figures[f"{label} (ms)"] = round(_median_ms(call, repeat), 1)
            started = time.perf_counter()
            response = client.get("/opendata/bench-points/1.csv")
            assert response.status_code == 200
            seconds = time.perf_counter() - started
            figures[f"CSV download, {rows:,} rows (s)"] = round(seconds, 2)
            figures["CSV size (MB)"] = round(len(response.content) / 1e6, 1)
        app.state.engine.dispose()
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite"])
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    for backend in args.backends:
        figures = run(backend, args.datasets, args.rows, args.repeat)
        print(f"\n{backend}: {args.datasets:,} extra open datasets, {args.rows:,} rows")
        for label, value in figures.items():
            print(f"  {label}: {value}")


if __name__ == "__main__":
    main()
