"""``gongzhi linkage generate`` and ``gongzhi linkage run`` through the real command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from gongzhi.cli import app

runner = CliRunner()


def test_generate_then_link_the_csv_files_and_report_quality(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "linkage",
            "generate",
            "--out",
            str(tmp_path),
            "--persons",
            "400",
            "--no-villages-from-db",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "公安户籍" in result.output
    contradictions = json.loads((tmp_path / "contradictions.json").read_text("utf-8"))
    assert "entity_conflicting_registration" in {c["kind"] for c in contradictions}

    persons = [
        str(tmp_path / f"{name}.csv")
        for name in ("household_registry", "low_income", "poverty_monitoring")
    ]
    model = tmp_path / "model.json"
    out = tmp_path / "clusters.csv"
    result = runner.invoke(
        app,
        [
            "linkage",
            "run",
            *persons,
            "--no-villages-from-db",
            "--save-model",
            str(model),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "clusters in" in result.output
    assert "cluster (pairwise)" in result.output and "B-cubed" in result.output
    assert json.loads(model.read_text("utf-8"))["comparisons"]
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = sum(len(Path(path).read_text("utf-8").splitlines()) - 1 for path in persons)
    assert len(rows) == total

    # The saved model predicts without training.
    result = runner.invoke(
        app, ["linkage", "run", *persons, "--no-villages-from-db", "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert "cluster (pairwise)" in result.output


def test_entities_and_a_refused_backend() -> None:
    result = runner.invoke(
        app, ["linkage", "run", "--persons", "8000", "--entities", "--no-villages-from-db"]
    )
    assert result.exit_code == 0, result.output
    assert "records → " in result.output
    result = runner.invoke(app, ["linkage", "run", "--backend", "oracle", "--persons", "50"])
    assert result.exit_code != 0
    assert "duckdb or spark" in result.output
