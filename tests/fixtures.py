"""Shared fixtures. Domains add theirs in their own module listed in ``pytest_plugins``.

``seeded`` is the session-wide reference data every test may rely on; it is committed once
after the migrations and before any per-test transaction.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine


@pytest.fixture(scope="session")
def seeded(engine: Engine) -> None:
    return None
