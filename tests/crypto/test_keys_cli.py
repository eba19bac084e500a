"""``gongzhi keys generate | status | rotate | add-signing-key`` against a real database file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongzhi.audit.services import SystemActor
from gongzhi.cli import app
from gongzhi.config import get_settings
from gongzhi.crypto import reset_providers
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.migrations.runner import upgrade
from gongzhi.people import services as people
from gongzhi.people.idnumber import check_character
from gongzhi.people.queries import find_by_id_number

runner = CliRunner()


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    key_file = tmp_path / "secrets" / "keys.json"
    monkeypatch.setenv("GONGZHI_ENV", "test")
    monkeypatch.setenv("GONGZHI_DATABASE_URL", url)
    monkeypatch.setenv("GONGZHI_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    reset_providers()
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    yield url, key_file
    get_settings.cache_clear()
    reset_providers()


def test_generate_status_rotate(deployment: tuple[str, Path]) -> None:
    url, key_file = deployment
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 0, result.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["keys", "generate"])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output

    engine = make_engine(url)
    numbers = []
    with session_scope(make_session_factory(engine)) as db:
        for i in range(12):
            first17 = f"330523197005{i + 1:02d}{i:03d}"
            numbers.append(first17 + check_character(first17))
            people.register_person(
                db, id_number=numbers[-1], name=f"张{i}", actor=SystemActor("test")
            )

    status = runner.invoke(app, ["keys", "status"], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "person.id_number" in status.output and "not rotated" in status.output

    rotated = runner.invoke(app, ["keys", "rotate", "--batch-size", "5"])
    assert rotated.exit_code == 0, rotated.output
    assert "rotation to version 2 started and finished" in rotated.output
    doc = json.loads(key_file.read_text())
    assert doc["current_data_key"] == 2
    assert [k["state"] for k in doc["data_keys"]] == ["retired", "active"]

    reset_providers()  # a new process: it reads the key file afresh
    with session_scope(make_session_factory(engine), write=False) as db:
        person = find_by_id_number(db, numbers[7])
        assert person is not None and person.name == "张7"
    engine.dispose()

    added = runner.invoke(app, ["keys", "add-signing-key", "witness"])
    assert added.exit_code == 0 and "witness" in json.loads(key_file.read_text())["signing_keys"]
