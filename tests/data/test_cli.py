"""``gongzhi data ...`` commands, run against the test transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.data import cli
from tests.data.helpers import CIVIL_AFFAIRS, PERSON_HEADER, csv_bytes, person_row, write
from tests.fixtures import run_cli_in_test_session

runner = CliRunner()


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    run_cli_in_test_session(monkeypatch, cli, db)
    return db


def test_create_import_versions_compare(cli_db: Session, tmp_path: Path) -> None:
    created = runner.invoke(
        cli.app,
        [
            "create",
            "cli-persons",
            "--name",
            "人员名单",
            "--department",
            CIVIL_AFFAIRS,
            "--schema",
            "person_list",
            "--condition",
            "测试",
            "--max-rejected",
            "0.5",
        ],
    )
    assert created.exit_code == 0, created.output
    first = write(
        tmp_path, "v1.csv", csv_bytes([person_row(i) for i in range(1, 6)], encoding="gbk")
    )
    result = runner.invoke(cli.app, ["import", "cli-persons", str(first), "--as-of", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output and "5 rows kept" in result.output
    rows = [person_row(i) for i in range(2, 8)]
    rows[0]["性别"] = "?"
    second = write(tmp_path, "v2.csv", csv_bytes(rows))
    issues = tmp_path / "issues.csv"
    result = runner.invoke(
        cli.app, ["import", "cli-persons", str(second), "--issues-out", str(issues)]
    )
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output and "1 rejected" in result.output
    assert "constraint-error" in issues.read_text(encoding="utf-8")
    listed = runner.invoke(cli.app, ["versions", "cli-persons"])
    assert listed.exit_code == 0 and "v1.csv" in listed.output and "v2.csv" in listed.output
    compared = runner.invoke(cli.app, ["compare", "cli-persons", "1", "2"])
    assert compared.exit_code == 0, compared.output
    assert "+2 added, −2 removed, ~0 changed, 3 unchanged" in compared.output


def test_a_bad_header_exits_non_zero_with_its_report(cli_db: Session, tmp_path: Path) -> None:
    runner.invoke(
        cli.app,
        [
            "create",
            "cli-bad",
            "--name",
            "x",
            "--department",
            CIVIL_AFFAIRS,
            "--schema",
            "person_list",
            "--condition",
            "测试",
        ],
    )
    bad = write(tmp_path, "bad.csv", csv_bytes([person_row(1)], header=PERSON_HEADER[:3]))
    result = runner.invoke(cli.app, ["import", "cli-bad", str(bad)])
    assert result.exit_code == 1
    assert "header_rejected" in result.output and "missing column" in result.output
    assert runner.invoke(cli.app, ["import", "no-such", str(bad)]).exit_code == 1
