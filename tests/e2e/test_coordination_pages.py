"""Duplicates and 吹哨报到 in a browser: the dispatcher merges a suggested duplicate from its
page (with a reason) and unmerges it from the main case's history; the township clerk
summons two departments, the enforcement bureau's handler checks in from the inbox with one
button, and once the other's limit has passed the case page says it is missing. axe-core
finds nothing serious on the new pages, in normal and in elderly mode. The server commits to
the shared test database, so every text carries a fresh marker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from gongzhi.audit.services import SystemActor
from gongzhi.cases import services
from gongzhi.cases.models import Case, Channel
from gongzhi.cases.summons import CaseSummons, CaseSummonsDepartment
from gongzhi.db import session_scope, utcnow
from gongzhi.org.models import Department
from tests.e2e.helpers import (
    assert_accessible_under_csp,
    committed_session,
    signed_in_pages,
    switch_elderly,
)

ENFORCEMENT = "330523-ZHZF"  # 安吉县综合行政执法局
MARKET = "330523-SCJG"  # 县市场监管局
HANDLER, HANDLER_PASSWORD = "zhifa_chen", "Anji-Staff-2026!"
ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"
LAT, LON = 30.6389, 119.6800


@pytest.fixture
def as_who(browser: Browser, base_url: str) -> Iterator[Callable[[str], Page]]:
    """A signed-in page per persona; every page also records Content-Security-Policy
    violations (the pages must work under a CSP without inline scripts or styles)."""
    with signed_in_pages(
        browser, base_url, passwords={HANDLER: HANDLER_PASSWORD}, csp_must_hold=True
    ) as open_as:
        yield open_as


def _submit(engine: Engine, **kw: object) -> str:
    with session_scope(lambda: committed_session(engine)) as db:
        case = services.submit_case(
            db,
            channel=Channel.WEB,
            actor=SystemActor("e2e"),
            **kw,  # type: ignore[arg-type]
        )
        return case.number


def _check_both_modes(page: Page) -> None:
    assert_accessible_under_csp(page)
    switch_elderly(page, on=True)
    assert_accessible_under_csp(page)
    switch_elderly(page, on=False)


def test_dispatcher_merges_a_suggested_duplicate_and_unmerges_it(
    as_who: Callable[[str], Page], engine: Engine
) -> None:
    marker = uuid.uuid4().hex[:6]
    text = f"玉华村村口路上的井盖丢失了，晚上走路很危险 {marker}"
    main = _submit(
        engine, description=text, matter_code="XC-002", address_text=ADDRESS, lat=LAT, lon=LON
    )
    dup = _submit(engine, description=text + "！", matter_code="XC-002", lat=LAT + 0.0002, lon=LON)

    dispatcher = as_who("dispatcher")
    dispatcher.goto("/cases/triage")
    assert dispatcher.locator("h1").inner_text() == "待分拨"
    _check_both_modes(dispatcher)

    dispatcher.goto(f"/cases/{dup}")
    suggestion = dispatcher.locator(f"li[data-duplicate='{main}']")
    assert suggestion.is_visible()
    assert "同一事项类别" in suggestion.inner_text() and "匹配度" in suggestion.inner_text()
    _check_both_modes(dispatcher)
    suggestion.get_by_label("合并理由").fill(f"同一个井盖 {marker}")
    suggestion.get_by_role("button", name=f"将 {dup} 合并到 {main}").click()
    dispatcher.wait_for_load_state()
    assert "notice=merged" in dispatcher.url
    assert "已合并" in dispatcher.locator("p.notice").inner_text()
    assert dispatcher.locator("#merged-into").inner_text() == main
    assert "已结案" in dispatcher.locator("h1").inner_text()
    assert f"同一个井盖 {marker}" in dispatcher.locator("ol.timeline").inner_text()
    _check_both_modes(dispatcher)

    dispatcher.goto(f"/cases/{main}")
    history = dispatcher.locator("section[aria-labelledby=dup-title] table")
    assert dup in history.inner_text() and "合并中" in history.inner_text()
    _check_both_modes(dispatcher)
    history.get_by_label("撤销合并的理由").fill("核实后不是同一个井盖")
    history.get_by_role("button", name=f"撤销 {dup} 的合并").click()
    dispatcher.wait_for_load_state()
    assert "notice=unmerged" in dispatcher.url
    assert "已于" in dispatcher.locator("section[aria-labelledby=dup-title]").inner_text()
    timeline = dispatcher.locator("ol.timeline").inner_text()
    assert "并入重复件" in timeline and "重复件撤销合并" in timeline

    dispatcher.goto(f"/cases/{dup}")
    assert "待分拨" in dispatcher.locator("h1").inner_text()
    timeline = dispatcher.locator("ol.timeline").inner_text()
    assert "作为重复件合并" in timeline and "撤销合并" in timeline
    assert dispatcher.locator("#merged-into").count() == 0


def test_clerk_summons_two_departments_and_one_checks_in(
    as_who: Callable[[str], Page], engine: Engine
) -> None:
    marker = uuid.uuid4().hex[:6]
    number = _submit(engine, description=f"村里违建拆不动 {marker}", address_text=ADDRESS)

    clerk = as_who("township_clerk")
    clerk.goto(f"/cases/{number}")
    form = clerk.locator("form.summon-form")
    _check_both_modes(clerk)
    form.get_by_label("安吉县综合行政执法局").check()
    form.get_by_label("安吉县市场监督管理局").check()
    form.get_by_label("吹哨事由").select_option("needs_enforcement")
    form.get_by_label("需要部门做什么").fill(f"拆除违建 {marker}")
    form.get_by_role("button", name="吹哨").click()
    clerk.wait_for_load_state()
    assert "notice=summoned" in clerk.url
    summons = clerk.locator("div.summons")
    assert summons.locator("[data-state=waiting]").count() == 2
    assert "剩余" in summons.inner_text()
    _check_both_modes(clerk)

    handler = as_who(HANDLER)
    handler.goto("/cases/inbox")
    with session_scope(lambda: committed_session(engine)) as db:
        summons_id = db.scalar(
            select(CaseSummons.id)
            .join(Case, Case.id == CaseSummons.case_id)
            .where(Case.number == number)
        )
        market_id = db.scalar(select(Department.id).where(Department.code == MARKET))
    row = handler.locator(f"tr[data-summons='{summons_id}']")
    assert "待报到" in row.inner_text() and "需要执法力量" in row.inner_text()
    _check_both_modes(handler)
    row = handler.locator(f"tr[data-summons='{summons_id}']")
    row.get_by_role("button", name="报到").click()
    handler.wait_for_load_state()
    assert "已报到" in handler.locator("p.notice").inner_text()
    assert handler.locator(f"tr[data-summons='{summons_id}']").count() == 0

    clerk.reload()
    assert clerk.locator("div.summons [data-state=on_time]").count() == 1
    assert clerk.locator("div.summons [data-state=waiting]").count() == 1

    # Time passes: the market bureau's limit is an hour behind us and it never came.
    with session_scope(lambda: committed_session(engine)) as db:
        db.execute(
            update(CaseSummonsDepartment)
            .where(
                CaseSummonsDepartment.summons_id == summons_id,
                CaseSummonsDepartment.department_id == market_id,
            )
            .values(due_at=utcnow() - timedelta(hours=1, minutes=5))
        )
    clerk.reload()
    missing = clerk.locator("div.summons [data-state=missing]")
    assert missing.count() == 1 and missing.inner_text() == "超时未报到"
    market_row = clerk.locator("div.summons tr", has=clerk.locator("[data-state=missing]"))
    assert "已超过时限 1 小时" in market_row.inner_text()
    _check_both_modes(clerk)

    leader = as_who("leader")
    leader.goto("/staff")
    leader.get_by_role("link", name="吹哨报到").click()
    leader.wait_for_load_state()
    assert leader.url.endswith("/cases/summons/stats")
    market_stats = leader.locator(f"tr[data-department='{MARKET}']")
    assert market_stats.is_visible()
    _check_both_modes(leader)
