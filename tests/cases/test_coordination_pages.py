"""Duplicates, 吹哨报到 and paging on the pages, through the real sign-in with the personas:
the dispatcher merges a suggested duplicate from triage and unmerges it from the main case,
the citizens of a merged report and a "me too" follow the main case read-only, the clerk
summons departments and the summoned handler checks in from the inbox, the stats page, the
long lists a page at a time, and who gets 200, 403 or 404 on every new route."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongzhi.cases import queries
from gongzhi.cases.duplicates import support_case
from gongzhi.cases.models import Case, CaseStatus, Outcome
from gongzhi.cases.summons import CaseSummons, CaseSummonsDepartment, check_in, summon
from gongzhi.db import time_travel, utcnow
from gongzhi.org.models import Department
from gongzhi.security.models import Account
from tests.cases.fixtures import ENFORCEMENT, SECOND_CITIZEN
from tests.cases.helpers import (  # noqa: F401
    ACTOR,
    DIPU_ADDRESS,
    YUHUA_ADDRESS,
    FormClient,
    no_classifier,
    signed_in_clients,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")

MARKET = "330523-SCJG"  # 县市场监管局
LAT, LON = 30.6389, 119.6800
TEXT = "玉华村村口路上的井盖丢失了，晚上走路很危险"
STAFF_ACCOUNTS = ("zhifa_chen", SECOND_CITIZEN)


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], FormClient]]:
    with signed_in_clients(app, FormClient) as make:
        yield make


def _account(db: Session, username: str) -> int:
    account_id = db.scalar(select(Account.id).where(Account.username == username))
    assert account_id is not None
    return account_id


def _fresh(db: Session, number: str) -> Case:
    db.expire_all()
    case = queries.case_by_number(db, number)
    assert case is not None
    return case


def _pair(db: Session, *, reporter: str | None = None, other: str | None = None) -> tuple[str, str]:
    """A main case in 玉华村 (dispatched by the responsibility list) and a later report of the
    same manhole with only a map point, which waits in triage for want of a place."""
    main = submit(
        db,
        description=TEXT,
        matter_code="XC-002",
        address_text=YUHUA_ADDRESS,
        lat=LAT,
        lon=LON,
        reporter_account_id=_account(db, other) if other else None,
    )
    dup = submit(
        db,
        description="玉华村村口井盖丢了，晚上走路危险",
        matter_code="XC-002",
        lat=LAT + 0.0002,
        lon=LON,
        reporter_account_id=_account(db, reporter) if reporter else None,
        contact_name="钱二",
        contact_phone="13900000002",
    )
    db.flush()
    return main.number, dup.number


def _section(html: str, number: str) -> str:
    start = html.index(f'id="case-{number}"')
    end = html.find("</article>", start)
    return html[start:end]


# -- duplicates ----------------------------------------------------------------------------------


def test_dispatcher_merges_a_suggested_duplicate_and_unmerges_it(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    main, dup = _pair(db)
    assert _fresh(db, dup).status == CaseStatus.TRIAGE.value
    dispatcher = signed_in("dispatcher")
    triage = dispatcher.get("/cases/triage")
    assert triage.status_code == 200
    part = _section(triage.text, dup)
    assert "可能重复的案件" in part and f'href="/cases/{main}"' in part
    assert "同一事项类别" in part and "米" in part and "描述相似度" in part
    assert re.search(r"匹配度 \d+%", part)
    assert f'action="/cases/{dup}/merge"' in part

    # A reason is required (the form says so too).
    refused = dispatcher.post(f"/cases/{dup}/merge", {"into": main, "reason": " "})
    assert refused.status_code == 422
    assert _fresh(db, dup).status == CaseStatus.TRIAGE.value

    resp = dispatcher.post(
        f"/cases/{dup}/merge",
        {"into": main, "reason": "同一个井盖，位置相同", "next": "/cases/triage"},
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/cases/triage?notice=merged"
    page = dispatcher.get(resp.headers["location"])
    assert "已合并：本案按重复件结案" in page.text and f'id="case-{dup}"' not in page.text
    merged = _fresh(db, dup)
    assert (merged.status, merged.outcome) == ("closed", Outcome.DUPLICATE.value)

    dup_page = dispatcher.get(f"/cases/{dup}").text
    assert "本案已作为重复件合并" in dup_page and f'id="merged-into">{main}<' in dup_page
    assert "理由：同一个井盖，位置相同" in dup_page
    main_page = dispatcher.get(f"/cases/{main}").text
    assert "已并入本案的案件" in main_page and "合并中" in main_page
    assert f'action="/cases/{dup}/unmerge"' in main_page
    assert "并入重复件" in main_page  # the main case's timeline

    assert dispatcher.post(f"/cases/{dup}/unmerge", {"reason": ""}).status_code == 422
    back = dispatcher.post(
        f"/cases/{dup}/unmerge", {"reason": "不是同一个井盖", "next": f"/cases/{main}"}
    )
    assert back.status_code == 303
    assert back.headers["location"] == f"/cases/{main}?notice=unmerged"
    assert _fresh(db, dup).status == CaseStatus.TRIAGE.value
    main_page = dispatcher.get(back.headers["location"]).text
    assert "已撤销合并，案件恢复办理" in main_page and "撤销合并" in main_page
    assert "重复件撤销合并" in main_page and "不是同一个井盖" in main_page
    assert f'action="/cases/{dup}/unmerge"' not in main_page
    dup_page = dispatcher.get(f"/cases/{dup}").text
    assert "作为重复件合并" in dup_page and "撤销合并" in dup_page  # the history stays
    assert "本案已作为重复件合并" not in dup_page


def test_the_case_page_shows_me_too_support(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    main, _dup = _pair(db)
    support_case(db, _fresh(db, main), account_id=_account(db, "citizen"), actor=ACTOR)
    page = signed_in("dispatcher").get(f"/cases/{main}").text
    assert re.search(r'id="supporters">1<', page)
    assert "市民附议" in page


def test_only_the_merge_permission_merges(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    main, dup = _pair(db)
    data = {"into": main, "reason": "同一问题"}
    for who in ("citizen", "township_clerk", "leader", "department_handler"):
        assert signed_in(who).post(f"/cases/{dup}/merge", data).status_code == 403, who
        assert signed_in(who).post(f"/cases/{dup}/unmerge", {"reason": "x"}).status_code == 403
    # A case number nobody may see is not found, not forbidden.
    dispatcher = signed_in("dispatcher")
    assert dispatcher.post("/cases/AJ-20000101-9999/merge", data).status_code == 404
    # Unmerging a case that is not merged is a conflict, said plainly.
    assert dispatcher.post(f"/cases/{dup}/unmerge", {"reason": "x"}).status_code == 409


def test_the_clerk_sees_no_merge_forms(signed_in: Callable[[str], FormClient], db: Session) -> None:
    main, _dup = _pair(db)
    page = signed_in("township_clerk").get(f"/cases/{main}")
    assert page.status_code == 200
    assert "/merge" not in page.text


# -- citizens follow the main case -------------------------------------------------------------


def test_the_reporter_of_a_merged_case_follows_the_main_case(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    main, dup = _pair(db, reporter="citizen", other=SECOND_CITIZEN)
    dispatcher = signed_in("dispatcher")
    citizen = signed_in("citizen")
    assert citizen.get(f"/my/cases/{main}").status_code == 404  # not yet linked
    assert (
        dispatcher.post(f"/cases/{dup}/merge", {"into": main, "reason": "同一井盖"}).status_code
        == 303
    )

    mine = citizen.get("/my/cases").text
    assert f"已合并到 {main} 一起办理" in mine and f'href="/my/cases/{main}"' in mine
    assert "我关注的诉求" in mine
    own = citizen.get(f"/my/cases/{dup}").text
    assert 'id="merged-into"' in own and f'href="/my/cases/{main}"' in own
    assert "与反映同一问题的另一件诉求合并办理" in own  # the timeline's words

    followed = citizen.get(f"/my/cases/{main}")
    assert followed.status_code == 200
    text = followed.text
    assert f"你反映的 {dup} 与这件诉求是同一问题" in text
    assert 'id="case-status"' in text and "办理经过" in text
    # Never the other reporter's words or contact, nor the reporter's own actions.
    assert TEXT not in text and "钱二" not in text and "13900000002" not in text
    assert "/rate" not in text and "/reopen" not in text
    assert citizen.post(f"/my/cases/{main}/rate", {"rating": "5"}).status_code == 404
    assert citizen.post(f"/my/cases/{main}/reopen", {"reason": "x"}).status_code == 404
    # The JSON case and the photos stay with the case's own reporter.
    assert citizen.get(f"/api/v1/cases/{main}").status_code == 404

    # Unmerged: the link goes, and with it the access.
    dispatcher.post(f"/cases/{dup}/unmerge", {"reason": "不是同一处"})
    assert citizen.get(f"/my/cases/{main}").status_code == 404
    assert "已合并到" not in citizen.get("/my/cases").text


def test_a_me_too_supporter_follows_the_case_and_others_do_not(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    main, _dup = _pair(db, other="citizen")
    support_case(db, _fresh(db, main), account_id=_account(db, SECOND_CITIZEN), actor=ACTOR)
    db.flush()
    supporter = signed_in(SECOND_CITIZEN)
    page = supporter.get(f"/my/cases/{main}")
    assert page.status_code == 200
    assert "你关注了这件诉求（我也遇到）" in page.text and TEXT not in page.text
    assert f"诉求 {main}" in supporter.get("/my/cases").text
    # The JSON count is open to the supporter too (numbers only).
    support = supporter.get(f"/api/v1/cases/{main}/support")
    assert support.status_code == 200 and support.json()["supporters"] == 1
    assert signed_in("citizen").get(f"/api/v1/cases/{main}/support").status_code == 200
    # Staff do not use the citizen's pages; a stranger's number is not found.
    assert signed_in("dispatcher").get(f"/my/cases/{main}").status_code == 403
    assert supporter.get("/my/cases/AJ-20000101-9999").status_code == 404


# -- 吹哨报到 ------------------------------------------------------------------------------------


def _yuhua_case(db: Session) -> str:
    number = submit(db, description="违建需要拆除，村里处理不了", address_text=YUHUA_ADDRESS).number
    db.flush()
    return number


def test_clerk_summons_two_departments_and_one_checks_in(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _yuhua_case(db)
    clerk = signed_in("township_clerk")
    page = clerk.get(f"/cases/{number}")
    assert page.status_code == 200
    assert f'action="/cases/{number}/summons"' in page.text
    assert "不填时：突发紧急 30 分钟内，其他 2.0 个工作小时内" in page.text
    assert 'value="330523-ZHZF"' in page.text and 'value="330523-SCJG"' in page.text

    resp = clerk.post(
        f"/cases/{number}/summons",
        {
            "departments": [ENFORCEMENT, MARKET],
            "reason": "needs_enforcement",
            "note": "拆除违建需执法力量",
        },
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/cases/{number}?notice=summoned"
    page = clerk.get(resp.headers["location"]).text
    assert "已吹哨" in page and "需要执法力量" in page and "拆除违建需执法力量" in page
    assert page.count('data-state="waiting"') == 2 and "剩余" in page

    handler = signed_in("zhifa_chen")
    inbox = handler.get("/cases/inbox")
    assert inbox.status_code == 200
    assert "吹哨召集，待报到" in inbox.text and f'href="/cases/{number}"' in inbox.text
    summons_id = db.scalar(
        select(CaseSummons.id)
        .join(Case, Case.id == CaseSummons.case_id)
        .where(Case.number == number)
    )
    assert f'action="/cases/summons/{summons_id}/check-in"' in inbox.text
    # The summoned department reads the case (it was never assigned to it).
    assert handler.get(f"/cases/{number}").status_code == 200
    done = handler.post(f"/cases/summons/{summons_id}/check-in", {"next": "/cases/inbox"})
    assert done.status_code == 303 and done.headers["location"] == "/cases/inbox?notice=checked_in"
    inbox = handler.get(done.headers["location"]).text
    assert "已报到。" in inbox and "吹哨召集，待报到" not in inbox
    again = handler.post(f"/cases/summons/{summons_id}/check-in")
    assert again.status_code == 409 and "已经报到过了" in again.text

    page = clerk.get(f"/cases/{number}").text
    assert 'data-state="on_time"' in page and "按时报到" in page
    assert 'data-state="waiting"' in page  # the market bureau has not come yet
    assert "部门报到" in page  # the timeline

    # Time passes: the market bureau's limit is behind us and it has still not checked in.
    market_id = db.scalar(select(Department.id).where(Department.code == MARKET))
    db.execute(
        update(CaseSummonsDepartment)
        .where(
            CaseSummonsDepartment.summons_id == summons_id,
            CaseSummonsDepartment.department_id == market_id,
        )
        .values(due_at=utcnow() - timedelta(minutes=75))
    )
    db.flush()
    page = clerk.get(f"/cases/{number}").text
    assert 'data-state="missing"' in page and "超时未报到" in page
    assert "已超过时限 1 小时 15 分" in page or "已超过时限 1 小时 14 分" in page


def test_a_late_check_in_is_shown_late(signed_in: Callable[[str], FormClient], db: Session) -> None:
    number = _yuhua_case(db)
    case = _fresh(db, number)
    start = utcnow() - timedelta(hours=3)
    with time_travel(start):
        whistle = summon(db, case, departments=[MARKET], reason="emergency", actor=ACTOR)
    market_id = db.scalar(select(Department.id).where(Department.code == MARKET))
    assert market_id is not None
    with time_travel(start + timedelta(minutes=50)):
        check_in(db, whistle, department_id=market_id, actor=ACTOR)
    db.flush()
    page = signed_in("township_clerk").get(f"/cases/{number}").text
    assert 'data-state="late"' in page and "迟到报到" in page and "迟到 0 小时 20 分" in page
    assert "突发紧急" in page


def test_summons_refusals(signed_in: Callable[[str], FormClient], db: Session) -> None:
    number = _yuhua_case(db)
    data = {"departments": [ENFORCEMENT], "reason": "beyond_power"}
    for who in ("citizen", "dispatcher", "department_handler", "grid_worker", "leader"):
        assert signed_in(who).post(f"/cases/{number}/summons", data).status_code == 403, who
    clerk = signed_in("township_clerk")
    # Outside the clerk's township (递铺街道): not found, as for the JSON API.
    elsewhere = submit(db, description="路灯不亮", address_text=DIPU_ADDRESS).number
    db.flush()
    assert clerk.post(f"/cases/{elsewhere}/summons", data).status_code == 404
    # No department, an unknown reason or an odd time limit: refused, nothing recorded.
    assert clerk.post(f"/cases/{number}/summons", {"reason": "beyond_power"}).status_code == 422
    bad = {**data, "reason": "because"}
    assert clerk.post(f"/cases/{number}/summons", bad).status_code == 422
    odd = {**data, "limit_minutes": "abc"}
    assert clerk.post(f"/cases/{number}/summons", odd).status_code == 422
    assert (
        db.scalar(select(CaseSummons.id).where(CaseSummons.case_id == _fresh(db, number).id))
        is None
    )
    # A time limit given by the clerk: 45 office minutes from now.
    ok = clerk.post(f"/cases/{number}/summons", {**data, "limit_minutes": "45"})
    assert ok.status_code == 303
    # Check-in: only a summoned department's handler, only a summons that exists.
    summons_id = db.scalar(
        select(CaseSummons.id).where(CaseSummons.case_id == _fresh(db, number).id)
    )
    for who in ("citizen", "township_clerk", "dispatcher", "grid_worker"):
        resp = signed_in(who).post(f"/cases/summons/{summons_id}/check-in")
        assert resp.status_code == 403, who
    handler = signed_in("zhifa_chen")
    assert handler.post("/cases/summons/999999999/check-in").status_code == 404
    # The persona handler has no department: nothing to check in for.
    assert (
        signed_in("department_handler").post(f"/cases/summons/{summons_id}/check-in").status_code
        == 404
    )


def test_summons_stats_page(signed_in: Callable[[str], FormClient], db: Session) -> None:
    number = _yuhua_case(db)
    case = _fresh(db, number)
    enforcement_id = db.scalar(select(Department.id).where(Department.code == ENFORCEMENT))
    assert enforcement_id is not None
    start = utcnow() - timedelta(hours=2)
    with time_travel(start):
        whistle = summon(
            db, case, departments=[ENFORCEMENT, MARKET], reason="emergency", actor=ACTOR
        )
    with time_travel(start + timedelta(minutes=10)):
        check_in(db, whistle, department_id=enforcement_id, actor=ACTOR)
    db.flush()
    for who in ("leader", "dispatcher", "township_clerk", "data_officer"):
        page = signed_in(who).get("/cases/summons/stats")
        assert page.status_code == 200, who
    text = signed_in("leader").get("/cases/summons/stats").text
    row = re.search(r'<tr data-department="330523-SCJG">(.*?)</tr>', text, re.S)
    assert row is not None
    summoned, _on_time, _late, missing = (
        int(n) for n in re.findall(r'<td class="number">(\d+)</td>', row.group(1))
    )
    assert summoned >= 1 and missing >= 1  # emergency: 30 minutes, long gone
    # A period before any summons is empty; a bad date is refused.
    leader = signed_in("leader")
    empty = leader.get("/cases/summons/stats", params={"until": "2020-01-01"})
    assert "这段时间没有吹哨召集" in empty.text
    assert leader.get("/cases/summons/stats", params={"since": "tomorrow"}).status_code == 422
    for who in ("citizen", "department_handler", "grid_worker"):
        assert signed_in(who).get("/cases/summons/stats").status_code == 403, who
    # The tile on the leader's and the dispatcher's home.
    for who in ("leader", "dispatcher"):
        assert 'href="/cases/summons/stats"' in signed_in(who).get("/staff").text


# -- paging --------------------------------------------------------------------------------------


def test_long_lists_come_a_page_at_a_time(
    signed_in: Callable[[str], FormClient], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    numbers = [
        submit(
            db, description=f"无法定位的问题 {i}", reporter_account_id=_account(db, "citizen")
        ).number
        for i in range(5)
    ]
    db.flush()
    dispatcher = signed_in("dispatcher")
    first = dispatcher.get("/cases/triage").text
    assert 'rel="next" href="/cases/triage?page=2"' in first and 'rel="prev"' not in first
    assert first.count('<article class="case"') == 2
    second = dispatcher.get("/cases/triage", params={"page": "2"}).text
    assert 'rel="prev" href="/cases/triage"' in second and "第 2 页" in second
    shown = set(re.findall(r'id="case-(AJ-[\d-]+)"', first)) | set(
        re.findall(r'id="case-(AJ-[\d-]+)"', second)
    )
    assert len(shown) == 4
    # A page's forms come back to the same page.
    assert 'name="next" value="/cases/triage?page=2"' in second
    # Nonsense page numbers are page 1, not an error.
    assert dispatcher.get("/cases/triage", params={"page": "x"}).status_code == 200
    assert dispatcher.get("/cases/triage", params={"page": "-3"}).status_code == 200

    citizen = signed_in("citizen")
    mine = citizen.get("/my/cases").text
    assert numbers[-1] in mine and numbers[-2] in mine and numbers[0] not in mine  # newest first
    assert 'rel="next" href="/my/cases?page=2"' in mine
    last = citizen.get("/my/cases", params={"page": "3"}).text
    assert numbers[0] in last and 'rel="next"' not in last

    for path in ("/cases/overdue", "/cases/grid", "/cases/inbox"):
        who = {"/cases/overdue": "leader", "/cases/grid": "grid_worker"}.get(path, "zhifa_chen")
        assert signed_in(who).get(path, params={"page": "2"}).status_code == 200, path


def test_overdue_pages_by_case(db: Session) -> None:
    """Two overdue clocks of one case stay together on one page."""
    from tests.cases.helpers import principal

    with time_travel(utcnow() - timedelta(days=40)):
        old = [
            submit(db, description=f"很久以前的问题 {i}", address_text=YUHUA_ADDRESS)
            for i in range(3)
        ]
    db.flush()
    leader = principal(db, "leader")
    page = queries.overdue_page(db, leader, utcnow(), 1)
    ids = [case.id for case, _clocks in page.items]
    assert len(ids) == len(set(ids))
    ours = {c.id for c in old}
    for case, clocks in page.items:
        if case.id in ours:
            assert len(clocks) >= 1 and all(c.due_at < utcnow() for c in clocks)
    assert ours & set(ids) or page.has_next


def test_the_default_check_in_limits_come_from_the_settings(db: Session) -> None:
    from datetime import UTC, datetime

    from gongzhi.config import Settings

    county = Settings(env="test", summons_emergency_minutes=20, summons_check_in_hours=1.0)
    case = _fresh(db, _yuhua_case(db))
    wednesday_nine = datetime(2026, 9, 16, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    with time_travel(wednesday_nine):
        quick = summon(
            db, case, departments=[MARKET], reason="emergency", actor=ACTOR, settings=county
        )
        office = summon(
            db, case, departments=[MARKET], reason="beyond_power", actor=ACTOR, settings=county
        )
    assert quick.due_at == wednesday_nine + timedelta(minutes=20)
    assert office.due_at == wednesday_nine + timedelta(hours=1)
