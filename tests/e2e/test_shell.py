"""The public shell in a real browser: accessibility (axe-core) in normal and elderly mode,
the elderly-mode numbers, the language switch, phone width and keyboard use."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.helpers import assert_accessible, login_page_or_skip, px, switch_elderly


def test_landing_page_normal_and_elderly(page: Page) -> None:
    page.goto("/")
    assert page.locator("h1").is_visible()
    assert px(page, "body", "font-size") >= 16
    for box in _target_boxes(page, ".pref, #elderly-switch"):
        assert box["height"] >= 44 and box["width"] >= 44, box
    assert_accessible(page)

    switch_elderly(page, on=True)
    body_size = px(page, "body", "font-size")
    assert body_size >= 18
    assert px(page, "h1", "font-size") >= 30
    line = px(page, "main p", "line-height")
    assert line >= 1.3 * body_size
    assert px(page, "main p", "margin-bottom") >= 1.3 * line
    for box in _target_boxes(page, ".pref, #elderly-switch, .tile h3 a, .hotline a"):
        assert box["height"] >= 60 and box["width"] >= 60, box
    assert_accessible(page)

    # The switch stays on across pages and turns off again.
    page.goto("/no-such-page")
    assert page.evaluate("document.documentElement.classList.contains('elderly')")
    switch_elderly(page, on=False)
    assert px(page, "body", "font-size") < 18


def test_text_size_control(page: Page) -> None:
    page.goto("/")
    normal = px(page, "body", "font-size")
    page.get_by_role("link", name="特大字").click()
    page.wait_for_load_state()
    assert px(page, "body", "font-size") >= normal * 1.2


def test_language_switch_shows_english(page: Page) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Report a problem").is_visible()
    assert page.locator(".hotline").inner_text().startswith("Hotline")
    assert_accessible(page)
    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="反映问题").is_visible()


def test_phone_width_has_no_sideways_scrolling(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    for elderly in (False, True):
        page.goto("/")
        if elderly:
            switch_elderly(page, on=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"page is {width}px wide at 360px (elderly={elderly})"


def test_keyboard_skip_link_and_visible_focus(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.locator(".skip-link").is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_login_page_accessible_in_both_modes(page: Page) -> None:
    login_page_or_skip(page)
    assert page.locator("input[name=username]").is_visible()
    assert_accessible(page)
    switch_elderly(page, on=True)
    assert px(page, "body", "font-size") >= 18
    assert_accessible(page)


def _target_boxes(page: Page, selector: str) -> list[dict[str, float]]:
    boxes = []
    for handle in page.query_selector_all(selector):
        box = handle.bounding_box()
        if box:
            boxes.append(box)
    assert boxes, f"nothing matches {selector}"
    return boxes
