"""The data officer's journey in a real browser: register a dataset, upload a GBK file,
watch the import finish and read the quality report."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.data.helpers import csv_bytes, person_row
from tests.e2e.helpers import assert_accessible, sign_in


def test_upload_a_file_and_see_its_quality_report(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    # axe-core is injected as a script, which the pages' Content-Security-Policy forbids.
    context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    sign_in(page, "data_officer")
    page.goto("/data")
    page.get_by_role("link", name="登记数据集").click()
    page.fill("#code", code)
    page.fill("#name", "浏览器测试人员名单")
    page.select_option("#department_code", "330523-MZ")
    page.select_option("#standard", "person_list")
    page.fill("#sharing_condition", "仅用于测试")
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("浏览器测试人员名单")
    assert_accessible(page)

    rows = [person_row(i) for i in range(1, 31)]
    rows[4]["联系电话"] = "0000"  # one rejected row
    upload = tmp_path / "名单.csv"
    upload.write_bytes(csv_bytes(rows, encoding="gbk"))
    page.set_input_files("#file", str(upload))
    page.get_by_role("button", name="上传并导入").click()
    # The job page polls the import (htmx) and reloads with the report when it ends.
    expect(page.locator("#import-result")).to_contain_text("已生成版本 v1", timeout=30_000)
    expect(page.locator("td[data-dimension=conformity]")).to_be_visible()
    expect(page.get_by_role("link", name="下载全部问题行（CSV，含行号和原因）")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="查看这个版本").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1")
    expect(page.locator("main")).to_contain_text("gb18030")
    context.close()
