"""A scratch database for the migration tests that need rows written at an older revision:
of the suite's kind, created empty for the test and dropped after it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from gongzhi.db import make_engine


@contextmanager
def scratch_database(tmp_path: Path, name: str) -> Iterator[Engine]:
    """An empty database: a SQLite file under ``tmp_path`` (``secure_delete`` off on every
    connection, as builds other than Debian's have it, so that a migration which must zero
    freed pages has to turn it on itself), or, with ``GONGZHI_TEST_DATABASE_URL`` naming a
    PostgreSQL server, the database ``<suite database>_<name>`` on it."""
    base = os.environ.get("GONGZHI_TEST_DATABASE_URL")
    admin: Engine | None = None
    database = ""
    if base and make_url(base).get_backend_name() == "postgresql":
        url = make_url(base)
        database = f"{url.database}_{name}"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        engine = make_engine(url.set(database=database).render_as_string(hide_password=False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path / f'{name}.db'}")

        @event.listens_for(engine, "connect")
        def _no_secure_delete(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete = 0")

    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def column_names(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def files_content(engine: Engine, directory: Path) -> bytes | None:
    """SQLite: every byte of the database's files after a checkpoint (the write-ahead log
    folded into the file), for a search for plain values; None on PostgreSQL, whose files
    this test cannot read."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())
