"""Benchmark of the record linkage: 1,000,000 person records across three department datasets
(公安户籍, 民政低保, 乡村振兴防返贫监测) of a synthetic county with a known truth, linked by
Splink (DuckDB) and, on the same candidate pairs, by ``recordlinkage`` (ECM classifier).

Run from the project root::

    .venv/bin/python bench/linkage.py                       # 1,000,000 records
    .venv/bin/python bench/linkage.py --records 200000 --json

Timed (wall clock and the process's CPU time): standardisation, training (EM on a random
sample of ``--train-sample`` records: the prior and the m/u probabilities do not depend on the
sample's size), prediction and clustering of every record with the trained model. Generating
the data is not part of the linkage and is reported apart. Quality: cluster F1 (pairwise over
clusters), B-cubed F1 and the pairwise F1 of the predicted links (definitions in
``gongzhi.linkage.quality``).

recordlinkage compares every candidate pair in pandas and Python; it is given the candidate
pairs of the same blocking rules (Splink's rules, computed in DuckDB so that both tools see
exactly the same pairs), binary features like Splink's comparison levels, and its unsupervised
ECM classifier; its clusters are the connected components of the pairs it classifies as
matches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from gongzhi.linkage.engine import LinkageRun, person_settings
from gongzhi.linkage.quality import bcubed_scores, cluster_scores, pair_scores
from gongzhi.linkage.standardise import VillageDirectory, standardise_persons
from gongzhi.linkage.synthetic import PERSON_COLUMNS, default_villages, generate

THRESHOLD = 0.95


class Clock:
    """Wall time and this process's CPU time (all threads) of each phase. On a shared machine
    the wall time counts the other tenants' load too; the CPU time does not."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = (0.0, 0.0)

    def start(self) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def stop(self, phase: str) -> float:
        self.wall[phase] = time.perf_counter() - self._start[0]
        self.cpu[phase] = time.process_time() - self._start[1]
        print(f"  {phase}: {self.wall[phase]:.1f} s wall, {self.cpu[phase]:.1f} s CPU", flush=True)
        return self.wall[phase]

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall,
            "cpu_s": self.cpu,
            "total_wall_s": sum(self.wall.values()),
            "total_cpu_s": sum(self.cpu.values()),
        }


def _persons_for(records: int, seed: int) -> int:
    """Population that yields about ``records`` person records (measured on a small county)."""
    probe = generate(20_000, seed=seed)
    return round(records * 20_000 / len(probe.person_records))


def _truth(table: pa.Table) -> dict[str, str]:
    return dict(zip(table["record_id"].to_pylist(), table["true_id"].to_pylist(), strict=True))


def _scores(cluster_of: dict[str, str], truth: dict[str, str]) -> dict[str, Any]:
    return {
        "cluster": cluster_scores(cluster_of, truth).as_dict(),
        "bcubed": bcubed_scores(cluster_of, truth).as_dict(),
    }


def run_splink(table: pa.Table, train_sample: int, seed: int, clock: Clock) -> dict[str, Any]:
    clock.start()
    rng = random.Random(seed)
    sample_rows = sorted(rng.sample(range(table.num_rows), min(train_sample, table.num_rows)))
    trainer = LinkageRun(table.take(sample_rows), seed=seed)
    trainer.train()
    model = trainer.model_dict()
    clock.stop("train")

    clock.start()
    run = LinkageRun(table, model=model)
    run.predict()
    clock.stop("predict")
    clock.start()
    clusters = run.cluster(THRESHOLD)
    clock.stop("cluster")
    cluster_of = dict(
        zip(
            clusters["record_id"].to_pylist(),
            (str(c) for c in clusters["cluster_id"].to_pylist()),
            strict=True,
        )
    )
    truth = _truth(table)
    return {
        **_scores(cluster_of, truth),
        "links": pair_scores(run.predicted_pairs(THRESHOLD), truth).as_dict(),
        "scored_pairs": run.predictions.as_pyarrow_table().num_rows,
        "clusters": len(set(cluster_of.values())),
    }


