"""``gongzhi accounts`` against a database of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.cli import app
from gongzhi.config import get_settings
from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade
from gongzhi.security.models import Account, RoleGrant


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GONGZHI_DATABASE_URL", url)
    monkeypatch.setenv("GONGZHI_ENV", "test")
    get_settings.cache_clear()
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def test_accounts_commands(cli_db) -> None:  # type: ignore[no-untyped-def]
    run = CliRunner().invoke
    r = run(
        app,
        [
            "accounts", "create", "zhao.li", "--name", "赵丽", "--kind", "staff",
            "--role", "township_clerk@330523103000",
        ],
        input="Bamboo-Sea-77\nBamboo-Sea-77\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(app, ["accounts", "grant", "zhao.li", "leader@330523000000"])
    assert r.exit_code == 0, r.output
    r = run(app, ["accounts", "revoke", "zhao.li", "leader@330523000000", "--reason", "moved"])
    assert r.exit_code == 0, r.output
    with Session(cli_db) as db:
        account = db.scalar(select(Account).where(Account.username == "zhao.li"))
        assert account is not None and account.password_must_change
        grants = db.scalars(select(RoleGrant).where(RoleGrant.account_id == account.id)).all()
        assert [(g.role, g.region_code) for g in grants] == [("township_clerk", "330523103000")]
        account.locked_until = account.created_at.replace(year=2100)
        account.totp_secret = "JBSWY3DPEHPK3PXP"
        db.commit()
    assert run(app, ["accounts", "unlock", "zhao.li"]).exit_code == 0
    assert run(app, ["accounts", "reset-totp", "zhao.li"]).exit_code == 0
    r = run(app, ["accounts", "list"])
    assert r.exit_code == 0 and "zhao.li" in r.output
    with Session(cli_db) as db:
        account = db.scalar(select(Account).where(Account.username == "zhao.li"))
        assert account is not None
        assert account.locked_until is None and account.totp_secret is None
    # Mistakes get a message and a non-zero exit, not a traceback.
    r = run(app, ["accounts", "grant", "nobody", "leader@330523000000"])
    assert r.exit_code == 1 and "no account" in r.output
    r = run(app, ["accounts", "grant", "zhao.li", "boss@330523000000"])
    assert r.exit_code != 0
    r = run(
        app,
        ["accounts", "create", "weak", "--name", "弱", "--password", "123456"],
    )
    assert r.exit_code == 1
