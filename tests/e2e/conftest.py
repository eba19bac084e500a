"""Browser tests: Debian's Chromium driven by Playwright against the app served by uvicorn
in a thread (127.0.0.1, a free port) on the session's test database, whose seeded data
(regions, personas, organisation) is committed. ``playwright install`` is never needed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gongzhi.config import PROJECT_ROOT, Settings
from tests.live_server import serve

CHROMIUM = Path(os.environ.get("GONGZHI_CHROMIUM", "/usr/bin/chromium"))
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (make test-setup installs it where it can)"
    if not AXE.exists():
        return f"axe-core not found at {AXE} (run `make setup`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


SKIP_REASON = _missing()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if SKIP_REASON:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": str(CHROMIUM), "headless": True, "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def live_server(settings: Settings, seeded: None) -> Iterator[str]:
    from gongzhi.app import create_app

    app = create_app(settings)  # its own engine: the seeded data is committed
    with serve(app, name="e2e") as base_url:
        yield base_url
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # Readers here are Chinese-speaking: Chromium would otherwise send Accept-Language en-US.
    return {**browser_context_args, "locale": "zh-CN"}
