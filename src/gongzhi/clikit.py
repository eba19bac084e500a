"""What every domain's command-line tool shares: the unit of work, the acting system user,
and how a refused command reports itself."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import get_settings
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.errors import DomainError

# Columns a row report (``Invalid.details``) may carry, in the order they are shown.
REPORT_COLUMNS = ("line", "column", "code", "reason")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One command, one transaction (the edge owns it): committed if the command succeeds."""
    engine = make_engine(get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            yield db
    finally:
        engine.dispose()


def cli_actor(command: str) -> SystemActor:
    """The audit actor of a command: which command, run by which operating-system user."""
    return SystemActor(f"cli:{command}:{getpass.getuser()}")


def fail(exc: DomainError, console: Console) -> typer.Exit:
    """Print a refused command's code and message, and its row report if it has one."""
    console.print(f"[bold red]{exc.code}[/bold red]: {exc.message}")
    rows = exc.details if isinstance(exc.details, list) else []
    rows = [r for r in rows if isinstance(r, dict)]
    if rows:
        columns = [c for c in REPORT_COLUMNS if any(c in r for r in rows)]
        table = Table(*columns, title="有误的行 / rejected rows")
        for row in rows:
            table.add_row(*(str(row.get(c) or "") for c in columns))
        console.print(table)
    return typer.Exit(code=1)
