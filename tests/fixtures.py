"""Shared fixtures. ``seeded`` is the session-wide reference data every test may rely on:
regions, then accounts (the personas), then the organisation, each committed once after
the migrations and before any per-test transaction. Each domain owns its seed fixture in
``tests/<domain>/fixtures.py``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rich.console import Console

pytest_plugins = [
    "tests.regions.fixtures",
    "tests.security.fixtures",
    "tests.org.fixtures",
    "tests.cases.fixtures",
]


@pytest.fixture(scope="session")
def seeded(seed_regions: None, seed_security: None, seed_org: None, seed_cases: None) -> None:
    return None


def run_cli_in_test_session(monkeypatch: pytest.MonkeyPatch, cli_module: object, db: Any) -> None:
    """Make a domain's CLI commands use the test's session (rolled back after the test)
    instead of opening their own unit of work, with wide consoles so that messages are not
    wrapped mid-phrase."""

    @contextmanager
    def unit_of_work() -> Iterator[Any]:
        yield db
        db.flush()

    monkeypatch.setattr(cli_module, "_unit_of_work", unit_of_work)
    monkeypatch.setattr(cli_module, "console", Console(width=200))
    monkeypatch.setattr(cli_module, "err", Console(stderr=True, width=200))
