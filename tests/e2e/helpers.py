"""Shared browser steps: axe-core checks, signing in as a persona, switching modes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

BLOCKING = ("serious", "critical")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_blocking(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; return serious and critical violations (readably)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # From the app's own static files: the pages' Content-Security-Policy refuses the
        # inline <script> that add_script_tag(path=…) would write.
        page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def assert_accessible(page: Page) -> None:
    violations = axe_blocking(page)
    assert not violations, f"axe on {page.url}: {violations}"


def login_page_or_skip(page: Page, next_path: str | None = None) -> None:
    target = "/login" + (f"?next={next_path}" if next_path else "")
    resp = page.goto(target)
    if resp is None or resp.status == 404:
        pytest.skip("the /login page is not available in this build yet")


def sign_in(page: Page, persona: str) -> None:
    """Sign in through the real /login form (personas without a second factor)."""
    try:
        from tests.security.fixtures import PERSONAS
    except ImportError:
        pytest.skip("test personas (tests/security/fixtures.py PERSONAS) are not available yet")
    p = PERSONAS[persona]
    assert not p.totp_secret, "use a persona without TOTP here"
    login_page_or_skip(page)
    page.fill("input[name=username]", p.username)
    page.fill("input[name=password]", p.password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()


def switch_elderly(page: Page, on: bool = True) -> None:
    """Use the on-page switch (a plain link: no JavaScript needed)."""
    page.locator("#elderly-switch").click()
    page.wait_for_load_state()
    has = page.evaluate("document.documentElement.classList.contains('elderly')")
    assert has is on


def px(page: Page, selector: str, prop: str) -> float:
    value = page.eval_on_selector(
        selector, "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop
    )
    return float(str(value).removesuffix("px"))
