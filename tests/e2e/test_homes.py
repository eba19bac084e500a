"""Signing in as a persona through /login and the citizen and staff homes in a browser."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.helpers import assert_accessible, px, sign_in, switch_elderly


def test_citizen_signs_in_to_citizen_home(page: Page) -> None:
    sign_in(page, "citizen")
    assert page.url.endswith("/citizen")
    assert page.get_by_role("heading", name="我的诉求").is_visible()
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert_accessible(page)
    switch_elderly(page, on=True)
    assert page.url.endswith("/citizen")
    assert px(page, "body", "font-size") >= 18
    assert_accessible(page)


def test_staff_signs_in_to_staff_home(page: Page) -> None:
    sign_in(page, "dispatcher")
    assert page.url.endswith("/staff")
    assert page.get_by_text("指挥中心调度员").is_visible()
    assert_accessible(page)
    switch_elderly(page, on=True)
    assert px(page, "body", "font-size") >= 18
    box = page.locator("#elderly-switch").bounding_box()
    assert box and box["height"] >= 60
    assert_accessible(page)
    # Every area the staff home links opens and passes axe too (in elderly mode).
    hrefs = page.eval_on_selector_all(".tiles a", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs, "the staff home links no areas"
    for href in hrefs:
        resp = page.goto(href)
        assert resp is not None and resp.status == 200, href
        assert_accessible(page)
    page.goto("/staff")
    # Sign out (a POST form) returns to a public page.
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    page.goto("/staff")
    assert "/login" in page.url
