"""The Content-Security-Policy holds in a real browser: the main pages are walked (sign-in,
the citizen's home in elderly mode and every /report step with the map, the staff home,
triage, a case page, the indicators with their ECharts chart and its tooltip, the Swagger
UI) and any CSP violation fails the test, whether Chromium reports it on the console
("Refused to …") or as a ``securitypolicyviolation`` event.

The server commits to the shared test database: the report's text is unique per run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page
from sqlalchemy.engine import Engine

from tests.e2e.helpers import clear_case_draft, sign_in, switch_elderly

# Recorded by the page itself from its first script on, before any of ours runs.
_LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " +
    (e.sourceFile || "") + ":" + (e.lineNumber || 0));
});
"""


class CspWatch:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.context.add_init_script(_LISTEN)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Refused to" in text or "Content Security Policy" in text:
            self.console.append(f"{self.page.url}: {text}")

    def check(self, where: str) -> None:
        self.page.wait_for_load_state("load")
        events: list[str] = self.page.evaluate("window.__csp || []")
        problems = list(dict.fromkeys(self.console + [f"{self.page.url}: {e}" for e in events]))
        self.console.clear()
        assert not problems, f"CSP violations on {where} ({len(problems)}): {problems[:5]}"
        header = self._csp_header()
        assert header and "'unsafe-inline'" not in header, (where, header)

    def _csp_header(self) -> str | None:
        resp = self.page.request.get(self.page.url)
        return resp.headers.get("content-security-policy")


@pytest.fixture
def csp(page: Page) -> Iterator[CspWatch]:
    yield CspWatch(page)


def _go(page: Page, csp: CspWatch, path: str) -> None:
    resp = page.goto(path)
    assert resp is not None and resp.status == 200, (path, resp and resp.status)
    csp.check(path)


def _citizen_reports(page: Page, csp: CspWatch) -> str:
    marker = uuid.uuid4().hex[:8]
    page.get_by_role("link", name="反映问题").first.click()
    csp.check("/report/problem")
    page.get_by_label("遇到了什么问题？").fill(f"路灯不亮了，晚上看不清路（{marker}）")
    page.get_by_role("button", name="继续").click()
    csp.check("/report/where")
    # The map step: Leaflet draws, a tap places the marker (CSSOM styles only).
    box = page.locator("#report-map")
    assert box.is_visible()
    page.locator("#report-map .leaflet-pane").first.wait_for(state="attached")
    box.click(position={"x": 80, "y": 80})
    page.locator("#report-map .leaflet-marker-icon").wait_for()
    csp.check("/report/where (map)")
    page.get_by_label("问题在哪里？").fill("安吉县鄣吴镇玉华村村委会门口")
    page.get_by_role("button", name="继续").click()
    csp.check("/report/where/confirm")
    page.get_by_label("是，地点正确").check()
    page.get_by_role("button", name="继续").click()
    csp.check("/report/photos")
    page.get_by_role("button", name="继续").click()
    csp.check("/report/contact")
    page.get_by_label("匿名反映").check()
    page.get_by_role("button", name="继续").click()
    csp.check("/report/check")
    page.get_by_role("button", name="确认并提交").click()
    csp.check("/report/sent")
    number = page.locator("#receipt-number").inner_text().strip()
    assert number.startswith("AJ-")
    _go(page, csp, f"/my/cases/{number}")
    return number


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()


def test_main_pages_keep_the_csp(page: Page, csp: CspWatch, engine: Engine) -> None:
    clear_case_draft(engine, "citizen")
    _go(page, csp, "/")
    _go(page, csp, "/login")

    sign_in(page, "citizen")
    csp.check("/citizen")
    switch_elderly(page, on=True)
    csp.check("/citizen (elderly)")
    number = _citizen_reports(page, csp)
    switch_elderly(page, on=False)
    _sign_out(page)

    sign_in(page, "dispatcher")
    csp.check("/staff")
    for path in ("/cases/triage", f"/cases/{number}", "/cases/console", "/account"):
        _go(page, csp, path)

    _go(page, csp, "/cases/indicators")
    chart = page.locator("#indicator-chart canvas").first
    if chart.count():
        # The tooltip is HTML that ECharts writes: hover so that it is drawn.
        box = chart.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(300)
        csp.check("/cases/indicators (tooltip)")


def test_swagger_ui_runs_under_the_csp(page: Page, csp: CspWatch) -> None:
    _go(page, csp, "/api/docs")
    page.locator(".opblock").first.wait_for(timeout=15000)
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary").first.click()  # expand one operation
    page.wait_for_timeout(200)
    csp.check("/api/docs (expanded)")
