"""``gongzhi regions ...`` commands."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.config import get_settings
from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade
from gongzhi.regions import cli
from gongzhi.regions.models import Region
from tests.fixtures import run_cli_in_test_session
from tests.regions.fixtures import ANJI, YUHUA

runner = CliRunner()


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    run_cli_in_test_session(monkeypatch, cli, db)
    return db


def test_show(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["show", YUHUA])
    assert result.exit_code == 0, result.output
    assert "浙江省 › 湖州市 › 安吉县 › 鄣吴镇 › 玉华村委会" in result.output
    assert "rural (-, derived from the name)" in result.output
    missing = runner.invoke(cli.app, ["show", "330523999000"])
    assert missing.exit_code == 1 and "region_not_found" in missing.output


def test_grid_add(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["grid-add", YUHUA, "第一网格"])
    assert result.exit_code == 0, result.output
    assert f"{YUHUA}001" in result.output
    grid = cli_db.get(Region, YUHUA + "001")
    assert grid is not None and grid.name == "第一网格"
    refused = runner.invoke(cli.app, ["grid-add", ANJI, "县级网格"])
    assert refused.exit_code == 1 and "not_village" in refused.output


def test_resolve_json(cli_db: Session) -> None:
    result = runner.invoke(cli.app, ["resolve", "浙江安吉鄣吴玉华村 5 号", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["code"] == YUHUA
    assert {"code", "level", "names", "confidence", "remainder"} <= set(answer)
    plain = runner.invoke(cli.app, ["resolve", "安吉县鄣吴镇玉华村"])
    assert plain.exit_code == 0 and YUHUA in plain.output


@pytest.fixture
def fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty, migrated database of the suite's kind, for the first-load path."""
    base = os.environ.get("GONGZHI_TEST_DATABASE_URL")
    if base:
        url = make_url(base)
        name = f"{url.database}_regions_cli"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database_url = url.set(database=name).render_as_string(hide_password=False)
    else:
        admin = None
        database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    monkeypatch.setenv("GONGZHI_DATABASE_URL", database_url)
    monkeypatch.setattr(cli, "console", Console(width=200))
    monkeypatch.setattr(cli, "err", Console(stderr=True, width=200))
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_import_into_an_empty_database_then_again(fresh_database: str) -> None:
    first = runner.invoke(cli.app, ["import", "--root", "330523"])
    assert first.exit_code == 0, first.output
    assert "236 inserted, 0 updated, 0 unchanged" in first.output
    again = runner.invoke(cli.app, ["import", "--root", ANJI])
    assert again.exit_code == 0, again.output
    assert "0 inserted, 0 updated, 236 unchanged" in again.output
    engine = make_engine(fresh_database)
    try:
        # the first load rebuilt the secondary indexes it set aside
        names = {ix["name"] for ix in inspect(engine).get_indexes("region")}
        assert names == {
            "ix_region_name",
            "ix_region_short_name",
            "ix_region_parent_code",
            "ix_region_updated_at",
        }
        # and the tree's own foreign key, where it was set aside (PostgreSQL)
        fks = inspect(engine).get_foreign_keys("region")
        assert [(fk["name"], fk["referred_table"]) for fk in fks] == [
            ("fk_region_parent_code_region", "region")
        ]
        with Session(engine) as db:
            village = db.get(Region, YUHUA)
            assert village is not None and village.aliases == ["玉华村"]
            assert village.short_name == "玉华"
            assert db.scalar(text("SELECT count(*) FROM audit_event")) == 2
    finally:
        engine.dispose()


def test_import_refuses_a_bad_root(fresh_database: str) -> None:
    result = runner.invoke(cli.app, ["import", "--root", "12345"])
    assert result.exit_code == 1
    assert "bad_code" in result.output
