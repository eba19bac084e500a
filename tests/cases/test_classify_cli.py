"""``gongzhi cases retrain`` and ``gongzhi cases classifier-report``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.audit.models import AuditEvent
from gongzhi.cases import classify, cli
from gongzhi.cases.classify import ClassifierModel

runner = CliRunner()


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    @contextmanager
    def unit_of_work() -> Iterator[Session]:
        yield db
        db.flush()

    monkeypatch.setattr(cli, "_classifier_unit_of_work", unit_of_work)
    classify.invalidate()
    yield db
    classify.invalidate()


def test_report_without_a_model(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["classifier-report"])
    assert result.exit_code == 0, result.output
    assert "no stored classifier model" in result.output


def test_retrain_without_cases_stores_a_cold_start(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["retrain"])
    assert result.exit_code == 0, result.output
    row = cli_db.scalars(select(ClassifierModel)).one()
    assert row.kind == "cold_start" and row.accuracy is None
    assert (
        f"stored classifier model {row.id} (cold_start): 0 labelled cases, 71 matters, "
        "not measured (no labelled cases)"
    ) in result.output


def test_retrain_on_synthetic_requests_reports_held_out_accuracy(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["retrain", "--synthetic", "5", "--min-examples", "100"])
    assert result.exit_code == 0, result.output
    row = cli_db.scalars(select(ClassifierModel)).one()
    assert row.kind == "trained"
    assert row.metrics["source"] == "synthetic"
    assert row.metrics["n_cases"] == 355 and row.metrics["n_test"] == 71
    assert row.metrics["top3"] >= 0.85
    assert "top-1" in result.output and "on 71 held-out share" in result.output
    assert "best score ≥ 0.5: " in result.output
    event = cli_db.scalars(
        select(AuditEvent).where(AuditEvent.action == "cases.classifier.train")
    ).one()
    assert event.actor_label.startswith("system:cli:cases:")
    assert event.object_id == str(row.id)

    report = runner.invoke(cli.app, ["classifier-report"])
    assert report.exit_code == 0, report.output
    assert f"classifier model {row.id}" in report.output
    assert "trained" in report.output and "synthetic" in report.output
    assert f"top-1 {row.metrics['cold_start_top1']:.1%}" in report.output
    assert f"{row.metrics['top3']:.1%}" in report.output
    coverage = row.metrics["thresholds"]["0.5"]["coverage"]
    assert re.search(rf"score ≥ 0\.5 +│ {re.escape(f'{coverage:.1%}')} of requests", report.output)
