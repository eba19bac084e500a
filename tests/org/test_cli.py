"""``gongzhi org ...`` commands, run against the test transaction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.org import cli
from gongzhi.org.importing import CANONICAL_HEADER
from gongzhi.org.models import CalendarOverride
from gongzhi.org.services import DATA_DIR
from tests.fixtures import run_cli_in_test_session

runner = CliRunner()


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    run_cli_in_test_session(monkeypatch, cli, db)
    return db


def test_import_good_file(cli_db: Session) -> None:
    result = runner.invoke(
        cli.app, ["import-responsibilities", str(DATA_DIR / "responsibilities.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "unchanged 71" in result.output


def test_import_bad_file_prints_the_rows_and_exits_non_zero(
    cli_db: Session, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes((",".join(CANONICAL_HEADER) + "\nX1,,部件\nX1,井盖,部件\n").encode("gb18030"))
    result = runner.invoke(cli.app, ["import-responsibilities", str(bad)])
    assert result.exit_code == 1
    assert "nothing imported" in result.output
    assert "empty matter name" in result.output and "duplicate matter code" in result.output


def test_departments_table(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["departments", "--region", "330523103000"])
    assert result.exit_code == 0, result.output
    assert "330523103-ZF" in result.output and "330523-ZHZF" in result.output
    assert "330523001-ZF" not in result.output


def test_calendar_override_and_add_working_time(cli_db: Session) -> None:
    result = runner.invoke(
        cli.app, ["calendar-override", "2027-02-08", "--holiday", "--note", "2027 春节"]
    )
    assert result.exit_code == 0, result.output
    row = cli_db.scalar(select(CalendarOverride).where(CalendarOverride.day == date(2027, 2, 8)))
    assert row is not None and not row.is_workday and row.note == "2027 春节"

    result = runner.invoke(cli.app, ["add-working-time", "2027-02-05T16:00", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "2027-02-09 17:30" in result.output
    assert "no official holiday data" in result.output

    result = runner.invoke(cli.app, ["add-working-time", "2026-09-30T16:00", "--hours", "2"])
    assert "2026-10-08 09:00" in result.output
    assert "no official holiday data" not in result.output

    assert runner.invoke(cli.app, ["add-working-time", "2026-09-30T16:00"]).exit_code == 1
    assert runner.invoke(cli.app, ["calendar-override", "2027-13-01", "--workday"]).exit_code == 1


def test_export_then_import_changes_nothing(cli_db: Session, tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    result = runner.invoke(cli.app, ["export-responsibilities", str(out)])
    assert result.exit_code == 0, result.output
    assert "71 matters" in result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "330523-ZJ" in data.decode("utf-8-sig")  # departments by code
    result = runner.invoke(cli.app, ["import-responsibilities", str(out)])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, deactivated 0, unchanged 71" in result.output


def test_import_heads(cli_db: Session, tmp_path: Path) -> None:
    from tests.org.fixtures import ENFORCEMENT, STAFF_USERNAME

    heads = tmp_path / "heads.csv"
    heads.write_text(f"部门编码,负责人\n{ENFORCEMENT},{STAFF_USERNAME}\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["import-heads", str(heads)])
    assert result.exit_code == 0, result.output
    assert "1 heads changed" in result.output
    heads.write_text(f"code,head\n{ENFORCEMENT},nobody_here\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["import-heads", str(heads)])
    assert result.exit_code == 1 and "nothing imported" in result.output