def candidate_pairs(table: pa.Table) -> Any:
    """The candidate pairs of the Splink model's blocking rules, as a pandas MultiIndex."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.register("t", table)
    rules = [
        rule.blocking_rule_sql
        for rule in person_settings().get_settings("duckdb")._blocking_rules_to_generate_predictions
    ]
    union = " union ".join(
        f"select l.record_id as a, r.record_id as b from t l join t r on ({rule})"
        " and l.record_id < r.record_id"
        for rule in rules
    )
    pairs = con.sql(union).to_arrow_table()
    return pd.MultiIndex.from_arrays(
        [pairs["a"].to_numpy(zero_copy_only=False), pairs["b"].to_numpy(zero_copy_only=False)]
    )


def run_recordlinkage(table: pa.Table, pairs: Any, clock: Clock) -> dict[str, Any]:
    import numpy as np
    import recordlinkage
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    clock.start()
    frame = table.to_pandas().set_index("record_id")
    compare = recordlinkage.Compare(n_jobs=1)
    compare.exact("id18", "id18", label="id_exact")
    compare.string("id18", "id18", method="levenshtein", threshold=0.88, label="id_close")
    compare.exact("name", "name", label="name")
    compare.exact("name_pinyin", "name_pinyin", label="pinyin")
    compare.exact("name_fuzzy", "name_fuzzy", label="fuzzy")
    compare.string("name_pinyin", "name_pinyin", method="jarowinkler", threshold=0.9, label="jw")
    compare.exact("birth_date", "birth_date", label="birth")
    compare.exact("birth_year", "birth_year", label="year")
    compare.exact("sex", "sex", label="sex")
    compare.exact("village_code", "village_code", label="village")
    compare.exact("township_code", "township_code", label="township")
    compare.exact("phone", "phone", label="phone")
    features = compare.compute(pairs, frame)
    clock.stop("compare")
    clock.start()
    classifier = recordlinkage.ECMClassifier(binarize=None)
    matches = classifier.fit_predict(features.astype(int))
    clock.stop("classify")

    clock.start()
    ids = table["record_id"].to_pylist()
    position = {record_id: i for i, record_id in enumerate(ids)}
    left = np.array([position[a] for a in matches.get_level_values(0)], dtype=np.int64)
    right = np.array([position[b] for b in matches.get_level_values(1)], dtype=np.int64)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(ids), len(ids)))
    _count, labels = connected_components(graph, directed=False)
    cluster_of = {record_id: str(label) for record_id, label in zip(ids, labels, strict=True)}
    clock.stop("cluster")
    truth = _truth(table)
    return {
        **_scores(cluster_of, truth),
        "links": pair_scores(list(matches), truth).as_dict(),
        "candidate_pairs": len(pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--train-sample", type=int, default=250_000)
    parser.add_argument("--skip-recordlinkage", action="store_true")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()

    clock = Clock()
    clock.start()
    persons = _persons_for(args.records, args.seed)
    data = generate(persons, seed=args.seed)
    # Departments' data reaches the linkage as tables (the data hub's imports), not as Python
    # dicts: the conversion belongs to the generator's side.
    records = pa.Table.from_pylist(
        data.person_records, schema=pa.schema([(c, pa.string()) for c in PERSON_COLUMNS])
    )
    generate_s = clock.stop("generate (not part of the linkage)")
    print(f"generated {records.num_rows:,} records of {persons:,} persons in {generate_s:.1f} s")

    splink_clock = Clock()
    splink_clock.start()
    table = standardise_persons(
        records, resolve_address=VillageDirectory(default_villages()).resolve
    )
    del records, data
    splink_clock.stop("standardise")

    splink = run_splink(table, args.train_sample, args.seed, splink_clock)
    splink.update(splink_clock.as_dict())
    print(f"splink: {json.dumps(splink, indent=1)}", flush=True)

    result: dict[str, Any] = {
        "records": table.num_rows,
        "persons": persons,
        "datasets": {
            source: int(pc.sum(pc.equal(table["source"], source)).as_py())
            for source in sorted(set(table["source"].to_pylist()))
        },
        "generate_s": generate_s,
        "splink": splink,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "load_average_at_end": os.getloadavg(),
        },
    }
    if not args.skip_recordlinkage:
        rl_clock = Clock()
        rl_clock.wall["standardise"] = splink_clock.wall["standardise"]
        rl_clock.cpu["standardise"] = splink_clock.cpu["standardise"]
        rl_clock.start()
        pairs = candidate_pairs(table)
        rl_clock.stop("blocking")
        rl = run_recordlinkage(table, pairs, rl_clock)
        rl.update(rl_clock.as_dict())
        result["recordlinkage"] = rl
        print(f"recordlinkage: {json.dumps(rl, indent=1)}", flush=True)
    if args.json:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
