"""The deadline sweep tells the people who must act, in-app, once per case and step:
the warning to the lead department's handlers, 催办 to them and the department's named head
(or, with none named, to the handlers alone with a note saying so), 督办 and 上报上级 to the
dispatch centre and the leaders of the case's region."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.cases import services
from gongzhi.cases.models import Case
from gongzhi.cases.services import NO_HEAD_NOTE
from gongzhi.db import time_travel
from gongzhi.notify.models import Notification
from gongzhi.org.models import Department
from gongzhi.org.services import create_staff, set_department_head
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.services import create_account, grant_role
from tests.cases.fixtures import (
    STAFF_PASSWORD,
    TOWNSHIP_HANDLER,
    ZHANGWU,
    ZHANGWU_GOV,
    township_handler,  # noqa: F401
)
from tests.cases.helpers import (
    ACTOR,
    YUHUA_ADDRESS,
    no_classifier,  # noqa: F401
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier", "township_handler")

SH = ZoneInfo("Asia/Shanghai")
SWEEPER = SystemActor("jobs:cases.sweep")
START = datetime(2026, 9, 16, 9, tzinfo=SH)  # a Wednesday
# 井盖 (XC-002) at the township: one working day to handle, due Thu 17 Sep 17:30.
NEAR = datetime(2026, 9, 17, 16, 45, tzinfo=SH)  # the last fifth: warn
LATE = datetime(2026, 9, 18, 9, tzinfo=SH)  # overdue: 催办
LATER = datetime(2026, 9, 21, 9, tzinfo=SH)  # late by more than its length: 督办
MUCH_LATER = datetime(2026, 9, 23, 9, tzinfo=SH)  # by more than twice: 上报上级


def _account_id(db: Session, username: str) -> int:
    account_id = db.scalar(select(Account.id).where(Account.username == username))
    assert account_id is not None, username
    return account_id


def _staff(
    db: Session, username: str, department: str, role: Role, region: str, head: bool = False,
    **kw: str,
) -> int:  # fmt: skip
    dept = db.scalar(select(Department).where(Department.code == department))
    assert dept is not None
    profile = create_staff(
        db,
        username=username,
        display_name=username,
        department=dept,
        roles=[(role, region)],
        password=STAFF_PASSWORD,
        actor=ACTOR,
        **kw,
    )
    if head:
        set_department_head(db, dept, profile, actor=ACTOR)
    return profile.account_id


def _notices(db: Session, case: Case) -> dict[str, set[int]]:
    rows = db.execute(
        select(Notification.kind, Notification.recipient_account_id).where(
            Notification.case_number == case.number
        )
    )
    out: dict[str, set[int]] = {}
    for kind, account_id in rows:
        out.setdefault(kind, set()).add(account_id)
    return out


def _sweep(db: Session, at: datetime) -> services.SweepReport:
    with time_travel(at):
        return services.sweep_clocks(db, actor=SWEEPER)


def _signed_case(db: Session) -> Case:
    with time_travel(START):
        case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
        services.accept_case(db, case, actor=ACTOR)
    assert db.scalar(select(Department.code).where(Department.id == case.lead_department_id)) == (
        ZHANGWU_GOV
    )
    return case


def test_each_step_reaches_the_people_who_must_act(db: Session) -> None:
    handler = _account_id(db, TOWNSHIP_HANDLER)
    head = _staff(db, "zhangwu_head", ZHANGWU_GOV, Role.TOWNSHIP_CLERK, ZHANGWU, head=True)
    # A title no longer makes a head: only the department's named head hears of 催办.
    clerk = _staff(db, "zhangwu_clerk", ZHANGWU_GOV, Role.TOWNSHIP_CLERK, ZHANGWU, title="副镇长")
    dispatcher = _account_id(db, "dispatcher")
    leader = _account_id(db, "leader")
    case = _signed_case(db)

    assert _sweep(db, START).notices == 0
    warned = _sweep(db, NEAR)
    # The handling and the feedback deadline fall together: still one warning each.
    assert warned.warned == 2 and warned.notices == 1
    assert _notices(db, case) == {"case_deadline_warning": {handler}}

    _sweep(db, LATE)
    assert _notices(db, case)["case_escalation_1"] == {handler, head}

    _sweep(db, LATER)
    assert _notices(db, case)["case_escalation_2"] == {dispatcher, leader}

    _sweep(db, MUCH_LATER)
    assert _notices(db, case)["case_escalation_3"] == {dispatcher, leader}
    everyone = set().union(*_notices(db, case).values())
    assert clerk not in everyone
    urged = db.scalars(
        select(Notification.body).where(
            Notification.case_number == case.number, Notification.kind == "case_escalation_1"
        )
    ).all()
    assert urged and all(NO_HEAD_NOTE not in body for body in urged)


def test_without_a_named_head_the_handlers_are_urged_and_told_why(db: Session) -> None:
    handler = _account_id(db, TOWNSHIP_HANDLER)
    _staff(db, "zhangwu_mayor", ZHANGWU_GOV, Role.TOWNSHIP_CLERK, ZHANGWU, title="镇长")
    case = _signed_case(db)
    _sweep(db, LATE)
    assert _notices(db, case)["case_escalation_1"] == {handler}
    bodies = db.scalars(
        select(Notification.body).where(
            Notification.case_number == case.number, Notification.kind == "case_escalation_1"
        )
    ).all()
    assert bodies and all(NO_HEAD_NOTE in body for body in bodies)


def test_the_sweep_every_minute_sends_nothing_twice(db: Session) -> None:
    case = _signed_case(db)
    for at in (NEAR, NEAR, LATE, LATE, LATER, LATER, MUCH_LATER, MUCH_LATER):
        _sweep(db, at)
    count = len(
        db.scalars(select(Notification.id).where(Notification.case_number == case.number)).all()
    )
    _sweep(db, MUCH_LATER)
    after = db.scalars(select(Notification.id).where(Notification.case_number == case.number))
    assert len(after.all()) == count
    kinds = db.scalars(
        select(Notification.kind).where(
            Notification.case_number == case.number,
            Notification.recipient_account_id == _account_id(db, TOWNSHIP_HANDLER),
        )
    ).all()
    assert sorted(kinds) == ["case_deadline_warning", "case_escalation_1"]


def test_the_notice_names_the_case_step_and_deadline(db: Session) -> None:
    case = _signed_case(db)
    _sweep(db, LATE)
    notice = db.scalars(
        select(Notification).where(
            Notification.case_number == case.number, Notification.kind == "case_escalation_1"
        )
    ).first()
    assert notice is not None
    # The handling and the feedback deadline passed together: one notice, naming one.
    assert notice.subject in {
        f"【催办】诉求 {case.number} 办理已超期",
        f"【催办】诉求 {case.number} 反馈已超期",
    }
    assert "2026-09-17 17:30" in notice.body
    assert notice.channel == "in_app" and notice.status == "sent" and notice.read_at is None


def test_a_case_waiting_for_a_lead_is_the_dispatch_centres(db: Session) -> None:
    dispatcher = _account_id(db, "dispatcher")
    with time_travel(START):
        case = submit(db, address_text=YUHUA_ADDRESS)  # no category: triage
    assert case.lead_department_id is None
    # Dispatch within 24 office hours (7.5 a day): due Mon 21 Sep 10:00; a fifth of it left
    # on Friday afternoon.
    _sweep(db, datetime(2026, 9, 18, 17, 0, tzinfo=SH))
    assert _notices(db, case) == {"case_deadline_warning": {dispatcher}}


def test_a_department_nobody_staffs_leaves_its_notices_to_the_dispatch_centre(
    db: Session,
) -> None:
    dispatcher = _account_id(db, "dispatcher")
    zhangwu_gov = db.scalar(select(Department).where(Department.code == ZHANGWU_GOV))
    assert zhangwu_gov is not None
    handler = db.scalar(select(Account).where(Account.username == TOWNSHIP_HANDLER))
    assert handler is not None
    handler.active = False
    case = _signed_case(db)
    _sweep(db, NEAR)
    assert _notices(db, case) == {"case_deadline_warning": {dispatcher}}


def test_the_level_above_also_reaches_the_leaders_above(db: Session) -> None:
    leader = _account_id(db, "leader")
    city_leader = create_account(
        db, username="city_leader", display_name="市领导", kind="staff", password=STAFF_PASSWORD,
        actor=ACTOR,
    )  # fmt: skip
    grant_role(db, city_leader, role=Role.LEADER, region_code="330500000000", actor=ACTOR)
    case = _signed_case(db)
    _sweep(db, LATER)
    _sweep(db, MUCH_LATER)
    notices = _notices(db, case)
    assert (
        leader in notices["case_escalation_2"]
        and city_leader.id not in notices["case_escalation_2"]
    )
    assert {leader, city_leader.id} <= notices["case_escalation_3"]


def test_a_rerouted_case_tells_the_new_department(db: Session) -> None:
    from gongzhi.org.queries import department_handlers

    first = _account_id(db, TOWNSHIP_HANDLER)
    case = _signed_case(db)
    _sweep(db, LATE)
    with time_travel(LATE):
        services.dispatch_case(db, case, to="330523-ZHZF", actor=ACTOR)
    zhzf = db.scalar(select(Department.id).where(Department.code == "330523-ZHZF"))
    assert zhzf is not None
    enforcement = set(department_handlers(db, zhzf))
    assert enforcement and first not in enforcement
    # The new department's sign-off clock: half an office hour (the list's limit for 井盖).
    _sweep(db, datetime(2026, 9, 18, 9, 25, tzinfo=SH))
    assert _notices(db, case)["case_deadline_warning"] == enforcement  # the first got 催办
    _sweep(db, datetime(2026, 9, 18, 10, 0, tzinfo=SH))
    assert _notices(db, case)["case_escalation_1"] == {first} | enforcement
