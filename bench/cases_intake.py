"""Benchmark of case intake through the JSON API against a bare endpoint, side by side.

Run from the project root::

    .venv/bin/python bench/cases_intake.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/cases_intake.py --requests 300 --backends sqlite

Intake: ``POST /api/v1/cases`` of the real application, signed in with an API token of the
demo citizen, with a synthetic request text and address (``cases.synthetic``): validation,
address resolution, classification, routing by the responsibility list, the clocks, the
timeline and the audit event, one transaction per request.

Bare: a FastAPI endpoint that parses the same JSON body and inserts one row into a table of
the same database through the same engine settings, in its own transaction. Three of them:

- ``bare``: in an application of its own with nothing else (no sign-in, a plain engine
  transaction, no middleware);
- ``bare_same_app``: the same endpoint added to the platform's application, so that it is
  served the same way as the intake (the platform's middleware and router around it, the
  same client and in-process server) and only what the endpoints do differs;
- ``bare_signed_in``: the same insert behind the platform's sign-in check and unit of work
  (``require(Permission.CASE_SUBMIT)`` with the same bearer token, the request's session
  from ``get_db``), so that both sides pay the same authentication path and only the
  intake's own work differs.

All run in-process through ``fastapi.testclient.TestClient`` (no uvicorn, no network), one
request at a time, rounds of each in turn (the order rotating) so that the machine's load
hits all alike. Each request's wall time and the process's CPU time (all its threads) are
recorded: on a shared machine the CPU time is the steadier figure.
The database is the demo county (``build_demo``, county only, no cases) in a fresh SQLite
file, and in a fresh PostgreSQL database ``bench_intake`` on 127.0.0.1 (dropped and created).
The bar: intake at least half the bare endpoint's throughput.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from _common import add_database_options, citizen_bearer_headers, fresh_database, print_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import JSON, Column, MetaData, Table, insert

from gongzhi.app import create_app
from gongzhi.cases.synthetic import PHRASES, compose
from gongzhi.config import Settings
from gongzhi.db import BigIntPK, make_engine, make_session_factory, session_scope
from gongzhi.demo import build_demo
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

bare_meta = MetaData()
bare_table = Table(
    "bench_bare_request",
    bare_meta,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("body", JSON, nullable=False),
)


class BareIn(BaseModel):
    description: str
    address_text: str | None = None


def bare_app(url: str) -> FastAPI:
    engine = make_engine(url)
    bare_meta.create_all(engine)
    app = FastAPI()

    @app.post("/bare", status_code=201)
    def bare(body: BareIn) -> dict[str, Any]:
        with engine.begin() as conn:
            row_id = conn.execute(
                insert(bare_table).values(body=body.model_dump()).returning(bare_table.c.id)
            ).scalar_one()
        return {"id": row_id}

    return app


def add_bare_route(app: FastAPI, url: str) -> None:
    """The bare insert as one more route of the platform's own application: served the same
    way as the intake (same middleware, same router, same server), nothing else of the
    platform on its path."""
    engine = make_engine(url)
    bare_meta.create_all(engine)

    @app.post("/bench/bare", status_code=201)
    def bare(body: BareIn) -> dict[str, Any]:
        with engine.begin() as conn:
            row_id = conn.execute(
                insert(bare_table).values(body=body.model_dump()).returning(bare_table.c.id)
            ).scalar_one()
        return {"id": row_id}


def bare_signed_in_app(settings: Settings) -> FastAPI:
    """The bare insert behind the platform's sign-in check and the request's unit of work."""
    engine = make_engine(settings.database_url)
    bare_meta.create_all(engine)
    app = FastAPI()
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)

    @app.post("/bare", status_code=201)
    def bare(
        body: BareIn, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
    ) -> dict[str, Any]:
        row_id = db.execute(
            insert(bare_table).values(body=body.model_dump()).returning(bare_table.c.id)
        ).scalar_one()
        return {"id": row_id}

    return app


def bodies(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    codes = sorted(PHRASES)
    out = []
    for _ in range(n):
        req = compose(rng.choice(codes), rng)
        out.append({"description": req.text, "address_text": "浙江省湖州市安吉县" + req.place})
    return out


def run(backend: str, url: str, n: int, rounds: int, seed: int) -> dict[str, Any]:
    settings = Settings(env="test", database_url=url, _env_file=None)
    began = time.perf_counter()
    build_demo(settings, full_china=False, cases=0)
    built = time.perf_counter() - began
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as db:
        headers = citizen_bearer_headers(db)
    platform = create_app(settings)
    add_bare_route(platform, url)
    platform_client = TestClient(platform)
    clients = {
        "intake": (platform_client, "/api/v1/cases"),
        "bare": (TestClient(bare_app(url)), "/bare"),
        "bare_same_app": (platform_client, "/bench/bare"),
        "bare_signed_in": (TestClient(bare_signed_in_app(settings)), "/bare"),
    }
    work = bodies(n * rounds, seed)
    for body in work[:20]:  # warm up all (imports, caches, the classifier's model)
        for client, path in clients.values():
            assert client.post(path, json=body, headers=headers).status_code == 201
    names = list(clients)
    rates: dict[str, list[float]] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    statuses: dict[str, int] = {}
    for r in range(rounds):
        chunk = work[r * n : (r + 1) * n]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            client, path = clients[name]
            t0, c0 = time.perf_counter(), time.process_time()
            for body in chunk:
                t = time.perf_counter()
                res = client.post(path, json=body, headers=headers)
                assert res.status_code == 201, res.text
                latencies[name].append((time.perf_counter() - t) * 1000)
                if name == "intake":
                    status = res.json().get("status", "?")
                    statuses[status] = statuses.get(status, 0) + 1
            rates[name].append(len(chunk) / (time.perf_counter() - t0))
            cpu[name].append((time.process_time() - c0) * 1000 / len(chunk))
    per_s = {name: statistics.median(rates[name]) for name in names}
    cpu_ms = {name: statistics.median(cpu[name]) for name in names}
    return {
        "backend": backend,
        "demo_build_s": round(built, 1),
        "requests_each": n * rounds,
        **{f"{name}_per_s": round(per_s[name], 1) for name in names},
        "ratio": round(per_s["intake"] / per_s["bare"], 3),
        "ratio_same_app": round(per_s["intake"] / per_s["bare_same_app"], 3),
        "ratio_signed_in": round(per_s["intake"] / per_s["bare_signed_in"], 3),
        **{f"{name}_median_ms": round(statistics.median(latencies[name]), 2) for name in names},
        **{f"{name}_cpu_ms": round(cpu_ms[name], 2) for name in names},
        "cpu_ratio": round(cpu_ms["bare"] / cpu_ms["intake"], 3),
        "cpu_ratio_same_app": round(cpu_ms["bare_same_app"] / cpu_ms["intake"], 3),
        "cpu_ratio_signed_in": round(cpu_ms["bare_signed_in"] / cpu_ms["intake"], 3),
        "intake_statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=6)
    add_database_options(parser, sqlite_path="/tmp/bench_intake.sqlite")
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        url = fresh_database(backend, args, pg_name="bench_intake")
        result = run(backend, url, args.requests, args.rounds, args.seed)
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    print_machine()


if __name__ == "__main__":
    main()
