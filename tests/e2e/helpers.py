"""Shared browser steps: axe-core checks, signing in as a persona, switching modes, the
committed data a browser test sets up."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.cases.models import CaseDraft
from gongzhi.db import session_scope
from gongzhi.security.models import Account
from tests.e2e.conftest import AXE

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


def assert_accessible_under_csp(page: Page) -> None:
    """axe-core, evaluated through the DevTools protocol rather than added as a <script>
    tag, so that the page's own Content-Security-Policy stays on while it is checked."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = axe_blocking(page)
    assert not found, f"axe ({'/'.join(BLOCKING)}) on {page.url}: {found}"


def record_csp_violations(page: Page, violations: list[str]) -> None:
    """Append the Content-Security-Policy violations the browser reports on ``page``."""
    page.on(
        "console",
        lambda msg: (
            violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )


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
    submit_password(page, p.username, p.password)


def sign_in_with_password(page: Page, username: str, password: str) -> None:
    """Sign in through the /login form as an account that is not one of the personas (staff
    seeded by the organisation, a data steward made by the test)."""
    page.goto("/login")
    submit_password(page, username, password)


def submit_password(page: Page, username: str, password: str) -> None:
    """Fill in and submit the password form of the /login page already open."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()


@contextmanager
def signed_in_pages(
    browser: Browser,
    base_url: str,
    *,
    passwords: Mapping[str, str] | None = None,
    csp_must_hold: bool = False,
) -> Iterator[Callable[[str], Page]]:
    """``open_as(who)``: a page in its own browser context, signed in as the persona ``who``
    or, for a name in ``passwords``, as that account with that password. The contexts are
    closed at the end; with ``csp_must_hold`` every page records Content-Security-Policy
    violations and the block fails if there were any."""
    contexts = []
    violations: list[str] = []

    def open_as(who: str) -> Page:
        context = browser.new_context(base_url=base_url, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        if csp_must_hold:
            record_csp_violations(page, violations)
        if passwords and who in passwords:
            sign_in_with_password(page, who, passwords[who])
        else:
            sign_in(page, who)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not violations, violations


def committed_session(engine: Engine) -> Session:
    """A session of its own on ``engine``: what it commits is seen by the served app."""
    return Session(bind=engine, expire_on_commit=False)


def clear_case_draft(engine: Engine, username: str) -> None:
    """A draft left by an earlier, interrupted run would be resumed instead of a new one."""
    with session_scope(lambda: Session(bind=engine)) as db:
        account_id = db.scalar(select(Account.id).where(Account.username == username))
        db.execute(delete(CaseDraft).where(CaseDraft.account_id == account_id))


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
