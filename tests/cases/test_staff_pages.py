"""The staff pages through the real sign-in, with the personas: the operator's console, the
triage queue, a department's inbox (and the one-winner sign-off), the grid worker's list,
the overdue list, a case's detail with its scope, and the staff home's tiles."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from gongzhi.cases import queries
from gongzhi.cases.models import Case
from tests.cases.fixtures import ENFORCEMENT, SECOND_HANDLER
from tests.cases.helpers import (  # noqa: F401
    DIPU_ADDRESS,
    YUHUA_ADDRESS,
    FormClient,
    held_clock,
    no_classifier,
    signed_in_clients,
    submit,
)
from tests.security.fixtures import csrf_from

pytestmark = pytest.mark.usefixtures("no_classifier")
STAFF_ACCOUNTS = ("zhifa_chen", SECOND_HANDLER)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], FormClient]]:
    with signed_in_clients(app, FormClient) as make:
        yield make


def _case(db: Session, number: str) -> Case:
    db.expire_all()
    case = queries.case_by_number(db, number)
    assert case is not None
    return case


def _report(db: Session, **kw: Any) -> str:
    kw.setdefault("address_text", YUHUA_ADDRESS)
    kw.setdefault("description", "玉华村路口井盖丢失，晚上很危险")
    number = submit(db, **kw).number
    db.flush()
    return number


def _section(html: str, number: str) -> str:
    """The part of a list page about one case (from its heading to the next article)."""
    start = html.index(f'id="case-{number}"')
    end = html.find("</article>", start)
    return html[start:end]


def test_operator_enters_a_call_and_reads_back_the_number(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    operator = signed_in("dispatcher")
    page = operator.get("/cases/console", params={"address": YUHUA_ADDRESS, "description": "x"})
    assert page.status_code == 200
    assert "玉华村" in page.text and 'name="csrf_token"' in page.text
    preview = operator.get("/cases/console/preview", params={"address": YUHUA_ADDRESS})
    assert preview.status_code == 200 and "鄣吴镇" in preview.text
    resp = operator.post(
        "/cases/console",
        {
            "contact_name": "王大爷",
            "contact_phone": "13900000001",
            "description": "村口路灯不亮已经一周",
            "address": YUHUA_ADDRESS,
            "priority": "ordinary",
        },
    )
    assert resp.status_code == 200, resp.text
    number = re.search(r'id="case-number">([^<]+)<', resp.text)
    assert number, resp.text
    case = _case(db, number.group(1))
    assert (case.channel, case.reporter_account_id) == ("hotline", None)
    assert case.contact is not None and case.contact.phone == "13900000001"
    assert case.region_code == "330523103202"
    # An empty description is refused on the page, with the form kept.
    again = operator.post("/cases/console", {"description": " ", "contact_name": "王大爷"})
    assert again.status_code == 422 and "王大爷" in again.text


def test_console_without_the_csrf_token_is_refused(signed_in: Callable[[str], FormClient]) -> None:
    operator = signed_in("dispatcher")
    resp = operator.client.post("/cases/console", data={"description": "x"})
    assert resp.status_code == 403


def test_only_operators_take_calls(signed_in: Callable[[str], FormClient]) -> None:
    assert signed_in("grid_worker").get("/cases/console").status_code == 403
    assert signed_in("citizen").get("/cases/triage").status_code == 403


def test_triage_shows_the_reason_and_dispatch_names_the_lead(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _report(db)
    dispatcher = signed_in("dispatcher")
    page = dispatcher.get("/cases/triage")
    assert page.status_code == 200
    part = _section(page.text, number)
    assert "未能确定事项类别" in part and "鄣吴镇玉华村" in part and "分拨时限" in part
    resp = dispatcher.post(
        f"/cases/{number}/dispatch",
        {"department": ENFORCEMENT, "priority": "ordinary", "next": "/cases/triage"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/cases/triage"
    case = _case(db, number)
    assert case.status == "dispatched"
    assert queries.lead_department_name(db, case) == "安吉县综合行政执法局"
    assert f'id="case-{number}"' not in dispatcher.get("/cases/triage").text


def test_close_not_ours_needs_a_reason(signed_in: Callable[[str], FormClient], db: Session) -> None:
    number = _report(db)
    dispatcher = signed_in("dispatcher")
    refused = dispatcher.post(f"/cases/{number}/close", {"outcome": "not_ours"})
    assert refused.status_code == 422
    assert _case(db, number).status == "triage"
    ok = dispatcher.post(f"/cases/{number}/close", {"outcome": "not_ours", "note": "属于供电公司"})
    assert ok.status_code == 303
    case = _case(db, number)
    assert (case.status, case.outcome, case.resolved) == ("closed", "not_ours", False)
    detail = dispatcher.get(f"/cases/{number}").text
    assert "不属于本平台受理范围" in detail and "属于供电公司" in detail


def test_inbox_sign_once_feedback_and_extension(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _report(db)
    dispatcher, chen, li = (
        signed_in("dispatcher"),
        signed_in("zhifa_chen"),
        signed_in(SECOND_HANDLER),
    )
    dispatcher.post(f"/cases/{number}/dispatch", {"department": ENFORCEMENT})
    inbox = chen.get("/cases/inbox")
    assert inbox.status_code == 200
    part = _section(inbox.text, number)
    assert "签收时限" in part and ("剩余" in part or "已超时" in part)
    assert chen.post(f"/cases/{number}/accept", {"next": "/cases/inbox"}).status_code == 303
    lost = li.post(f"/cases/{number}/accept")
    assert lost.status_code == 409
    assert f"案件 {number} 已被他人签收" in lost.text
    assert _case(db, number).status == "accepted"

    due = (datetime.now(SHANGHAI) + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    resp = chen.post(f"/cases/{number}/extension", {"due_at": due, "reason": "需要协调施工队"})
    assert resp.status_code == 303
    triage = dispatcher.get("/cases/triage").text
    assert number in triage and "需要协调施工队" in triage
    resp = dispatcher.post(f"/cases/{number}/extension/decision", {"approve": "true"})
    assert resp.status_code == 303
    handle = [c for c in _case(db, number).clocks if c.kind == "handle"][-1]
    assert handle.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") == due

    resp = chen.post(f"/cases/{number}/feedback", {"note": "已补装井盖"})
    assert resp.status_code == 303
    assert _case(db, number).status == "feedback"


def test_handler_returns_with_a_reason(signed_in: Callable[[str], FormClient], db: Session) -> None:
    number = _report(db)
    signed_in("dispatcher").post(f"/cases/{number}/dispatch", {"department": ENFORCEMENT})
    chen = signed_in("zhifa_chen")
    assert chen.post(f"/cases/{number}/return", {"reason": "bogus"}).status_code == 422
    resp = chen.post(f"/cases/{number}/return", {"reason": "not_our_duty", "note": "属交通局"})
    assert resp.status_code == 303
    case = _case(db, number)
    assert (case.status, case.triage_reason) == ("triage", "returned")
    assert number not in chen.get("/cases/inbox").text


def test_grid_worker_verifies_and_reports_from_patrol(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _report(db)
    elsewhere = _report(db, address_text=DIPU_ADDRESS)
    dispatcher, chen = signed_in("dispatcher"), signed_in("zhifa_chen")
    for n in (number, elsewhere):
        dispatcher.post(f"/cases/{n}/dispatch", {"department": ENFORCEMENT})
        chen.post(f"/cases/{n}/accept")
        chen.post(f"/cases/{n}/feedback", {"note": "已处理完毕"})
    grid = signed_in("grid_worker")
    page = grid.get("/cases/grid")
    assert page.status_code == 200
    assert number in page.text and elsewhere not in page.text  # only the worker's village
    assert "已处理完毕" in _section(page.text, number)
    refused = grid.post(f"/cases/{number}/verify", {"passed": "false"})
    assert refused.status_code == 422  # a failed check says what is still wrong
    resp = grid.post(f"/cases/{number}/verify", {"passed": "true", "next": "/cases/grid"})
    assert resp.status_code == 303
    case = _case(db, number)
    assert (case.status, case.outcome) == ("closed", "resolved")

    report = grid.post(
        "/cases/grid/report", {"description": "河道有大量漂浮垃圾", "address": YUHUA_ADDRESS}
    )
    assert report.status_code == 200
    patrol = re.search(r'id="case-number">([^<]+)<', report.text)
    assert patrol
    assert _case(db, patrol.group(1)).channel == "grid"


@pytest.mark.usefixtures("held_clock")
def test_overdue_list_names_the_late_clock_in_words(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    late = _report(db)  # made at the held clock, long before now: every clock is late
    page = signed_in("dispatcher").get("/cases/overdue")
    assert page.status_code == 200
    row = page.text[page.text.index(late) :]
    row = row[: row.index("</tr>")]
    assert "已超时" in row and "分拨时限" in row
    assert signed_in("leader").get("/cases/overdue").status_code == 200
    assert signed_in("grid_worker").get("/cases/overdue").status_code == 403


def test_detail_shows_timeline_clocks_and_hides_anonymous_contact(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    named = _report(db, contact_name="王秀英", contact_phone="13700000009")
    anonymous = _report(db, contact_name="王秀英", contact_phone="13700000008", anonymous=True)
    dispatcher = signed_in("dispatcher")
    page = dispatcher.get(f"/cases/{named}")
    assert page.status_code == 200
    assert "137****0009" in page.text and "13700000009" not in page.text  # masked
    assert "受理" in page.text and "分拨时限" in page.text
    assert "派遣" in page.text  # the dispatcher may act: the form is offered
    hidden = dispatcher.get(f"/cases/{anonymous}")
    assert hidden.status_code == 200 and "13700000008" not in hidden.text
    dispatcher.post(f"/cases/{named}/dispatch", {"department": ENFORCEMENT})
    handler = signed_in("zhifa_chen").get(f"/cases/{named}")
    assert handler.status_code == 200 and "13700000009" not in handler.text
    assert "签收" in handler.text and "安吉县综合行政执法局" in handler.text
    assert f'action="/cases/{named}/return"' in handler.text  # the lead's own actions
    assert f'action="/cases/{named}/dispatch"' not in handler.text  # not the dispatcher's


def test_another_townships_case_is_not_found(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    here, there = _report(db), _report(db, address_text=DIPU_ADDRESS)
    clerk = signed_in("township_clerk")  # clerk of 鄣吴镇
    assert clerk.get(f"/cases/{here}").status_code == 200
    assert clerk.get(f"/cases/{there}").status_code == 404
    grid = signed_in("grid_worker")  # 玉华村 only
    assert grid.post(f"/cases/{there}/verify", {"passed": "true"}).status_code == 404
    assert clerk.get("/cases/AJ-20000101-0001").status_code == 404


def test_staff_home_tiles_follow_the_permissions(signed_in: Callable[[str], FormClient]) -> None:
    home = signed_in("dispatcher").get("/staff").text
    for href in ("/cases/console", "/cases/triage", "/cases/overdue"):
        assert f'href="{href}"' in home
    assert 'href="/cases/inbox"' not in home
    grid = signed_in("grid_worker").get("/staff").text
    assert 'href="/cases/grid"' in grid and 'href="/cases/triage"' not in grid
    assert 'href="/cases/inbox"' in signed_in("zhifa_chen").get("/staff").text


def test_csrf_field_is_on_every_action_form(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _report(db)
    html = signed_in("dispatcher").get("/cases/triage").text
    forms = re.findall(r"<form method=\"post\".*?</form>", html, flags=re.S)
    assert forms and all('name="csrf_token"' in f for f in forms)
    assert csrf_from(html)
    assert number in html


def test_console_category_picker_and_the_resulting_route(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    from sqlalchemy import select

    from gongzhi.org.models import Matter

    code = db.scalar(select(Matter.code).where(Matter.active.is_(True)).order_by(Matter.code))
    assert code is not None
    operator = signed_in("dispatcher")
    page = operator.get("/cases/console/preview", params={"matter_code": code})
    assert f'<option value="{code}" selected>' in page.text
    resp = operator.post(
        "/cases/console",
        {"description": "反映一个问题", "address": YUHUA_ADDRESS, "matter_code": code},
    )
    number = re.search(r'id="case-number">([^<]+)<', resp.text)
    assert number
    case = _case(db, number.group(1))
    assert case.matter_code == code
    assert case.status in ("dispatched", "triage")
    if case.status == "triage":  # the list may name nobody (or two) for this place
        assert case.triage_reason in ("no_lead", "collision")


def test_rerouting_keeps_the_old_assignment_as_history(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    from tests.org.fixtures import HOUSING

    number = _report(db)
    dispatcher = signed_in("dispatcher")
    dispatcher.post(f"/cases/{number}/dispatch", {"department": ENFORCEMENT})
    page = dispatcher.get(f"/cases/{number}")
    assert "改派" in page.text
    resp = dispatcher.post(
        f"/cases/{number}/dispatch",
        {"department": HOUSING, "co_handlers": [ENFORCEMENT], "next": f"/cases/{number}"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == f"/cases/{number}"
    case = _case(db, number)
    active = [(a.role, a.active) for a in case.assignments]
    assert ("lead", False) in active and ("lead", True) in active and ("co", True) in active
    assert "已改派" in dispatcher.get(f"/cases/{number}").text
    # The bureau no longer leads: its handler may not sign for the case.
    chen = signed_in("zhifa_chen")
    assert chen.post(f"/cases/{number}/accept").status_code == 403  # not the lead any more


def test_a_refused_extension_leaves_the_deadline(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    number = _report(db)
    dispatcher, chen = signed_in("dispatcher"), signed_in("zhifa_chen")
    dispatcher.post(f"/cases/{number}/dispatch", {"department": ENFORCEMENT})
    chen.post(f"/cases/{number}/accept")
    before = [c for c in _case(db, number).clocks if c.kind == "handle"][-1].due_at
    assert (
        chen.post(f"/cases/{number}/extension", {"due_at": "bad", "reason": "x"}).status_code == 422
    )
    day = (datetime.now(SHANGHAI) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert (
        chen.post(f"/cases/{number}/extension", {"due_at": day, "reason": "等材料"}).status_code
        == 303
    )
    page = dispatcher.get(f"/cases/{number}")
    assert "等材料" in page.text and "同意延期" in page.text
    resp = dispatcher.post(
        f"/cases/{number}/extension/decision", {"approve": "false", "note": "请按期办结"}
    )
    assert resp.status_code == 303
    after = [c for c in _case(db, number).clocks if c.kind == "handle"][-1].due_at
    assert after == before
    assert "不同意延期" in dispatcher.get(f"/cases/{number}").text


def test_pages_speak_english_to_english_readers(
    signed_in: Callable[[str], FormClient], db: Session
) -> None:
    from gongzhi.web.i18n import LANG_COOKIE

    number = _report(db)
    dispatcher = signed_in("dispatcher")
    dispatcher.client.cookies.set(LANG_COOKIE, "en")
    page = dispatcher.get("/cases/triage").text
    part = _section(page, number)
    assert "Awaiting dispatch" in part and "Category not determined" in part
    assert "Dispatch deadline" in part and "待分拨" not in part


def test_a_grid_cell_worker_verifies_the_cases_of_the_cells_village(db: Session) -> None:
    """Most addresses resolve to the village, few to a grid cell: a worker granted one cell
    of the village must still find and verify the village's cases, not other villages'."""
    from sqlalchemy import select

    from gongzhi.security.permissions import Permission, Role
    from gongzhi.security.principal import Grant, Principal

    village, other_village = "330523103202", "330523001000"
    worker = Principal(
        account_id=-1,
        username="cell_worker",
        display_name="网格员",
        kind="staff",
        grants=(Grant(Role.GRID_WORKER, village + "001"),),
    )
    verify = Permission.CASE_VERIFY
    assert queries.in_reach(worker, verify, village)
    assert queries.in_reach(worker, verify, village + "001")  # the cell itself
    assert not queries.in_reach(worker, verify, village + "002")  # a neighbour's cell
    assert not queries.in_reach(worker, verify, other_village)
    assert not queries.in_reach(worker, verify, village[:9] + "000")  # the township

    here = _report(db)  # 玉华村, placed at the village
    elsewhere = _report(db, address_text=DIPU_ADDRESS)
    assert _case(db, here).region_code == village
    visible = set(
        db.scalars(
            select(Case.number).where(
                Case.number.in_((here, elsewhere)), queries.scope_filter(db, worker)
            )
        )
    )
    assert visible == {here}
