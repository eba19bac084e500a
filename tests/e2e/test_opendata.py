"""A citizen uses the open-data portal in a real browser: searches, narrows by department,
opens a dataset, sees its fields, quality and preview, downloads the CSV — in elderly mode,
axe-clean, and without a single Content-Security-Policy violation.

The demo's open datasets are committed to the shared test database (the seeding skips
those that exist, so reruns are harmless)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.crypto import get_provider
from gongzhi.db import session_scope
from gongzhi.opendata.demo import seed_open_data
from tests.e2e.helpers import assert_accessible, px, switch_elderly


@pytest.fixture(scope="module")
def committed_open_data(engine: Engine, settings: Any, seeded: None) -> None:
    with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
        seed_open_data(db, provider=get_provider(settings), actor=SystemActor("e2e-opendata"))


def test_open_data_portal_in_elderly_mode(
    browser: Browser, base_url: str, committed_open_data: None
) -> None:
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Refused to" in message.text or "Content Security Policy" in message.text:
            refused.append(message.text)

    context = browser.new_context(base_url=base_url, locale="zh-CN")
    page = context.new_page()
    page.on("console", on_console)
    page.goto("/")
    page.get_by_role("link", name="开放数据").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("开放数据")
    switch_elderly(page, on=True)
    assert px(page, "body", "font-size") >= 18

    page.fill("#q", "水库")
    page.get_by_role("button", name="查找").click()
    results = page.locator("#opendata-results")
    expect(results).to_contain_text("水库基本信息")
    expect(results).not_to_contain_text("法人单位基础信息")

    page.goto("/opendata")
    page.get_by_role("link", name="安吉县综合行政执法局（1）").click()
    expect(results).to_contain_text("城乡公共厕所分布")
    expect(results.locator("li")).to_have_count(1)
    results.get_by_role("link", name="城乡公共厕所分布").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("城乡公共厕所分布")
    expect(page.locator("main")).to_contain_text("每季度")
    expect(page.locator("#quality-overall")).to_contain_text("%")
    expect(page.locator("#preview tbody tr")).to_have_count(20)
    expect(page.locator("main")).not_to_contain_text("保洁责任人")
    download_button = page.locator("#csv-download")
    assert download_button.bounding_box()["height"] >= 60  # type: ignore[index]
    with page.expect_download() as info:
        download_button.click()
    path = info.value.path()
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("编号,名称,所在乡镇")
    assert "保洁责任人" not in text and "责任人电话" not in text
    assert not refused, refused
    context.close()

    # axe-core is injected as a script, which the pages' Content-Security-Policy forbids.
    checked = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    page = checked.new_page()
    page.goto("/opendata")
    switch_elderly(page, on=True)
    assert_accessible(page)
    page.goto("/opendata/ajx-zhzf-gcfb")
    assert_accessible(page)
    page.goto("/opendata?q=%E6%B2%A1%E6%9C%89%E8%BF%99%E4%B8%AA")
    assert_accessible(page)
    checked.close()
