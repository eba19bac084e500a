"""A citizen reports a problem in a real browser, in elderly mode on a phone-sized screen:
sign in, one question per page, an address in 安吉县 confirmed, check answers, send, the
receipt, and the request found in "my requests". axe-core runs on every page of the
journey (no serious or critical violations); the page never scrolls sideways and the
targets are large.

The server commits to the shared test database: the text is unique per run, and a draft
left by an earlier, interrupted run is removed first."""

from __future__ import annotations

import uuid

from playwright.sync_api import FloatRect, Page, ViewportSize
from sqlalchemy.engine import Engine

from tests.e2e.helpers import assert_accessible, clear_case_draft, px, sign_in, switch_elderly

PHONE: ViewportSize = {"width": 360, "height": 740}


def _fits_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways ({width}px)"
    for box in _boxes(page, "main .button"):
        assert box["height"] >= 60, (page.url, box)


def _boxes(page: Page, selector: str) -> list[FloatRect]:
    found: list[FloatRect] = []
    for handle in page.query_selector_all(selector):
        box = handle.bounding_box()
        if box and box["width"] > 0:
            found.append(box)
    return found


def _check(page: Page, path: str) -> None:
    page.wait_for_load_state()

    assert page.url.split("?")[0].endswith(path), f"expected {path}, at {page.url}"
    _fits_phone(page)
    assert_accessible(page)


def test_citizen_reports_in_elderly_mode_on_a_phone(page: Page, engine: Engine) -> None:
    clear_case_draft(engine, "citizen")
    page.set_viewport_size(PHONE)
    sign_in(page, "citizen")
    switch_elderly(page, on=True)
    assert px(page, "body", "font-size") >= 18

    page.get_by_role("link", name="反映问题").first.click()
    _check(page, "/report/problem")

    # A missing answer: the error summary at the top links to the field.
    page.get_by_role("button", name="继续").click()
    _check(page, "/report/problem")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "description"

    marker = uuid.uuid4().hex[:8]
    description = f"村口的路灯坏了好几天，晚上看不见路（{marker}）"
    page.get_by_label("遇到了什么问题？").fill(description)
    page.get_by_role("button", name="继续").click()
    _check(page, "/report/where")
    # The map is an extra that the script switches on; the form works without it.
    assert page.locator("#report-map").is_visible()

    page.get_by_label("问题在哪里？").fill("安吉县鄣吴镇玉华村村委会门口")
    page.get_by_role("button", name="继续").click()
    _check(page, "/report/where/confirm")
    assert "玉华村" in page.locator("#resolved-place").inner_text()
    page.get_by_label("是，地点正确").check()
    page.get_by_role("button", name="继续").click()
    _check(page, "/report/photos")

    page.get_by_role("button", name="继续").click()
    _check(page, "/report/contact")
    page.get_by_label("匿名反映").check()
    page.get_by_role("button", name="继续").click()
    _check(page, "/report/check")
    assert description in page.locator(".summary-list").inner_text()
    assert page.get_by_role("link", name="修改 问题描述").is_visible()

    page.get_by_role("button", name="确认并提交").click()
    _check(page, "/report/sent/" + page.url.rsplit("/", 1)[-1])
    number = page.locator("#receipt-number").inner_text().strip()
    assert number.startswith("AJ-")
    assert page.get_by_role("heading", name="接下来会怎样").is_visible()

    page.get_by_role("link", name="我的诉求").click()
    _check(page, "/my/cases")
    item = page.locator(".case-item", has_text=number)
    assert item.is_visible()
    item.get_by_role("link").click()
    _check(page, f"/my/cases/{number}")
    assert page.get_by_role("heading", name="办理经过").is_visible()
    assert "我们收到了你的诉求" in page.locator(".timeline").inner_text()
