"""What the audit log costs case intake: the same intake with and without audit writes.

Run from the project root::

    .venv/bin/python bench/audit_cost.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/audit_cost.py --requests 100 --rounds 4 --backends sqlite

Intake is ``bench/cases_intake.py``'s: ``POST /api/v1/cases`` of the real application with a
citizen's API token, on the demo county, in-process through ``TestClient``.

- *with*: as deployed. Each round also runs the sequencer (``audit.sequence``: numbering the
  round's events, their subtrees, a checkpoint when due) and its time counts against the
  round, as the job's work would on the same machine.
- *without*: ``record()`` replaced everywhere by a function that writes nothing (no
  canonical text, no hash, no row).

Rounds alternate so that the machine's load hits both alike; the median rate of each is
reported, and the cost as 1 - with/without. The bar: at most 20 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cases_intake
from _common import add_database_options, citizen_bearer_headers, fresh_database, print_machine
from fastapi.testclient import TestClient

from gongzhi.app import create_app
from gongzhi.audit import log
from gongzhi.audit import services as audit_services
from gongzhi.audit.models import AuditEvent
from gongzhi.config import Settings
from gongzhi.db import make_engine, make_session_factory, session_scope, utcnow
from gongzhi.demo import build_demo


@contextmanager
def audit_writes_off() -> Iterator[None]:
    """Every module that imported ``record`` gets a version that writes nothing."""
    original = audit_services.record

    def no_record(*_args: Any, **_kwargs: Any) -> AuditEvent:
        return AuditEvent()

    patched = [
        m
        for name, m in list(sys.modules.items())
        if name.startswith("gongzhi.") and getattr(m, "record", None) is original
    ]
    for module in patched:
        module.record = no_record  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.record = original  # type: ignore[attr-defined]


def run(backend: str, url: str, n: int, rounds: int, seed: int) -> dict[str, Any]:
    settings = Settings(env="test", database_url=url, _env_file=None)  # type: ignore[call-arg]
    build_demo(settings, full_china=False, cases=0)
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as db:
        headers = citizen_bearer_headers(db)
        log.sequence_and_checkpoint(db, settings, utcnow())
    client = TestClient(create_app(settings))
    work = cases_intake.bodies(n * rounds * 2 + 20, seed)
    for body in work[:20]:  # warm-up: imports, caches, the classifier's model
        assert client.post("/api/v1/cases", json=body, headers=headers).status_code == 201
    rates: dict[str, list[float]] = {"with": [], "without": []}
    sequencing: list[float] = []
    cursor = 20
    for r in range(rounds):
        for name in ("with", "without") if r % 2 == 0 else ("without", "with"):
            chunk = work[cursor : cursor + n]
            cursor += n
            t0 = time.perf_counter()
            if name == "with":
                for body in chunk:
                    res = client.post("/api/v1/cases", json=body, headers=headers)
                    assert res.status_code == 201, res.text
                t1 = time.perf_counter()
                with session_scope(factory) as db:
                    log.sequence_and_checkpoint(db, settings, utcnow())
                sequencing.append(time.perf_counter() - t1)
            else:
                with audit_writes_off():
                    for body in chunk:
                        res = client.post("/api/v1/cases", json=body, headers=headers)
                        assert res.status_code == 201, res.text
            rates[name].append(len(chunk) / (time.perf_counter() - t0))
    with_rps = statistics.median(rates["with"])
    without_rps = statistics.median(rates["without"])
    return {
        "backend": backend,
        "requests_each": n * rounds,
        "with_audit_per_s": round(with_rps, 1),
        "without_audit_per_s": round(without_rps, 1),
        "audit_cost": round(1 - with_rps / without_rps, 3),
        "sequencer_s_per_round_median": round(statistics.median(sequencing), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=6)
    add_database_options(parser, sqlite_path="/tmp/bench_audit_cost.sqlite")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        url = fresh_database(backend, args, pg_name="bench_audit_cost")
        result = run(backend, url, args.requests, args.rounds, args.seed)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    print_machine()


if __name__ == "__main__":
    main()
