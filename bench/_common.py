"""What several benchmarks share: a fresh database per backend, the demo citizen's API
token, the command-line options every benchmark takes and the line that names the machine.

The benchmarks run as scripts from the project root (``.venv/bin/python bench/<name>.py``),
so this directory is on ``sys.path`` and ``import _common`` finds this file.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account
from gongzhi.security.services import issue_api_token

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def add_database_options(parser: argparse.ArgumentParser, *, sqlite_path: str) -> None:
    """``--seed``, ``--backends`` (sqlite,postgresql), ``--sqlite-path`` and ``--pg-url``
    (the server's maintenance database, from which the benchmark's own one is made)."""
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sqlite-path", default=sqlite_path)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)


def fresh_database(backend: str, args: argparse.Namespace, *, pg_name: str) -> str:
    """The URL of an empty database: the SQLite file (and its WAL files) removed, or the
    PostgreSQL database ``pg_name`` dropped (its connections closed) and created again."""
    if backend == "sqlite":
        path = Path(args.sqlite_path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {pg_name}"))
    admin.dispose()
    return str(args.pg_url).rsplit("/", 1)[0] + "/" + pg_name


def citizen_bearer_headers(db: Session) -> dict[str, str]:
    """Request headers signed in as the demo citizen, with an API token issued for a day."""
    account = db.scalar(select(Account).where(Account.username == "citizen"))
    assert account is not None
    _, token = issue_api_token(
        db, account, name="bench", expires_days=1, actor=SystemActor("bench")
    )
    return {"Authorization": f"Bearer {token}"}


def print_machine() -> None:
    print(
        json.dumps(
            {"python": sys.version.split()[0], "machine": platform.machine()}, ensure_ascii=False
        )
    )
