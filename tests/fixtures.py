"""Shared fixtures. ``seeded`` is the session-wide reference data every test may rely on:
regions, then accounts (the personas), then the organisation, each committed once after
the migrations and before any per-test transaction. Each domain owns its seed fixture in
``tests/<domain>/fixtures.py``."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.regions.fixtures", "tests.security.fixtures", "tests.org.fixtures"]


@pytest.fixture(scope="session")
def seeded(seed_regions: None, seed_security: None, seed_org: None) -> None:
    return None
