"""Database core: declarative base, engines, and the unit of work.

The same code runs on the embedded SQLite file and on PostgreSQL. Services never commit:
the edge (a request, a CLI command, a job) opens ``session_scope`` and owns the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.requests import Request

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


# Set by :func:`time_travel` (the demo's history generator stamps events months ago);
# None in normal running.
_fixed_now: ContextVar[datetime | None] = ContextVar("gongzhi_fixed_now", default=None)


def utcnow() -> datetime:
    return _fixed_now.get() or datetime.now(UTC)


@contextmanager
def time_travel(at: datetime) -> Iterator[None]:
    """Within the block, :func:`utcnow` (the time every service stamps) answers ``at``."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    token = _fixed_now.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _fixed_now.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends.

    SQLite stores no zone, so values are normalised to UTC on the way in and marked UTC on
    the way out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the platform's connection settings for either backend."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; take it over
    # (the recipe from SQLAlchemy's SQLite dialect docs) and turn on WAL and foreign keys.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A unit of work that will write takes the write lock at BEGIN: a deferred
        # transaction that reads and then writes fails at once with "database is locked"
        # when another writer got in between (WAL cannot upgrade a stale snapshot), while an
        # IMMEDIATE one waits its turn (busy_timeout) and then sees the winner's commit.
        immediate = conn.get_execution_options().get(SQLITE_BEGIN) == "IMMEDIATE"
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


SQLITE_BEGIN = "gongzhi_sqlite_begin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def session_scope(factory: sessionmaker[Session] | Any, *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    ``write=False`` for units that only read, so that on SQLite they do not queue behind
    writers (the option means nothing to PostgreSQL)."""
    session: Session = factory()
    if write and session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_immediate_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def _begin_immediate(session: Session) -> None:
    """Make a writing unit of work on SQLite begin IMMEDIATE when it first touches the
    database, without touching it now: the session's engine is swapped for the same engine
    with the option set (same pool, same events). A session bound to a connection (the test
    harness's) already runs inside that connection's transaction, where BEGIN has been said."""
    bind = session.bind
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return
    immediate = _immediate_engines.get(bind)
    if immediate is None:
        immediate = _immediate_engines[bind] = bind.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    session.bind = immediate


def _finish(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's unit of work (declare with ``scope="function"``
    so the commit happens before the response is sent).

    Opening a session does no I/O (the connection is taken at the first statement), so it
    happens on the event loop; only the commit or rollback runs in a worker thread. A sync
    generator would cost two trips to the thread pool per request (enter and exit)."""
    session: Session = request.app.state.session_factory()
    if request.method not in SAFE_METHODS:
        _begin_immediate(session)
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(_finish, session, commit=False))
        raise
    if not session.in_transaction():
        # Nothing left to commit (the route committed, or never used the database): closing
        # does no I/O, so no trip to the thread pool.
        session.close()
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(functools.partial(_finish, session, commit=True))
