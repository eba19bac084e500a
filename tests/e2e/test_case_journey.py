"""The case journey in a browser: a citizen reports through /report in elderly mode, the
dispatcher names the lead in /cases/triage (or re-routes an auto-dispatched case from its
page), the enforcement bureau's handler signs and reports back in /cases/inbox, the grid
worker of 玉华村 verifies in /cases/grid, the case is closed and the citizen rates it in
/my/cases. The state and the clocks shown are checked at each step, and every page passes
axe. The server commits to the shared test database, so the text is unique."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page
from sqlalchemy.engine import Engine

from tests.e2e.helpers import (
    assert_accessible,
    clear_case_draft,
    signed_in_pages,
    switch_elderly,
)

ENFORCEMENT = "330523-ZHZF"  # 安吉县综合行政执法局
HANDLER, HANDLER_PASSWORD = "zhifa_chen", "Anji-Staff-2026!"
ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"  # the grid worker persona's village


@pytest.fixture
def as_who(browser: Browser, base_url: str) -> Iterator[Callable[[str], Page]]:
    with signed_in_pages(browser, base_url, passwords={HANDLER: HANDLER_PASSWORD}) as open_as:
        yield open_as


def _api(page: Page, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A JSON call with the page's session and its CSRF token."""
    csrf = page.request.get("/api/v1/me").json()["csrf_token"]
    resp = page.request.fetch(path, method=method, data=body or {}, headers={"X-CSRF-Token": csrf})
    assert resp.ok, resp.text()
    return resp.json()


def _report_in_elderly_mode(page: Page, description: str) -> str:
    page.goto("/citizen")
    switch_elderly(page, on=True)
    page.goto("/report/problem")
    page.get_by_label("遇到了什么问题？").fill(description)
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()
    page.get_by_label("问题在哪里？").fill(ADDRESS + "村委会门口")
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()
    assert "玉华村" in page.locator("#resolved-place").inner_text()
    page.get_by_label("是，地点正确").check()
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="继续").click()  # no photos
    page.wait_for_load_state()
    page.get_by_label("不匿名").check()
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="确认并提交").click()
    page.wait_for_load_state()
    assert "/report/sent/" in page.url
    number = page.locator("#receipt-number").inner_text().strip()
    assert number.startswith("AJ-")
    return number


def _article(page: Page, number: str) -> Locator:
    return page.locator(f"article:has(#case-{number})")


def _clock(scope: Page | Locator, kind: str) -> str:
    return scope.locator(f"[data-clock={kind}]").first.inner_text()


def test_a_case_from_report_to_rating(as_who: Callable[[str], Page], engine: Engine) -> None:
    marker = uuid.uuid4().hex[:8]
    citizen = as_who("citizen")
    clear_case_draft(engine, "citizen")
    number = _report_in_elderly_mode(citizen, f"玉华村村口的路灯坏了好几天 {marker}")
    case = _api(citizen, "GET", f"/api/v1/cases/{number}")
    assert case["status"] in ("triage", "dispatched")

    # The dispatcher names the lead department.
    dispatcher = as_who("dispatcher")
    if case["status"] == "triage":
        dispatcher.goto("/cases/triage")
        article = _article(dispatcher, number)
        assert article.is_visible()
        assert "分拨时限" in _clock(article, "dispatch")
        assert_accessible(dispatcher)
        article.locator("select[name=department]").select_option(ENFORCEMENT)
        article.get_by_role("button", name="派遣").click()
        dispatcher.wait_for_load_state()
        assert dispatcher.url.endswith("/cases/triage")
        assert _article(dispatcher, number).count() == 0
    else:
        # Auto-dispatched by the responsibility list: the dispatcher re-routes it to the
        # enforcement bureau from the case's page, so the journey goes on with its handler.
        dispatcher.goto(f"/cases/{number}")
        assert "已派遣" in dispatcher.locator("h1").inner_text()
        form = dispatcher.locator("form[action$='/dispatch']")
        form.locator("select[name=department]").select_option(ENFORCEMENT)
        form.get_by_role("button", name="改派").click()
        dispatcher.wait_for_load_state()
    dispatcher.goto(f"/cases/{number}")
    assert "已派遣" in dispatcher.locator("h1").inner_text()
    assert "安吉县综合行政执法局" in dispatcher.content()
    assert "已停止" in _clock(dispatcher, "dispatch")
    assert "剩余" in _clock(dispatcher, "accept") or "已超时" in _clock(dispatcher, "accept")
    assert_accessible(dispatcher)

    # The handler signs and reports back.
    handler = as_who(HANDLER)
    handler.goto("/cases/inbox")
    article = _article(handler, number)
    assert "签收时限" in _clock(article, "accept")
    assert_accessible(handler)
    article.get_by_role("button", name="签收").click()
    handler.wait_for_load_state()
    article = _article(handler, number)
    assert "已签收" in article.inner_text()
    assert "办理时限" in _clock(article, "handle")
    assert re.search("剩余|已超时", _clock(article, "handle"))
    article.locator("textarea[name=note]").fill(f"已更换灯泡 {marker}")
    article.get_by_role("button", name="反馈").click()
    handler.wait_for_load_state()
    # Still listed (open), now waiting for the on-site check, with no form left to fill.
    article = _article(handler, number)
    assert "已反馈" in article.inner_text() and article.locator("form").count() == 0
    handler.goto(f"/cases/{number}")
    assert "已反馈" in handler.locator("h1").inner_text()
    assert "已停止" in _clock(handler, "handle")

    # The grid worker verifies on site.
    grid = as_who("grid_worker")
    grid.goto("/cases/grid")
    article = _article(grid, number)
    assert f"已更换灯泡 {marker}" in article.inner_text()
    assert_accessible(grid)
    article.locator("input[name=note]").fill("现场已亮")
    article.get_by_role("button", name="核查通过").click()
    grid.wait_for_load_state()
    assert _article(grid, number).count() == 0
    grid.goto(f"/cases/{number}")
    heading = grid.locator("h1").inner_text()
    assert "已结案" in heading and "已解决" in heading
    assert "已停止" in _clock(grid, "feedback")

    # The citizen rates in "my requests"; the staff see it.
    citizen.goto(f"/my/cases/{number}")
    assert "已解决" in citizen.content() or "已办结" in citizen.content()
    assert_accessible(citizen)
    citizen.locator("#rating-5").check()
    citizen.get_by_role("button", name="提交评价").click()
    citizen.wait_for_load_state()
    rated = _api(citizen, "GET", f"/api/v1/cases/{number}")
    assert (rated["status"], rated["outcome"], rated["rating"]) == ("closed", "resolved", 5)
    dispatcher.goto(f"/cases/{number}")
    assert "5 分" in dispatcher.content()
    timeline = dispatcher.locator("ol.timeline").inner_text()
    for step in ("受理", "派遣", "签收", "反馈", "核查通过", "评价"):
        assert step in timeline
    assert_accessible(dispatcher)
