"""Test harness: one database per run (SQLite by default, PostgreSQL when
``GONGZHI_TEST_DATABASE_URL`` is set), migrated once; every test runs inside a transaction
that is rolled back at its end, and the app under test commits into savepoints of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade

pytest_plugins = ["tests.fixtures", "tests.security.plaintext_scan"]


def _database_url(tmp_dir: Path, worker: str) -> str:
    url = os.environ.get("GONGZHI_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_dir / f'test-{worker}.db'}"
    if worker == "master":
        return url
    # xdist: each worker gets its own PostgreSQL database next to the given one.
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Settings:
    url = _database_url(tmp_path_factory.mktemp("db"), worker_id)
    return Settings(env="test", database_url=url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with engine.begin() as conn:
        upgrade(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine, seeded: None) -> Iterator[Connection]:
    """A connection whose outer transaction is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


def _session_on(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = _session_on(connection)
    yield session
    session.close()


@pytest.fixture
def app(settings: Settings, connection: Connection):  # type: ignore[no-untyped-def]
    return create_app(settings, session_factory=lambda: _session_on(connection))


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests drive a real server that commits to the shared test database; run them
    # last so their rows can never leak into the rolled-back tests.
    items.sort(key=lambda item: "tests/e2e/" in item.nodeid.replace("\\", "/"))
