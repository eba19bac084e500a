"""Data sharing in a real browser: a department requests fields of another department's
dataset, the data authority approves, the provider grants, the requester's system calls the
sharing API with its token, and the call shows in the grant's log. Every page is checked with
axe-core."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.config import Settings
from gongzhi.db import make_engine, session_scope
from tests.data.helpers import csv_bytes, import_bytes, make_dataset, person_row
from tests.data.sharing_helpers import PROVIDER, REQUESTER, STEWARD_PASSWORD, make_steward
from tests.e2e.helpers import assert_accessible, sign_in, sign_in_with_password


def _setup(settings: Settings, tmp_path: Path, tag: str) -> dict[str, Any]:
    """Committed: two stewards, a dataset with three rows, the requester's API token."""
    from gongzhi.security.models import Account
    from gongzhi.security.services import issue_api_token
    from tests.data.sharing_helpers import SEED

    engine = make_engine(settings.database_url)
    try:
        with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
            make_steward(db, f"req_{tag}", REQUESTER)
            make_steward(db, f"prov_{tag}", PROVIDER)
            dataset = make_dataset(db, code=f"e2e-share-{tag}", name=f"共享测试名单{tag}")
            rows = [person_row(i) for i in range(1, 4)]
            import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows))
            account = db.scalar(select(Account).where(Account.username == f"req_{tag}"))
            assert account is not None
            _row, token = issue_api_token(db, account, name="e2e", expires_days=None, actor=SEED)
    finally:
        engine.dispose()
    return {"requester": f"req_{tag}", "provider": f"prov_{tag}", "token": token}


def _sign_in_staff(page: Page, username: str) -> None:
    sign_in_with_password(page, username, STEWARD_PASSWORD)


def test_request_review_decide_and_call(
    browser: Browser, base_url: str, settings: Settings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    world = _setup(settings, tmp_path, tag)
    today = datetime.now(UTC).date()

    # The requesting department files the request.
    context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    _sign_in_staff(page, world["requester"])
    page.goto("/data/sharing")
    assert_accessible(page)
    page.get_by_role("link", name="申请共享数据").click()
    page.select_option("#dataset-choice", f"e2e-share-{tag}")
    page.get_by_role("button", name="选择这个数据集").click()
    page.check("input[name=fields][value=性别]")
    page.check("input[name=fields][value=人员类别]")
    page.fill("#purpose", "核对人员类别")
    page.fill("#legal_basis", "部门职责")
    page.fill("#scenario", "统计核对")
    page.fill("#end_users", "统计科经办人员")
    page.fill("#period_start", today.isoformat())
    page.fill("#period_end", (today + timedelta(days=30)).isoformat())
    assert_accessible(page)
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#request-status")).to_have_text("待数据主管部门审核")
    request_url = page.url
    assert_accessible(page)
    context.close()

    # The data authority reviews it from its queue.
    context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    sign_in(page, "data_officer")
    page.goto("/data/sharing/review")
    assert_accessible(page)
    page.locator(f"a[href='{request_url.removeprefix(base_url)}']").click()
    page.get_by_role("button", name="提交审核意见").click()
    expect(page.locator("#request-status")).to_have_text("待提供部门答复")
    assert_accessible(page)
    context.close()

    # The provider grants from its decision queue.
    context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    _sign_in_staff(page, world["provider"])
    page.goto("/data/sharing/decisions")
    assert_accessible(page)
    page.locator(f"a[href='{request_url.removeprefix(base_url)}']").click()
    assert_accessible(page)
    page.get_by_role("button", name="提交答复").click()
    expect(page.locator("#request-status")).to_have_text("已授权")
    page.locator("a[href^='/data/sharing/grants/']").first.click()
    grant_path = page.url.removeprefix(base_url)
    grant_id = grant_path.rsplit("/", 1)[1]
    context.close()

    # The requester's system calls the sharing API with the department's token.
    context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True)
    api = context.request.get(
        f"/api/v1/share/{grant_id}/rows",
        headers={"Authorization": f"Bearer {world['token']}", "X-End-User": "e2e-clerk"},
    )
    assert api.status == 200, api.text()
    body = api.json()
    assert body["fields"] == ["性别", "人员类别"] and len(body["rows"]) == 3

    page = context.new_page()
    _sign_in_staff(page, world["requester"])
    page.goto(grant_path)
    expect(page.locator("#call-log")).to_contain_text("e2e-clerk")
    expect(page.locator("#call-log")).to_contain_text("已返回")
    assert_accessible(page)
    context.close()
