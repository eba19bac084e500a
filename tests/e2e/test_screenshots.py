"""Screenshots for the README (opt-in): ``GONGZHI_SCREENSHOTS=docs/images pytest tests/e2e -k
screenshots`` writes the landing page and the staff home, normal and elderly mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

from gongzhi.config import PROJECT_ROOT
from tests.e2e.helpers import sign_in, switch_elderly

TARGET = os.environ.get("GONGZHI_SCREENSHOTS")


@pytest.mark.skipif(not TARGET, reason="set GONGZHI_SCREENSHOTS=<folder> to take screenshots")
def test_screenshots(page: Page) -> None:
    folder = Path(TARGET or ".")
    if not folder.is_absolute():
        folder = PROJECT_ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1024, "height": 720})

    page.goto("/")
    page.screenshot(path=str(folder / "home.png"))
    switch_elderly(page, on=True)
    page.screenshot(path=str(folder / "home-elderly.png"))
    switch_elderly(page, on=False)

    sign_in(page, "township_clerk")
    assert page.url.endswith("/staff")
    page.screenshot(path=str(folder / "staff.png"))
    switch_elderly(page, on=True)
    page.screenshot(path=str(folder / "staff-elderly.png"))
