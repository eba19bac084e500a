"""Session-wide seed data of the cases domain (committed once, before any test)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine


@pytest.fixture(scope="session")
def seed_cases(engine: Engine, seed_org: None) -> None:
    return None
