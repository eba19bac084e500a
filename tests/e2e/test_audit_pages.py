"""The audit administrator in a browser: signs in with the second factor, follows the staff
home's tile to the event list, narrows it to one action, opens an event and sees its proof
verified against the signed checkpoint, then the log's status. axe-core finds nothing
serious or critical on the three pages, and the pages run under the strict CSP (no
violations logged). The server commits to the shared test database, so the events carry a
fresh marker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.engine import Engine

from gongzhi.audit import log
from gongzhi.audit.services import SystemActor, record
from gongzhi.config import Settings
from gongzhi.db import session_scope, utcnow
from tests.e2e.helpers import (
    assert_accessible_under_csp,
    committed_session,
    login_page_or_skip,
    record_csp_violations,
    submit_password,
)
from tests.security.fixtures import PERSONAS, totp_code


@pytest.fixture
def auditor(browser: Browser, base_url: str) -> Iterator[Page]:
    """The audit administrator, signed in through the password and TOTP pages; the test
    fails if the browser reports a Content-Security-Policy violation."""
    context = browser.new_context(base_url=base_url, locale="zh-CN")
    page = context.new_page()
    violations: list[str] = []
    record_csp_violations(page, violations)
    persona = PERSONAS["audit_admin"]
    login_page_or_skip(page)
    submit_password(page, persona.username, persona.password)
    # A code is accepted once; if this 30-second step's code was used already, take the next.
    for offset in (0, 1):
        page.fill("input[name=code]", totp_code("audit_admin", offset))
        page.locator("form:has(input[name=code]) [type=submit]").click()
        page.wait_for_load_state()
        if "/login" not in page.url:
            break
    assert "/login" not in page.url, "the auditor could not sign in"
    yield page
    context.close()
    assert not violations, violations


def _committed_events(engine: Engine, settings: Settings, action: str) -> list[int]:
    """Three events recorded, sequenced and under a signed checkpoint, as the sequencer job
    leaves them."""
    with session_scope(lambda: committed_session(engine)) as db:
        events = [
            record(
                db,
                actor=SystemActor("e2e"),
                action=action,
                object_type="service_case",
                object_id=f"E2E-{i}",
                new={"status": "submitted", "说明": f"第 {i} 条"},
                reason="浏览器测试",
                region_code="330523103202",
            )
            for i in range(3)
        ]
        db.flush()
        ids = [e.id for e in events]
    with session_scope(lambda: committed_session(engine)) as db:
        while log.sequence(db, settings).sequenced:
            pass
        log.sign_checkpoint(db, settings, utcnow())
    return ids


def test_auditor_finds_an_event_and_sees_its_proof(
    auditor: Page, engine: Engine, settings: Settings
) -> None:
    action = f"e2e.audit.{uuid.uuid4().hex[:8]}"
    ids = _committed_events(engine, settings, action)
    page = auditor

    page.goto("/staff")
    page.get_by_role("link", name="审计日志").click()
    page.wait_for_load_state()
    assert page.url.endswith("/audit/events")
    assert page.locator("h1").inner_text() == "审计事件"
    assert_accessible_under_csp(page)

    page.fill("#action", action)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    rows = page.locator("table.audit-events tbody tr")
    assert rows.count() == 3
    assert [int(r) for r in rows.evaluate_all("rs => rs.map(r => r.dataset.event)")] == sorted(
        ids, reverse=True
    )
    assert_accessible_under_csp(page)

    rows.first.get_by_role("link").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"审计事件 #{max(ids)}"
    assert "已验证" in page.locator(".audit-verdict").inner_text()
    assert action in page.locator(".audit-canonical").inner_text()
    assert_accessible_under_csp(page)

    page.get_by_role("link", name="日志状态").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "审计日志状态"
    assert "SM2 签名有效" in page.locator("main").inner_text()
    assert_accessible_under_csp(page)
