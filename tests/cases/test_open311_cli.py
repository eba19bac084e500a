"""``gongzhi cases open311-key-*``: issue, list and revoke partner keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.audit.models import AuditEvent
from gongzhi.cases import cli as cases_cli
from gongzhi.cases.open311 import Open311ApiKey, api_key_for


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, db: Session):  # type: ignore[no-untyped-def]
    @contextmanager
    def unit_of_work() -> Iterator[Session]:
        yield db
        db.flush()

    monkeypatch.setattr(cases_cli, "_open311_unit_of_work", unit_of_work)
    runner = CliRunner()
    return lambda *args: runner.invoke(cases_cli.app, list(args))


def test_issue_list_revoke(run, db: Session) -> None:  # type: ignore[no-untyped-def]
    issued = run("open311-key-issue", "浙里办", "--channel", "zlb")
    assert issued.exit_code == 0, issued.output
    key = re.search(r"gz311_\S+", issued.output)
    assert key is not None
    row = api_key_for(db, key.group(0))
    assert row is not None and row.name == "浙里办" and row.channel == "zlb"
    assert row.created_by.startswith("system:cli:cases:")

    listed = run("open311-key-list")
    assert listed.exit_code == 0
    assert "浙里办" in listed.output and "zlb" in listed.output
    assert key.group(0) not in listed.output

    revoked = run("open311-key-revoke", str(row.id), "--reason", "合作结束")
    assert revoked.exit_code == 0, revoked.output
    assert api_key_for(db, key.group(0)) is None
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "open311_api_key", AuditEvent.object_id == str(row.id)
        )
    ).all()
    assert actions == ["cases.open311_key.issue", "cases.open311_key.revoke"]


def test_refusals_exit_with_code_1(run, db: Session) -> None:  # type: ignore[no-untyped-def]
    missing = run("open311-key-revoke", "987654")
    assert missing.exit_code == 1
    assert "not_found" in missing.output
    blank = run("open311-key-issue", " ")
    assert blank.exit_code == 1
    assert "bad_name" in blank.output
    assert db.scalars(select(Open311ApiKey)).all() == []
