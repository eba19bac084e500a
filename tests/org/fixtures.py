"""Session-wide seed data of the org domain (committed once, before any test)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine


@pytest.fixture(scope="session")
def seed_org(engine: Engine) -> None:
    return None
