"""The Spark backend (local mode, in this process's JVM): the model trained on DuckDB predicts
and clusters on Spark with the same result. Small on purpose: Spark's start and its per-query
overhead dominate at this size; the backend exists for province-scale runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongzhi.linkage.backends import spark_available
from gongzhi.linkage.engine import LinkageRun
from gongzhi.linkage.quality import cluster_scores
from gongzhi.linkage.standardise import VillageDirectory, standardise_persons
from gongzhi.linkage.synthetic import default_villages, generate

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        not spark_available(),
        reason="pyspark is not installed: pip install -e '.[spark]' (make test-setup does)",
    ),
]


def _clusters(table: object) -> dict[str, str]:
    return dict(
        zip(
            table["record_id"].to_pylist(),  # type: ignore[index]
            (str(c) for c in table["cluster_id"].to_pylist()),  # type: ignore[index]
            strict=True,
        )
    )


def test_spark_predicts_and_clusters_like_duckdb(tmp_path: Path) -> None:
    data = generate(120, seed=31)
    table = standardise_persons(
        data.person_records, resolve_address=VillageDirectory(default_villages()).resolve
    )
    on_duckdb = LinkageRun(table, u_max_pairs=5e4)
    duckdb_clusters = _clusters(on_duckdb.run(0.95))
    model = tmp_path / "model.json"
    on_duckdb.save_model(model)

    on_spark = LinkageRun(table, backend="spark", model=model)
    spark_clusters = _clusters(on_spark.run(0.95))

    assert set(spark_clusters) == set(duckdb_clusters)
    assert cluster_scores(spark_clusters, duckdb_clusters).f1 == pytest.approx(1.0)
    truth = dict(zip(table["record_id"].to_pylist(), table["true_id"].to_pylist(), strict=True))
    assert cluster_scores(spark_clusters, truth).f1 > 0.95
    # The explanation works on Spark's predictions too.
    left, right = on_spark.predicted_pairs(0.95)[0]
    assert on_spark.explain(left, right)[-1]["comparison"] == "Final score"
