"""Privacy services without HTTP: who may reveal which value, what a reveal records (an
audit event and its index row, in one transaction, with no personal value in either), the
citizen's link to the register, and PIPL requests with their working-day deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.config import Settings
from gongzhi.errors import Conflict, Forbidden, Invalid
from gongzhi.org.queries import calendar_for
from gongzhi.privacy import queries, services
from gongzhi.privacy.models import PersonalDataAccess, RequestStatus
from gongzhi.privacy.policy import case_contact_right, person_right
from tests.cases.helpers import no_classifier, principal  # noqa: F401
from tests.privacy.helpers import (
    DIPU,
    HOUSING,
    account,
    id_number,
    make_case,
    make_person,
)

pytestmark = pytest.mark.usefixtures("no_classifier")


def _reveals(db: Session) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == services.REVEALED)
        )
        or 0
    )


def test_dispatcher_reveals_a_contact_with_a_purpose_and_it_is_recorded(db: Session) -> None:
    case = make_case(db)
    dispatcher = principal(db, "dispatcher")
    before = _reveals(db)
    values = services.reveal_case_contact(
        db, case, fields=["phone"], purpose="call_back", actor=dispatcher
    )
    assert values == {"phone": "13812341999"}
    assert _reveals(db) == before + 1
    event = db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == services.REVEALED)
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None
    assert event.object_type == "case_contact" and event.object_id == case.number
    assert event.actor_id == dispatcher.account_id
    assert event.new is not None
    assert event.new["role"] == "dispatcher"
    assert event.new["fields"] == ["case_contact.phone"]
    assert event.new["purpose"] == "call_back"
    assert event.new["case_number"] == case.number
    assert event.new["subject_account_id"] == account(db, "citizen").id
    # The audit log names what was shown, never the value itself.
    assert "13812341999" not in (event.canonical or "")
    row = db.scalar(select(PersonalDataAccess).where(PersonalDataAccess.audit_event_id == event.id))
    assert row is not None and row.actor_name == "刘洋" and row.case_number == case.number


def test_only_the_lead_departments_handler_reveals_besides_the_dispatcher(
    db: Session,
) -> None:
    ours = make_case(db)  # led by the enforcement bureau
    theirs = make_case(db, lead=HOUSING)
    chen = principal(db, "zhifa_chen")  # a handler of the enforcement bureau
    assert case_contact_right(db, chen, ours).allowed
    assert not case_contact_right(db, chen, theirs).allowed
    services.reveal_case_contact(db, ours, fields=["name"], purpose="handle_case", actor=chen)
    with pytest.raises(Forbidden):
        services.reveal_case_contact(
            db, theirs, fields=["phone"], purpose="handle_case", actor=chen
        )
    # A handler role without a department, the leader, the auditors, the clerk: never.
    for who in ("department_handler", "leader", "audit_admin", "system_admin", "data_officer"):
        assert not case_contact_right(db, principal(db, who), ours).allowed, who
    assert not case_contact_right(db, principal(db, "township_clerk"), ours).allowed
    # The reporter sees their own data; it is not a reveal.
    assert not case_contact_right(db, principal(db, "citizen"), ours).allowed


def test_a_dispatcher_outside_the_region_may_not_reveal(db: Session) -> None:
    from gongzhi.audit.services import SystemActor
    from gongzhi.security.permissions import Role
    from gongzhi.security.services import create_account, grant_role

    other = create_account(
        db,
        username="dispatcher.zhangwu",
        display_name="鄣吴调度",
        kind="staff",
        password="Anji-Staff-2026!",
        actor=SystemActor("test"),
    )
    grant_role(
        db, other, role=Role.DISPATCHER, region_code="330523103000", actor=SystemActor("test")
    )
    db.flush()
    outside = make_case(db, address=DIPU)
    assert not case_contact_right(db, principal(db, "dispatcher.zhangwu"), outside).allowed
    assert case_contact_right(db, principal(db, "dispatcher.zhangwu"), make_case(db)).allowed


def test_purposes_and_fields_are_checked(db: Session) -> None:
    case = make_case(db)
    dispatcher = principal(db, "dispatcher")
    before = _reveals(db)
    with pytest.raises(Invalid) as bad:
        services.reveal_case_contact(db, case, fields=["phone"], purpose="", actor=dispatcher)
    assert bad.value.code == "invalid_purpose"
    with pytest.raises(Invalid) as bad:
        services.reveal_case_contact(
            db, case, fields=["phone"], purpose="other", purpose_text=" ", actor=dispatcher
        )
    assert bad.value.code == "purpose_text_required"
    with pytest.raises(Invalid):  # verifying identity is for people, not case contacts
        services.reveal_case_contact(
            db, case, fields=["phone"], purpose="verify_identity", actor=dispatcher
        )
    with pytest.raises(Invalid) as bad:
        services.reveal_case_contact(
            db, case, fields=["id_number"], purpose="call_back", actor=dispatcher
        )
    assert bad.value.code == "invalid_fields"
    assert _reveals(db) == before
    services.reveal_case_contact(
        db,
        case,
        fields=["phone", "name"],
        purpose="other",
        purpose_text="核对重复来电",
        actor=dispatcher,
    )
    assert _reveals(db) == before + 1


def test_anonymous_contacts_only_on_a_legal_order_by_the_security_admin(db: Session) -> None:
    case = make_case(db, anonymous=True)
    dispatcher, security = principal(db, "dispatcher"), principal(db, "security_admin")
    assert not case_contact_right(db, dispatcher, case).allowed
    with pytest.raises(Forbidden):
        services.reveal_case_contact(
            db, case, fields=["phone"], purpose="call_back", actor=dispatcher
        )
    right = case_contact_right(db, security, case)
    assert right.allowed and right.anonymous
    with pytest.raises(Invalid):  # the everyday purposes do not open an anonymous contact
        services.reveal_case_contact(
            db, case, fields=["phone"], purpose="handle_case", actor=security
        )
    with pytest.raises(Invalid) as bad:
        services.reveal_case_contact(
            db, case, fields=["phone"], purpose="legal_order", actor=security
        )
    assert bad.value.code == "purpose_text_required"
    values = services.reveal_case_contact(
        db,
        case,
        fields=["phone"],
        purpose="legal_order",
        purpose_text="安公（刑）调证字〔2026〕123号",
        actor=security,
    )
    assert values == {"phone": "13812341999"}
    # Not a security admin's everyday power: a named reporter stays out of reach.
    assert not case_contact_right(db, security, make_case(db)).allowed


def test_contact_views_mask_by_default(db: Session) -> None:
    case = make_case(db)
    view = queries.contact_view(db, principal(db, "dispatcher"), case, may_see=True)
    assert view is not None and view.masked and view.revealable
    assert (view.name, view.phone) == ("王**", "138****1999")
    own = queries.contact_view(db, principal(db, "citizen"), case, may_see=True)
    assert own is not None and not own.masked and own.phone == "13812341999"
    assert queries.contact_view(db, principal(db, "leader"), case, may_see=False) is None
    hidden = make_case(db, anonymous=True)
    assert queries.contact_view(db, principal(db, "dispatcher"), hidden, may_see=False) is None


def test_person_reveal_needs_lookup_and_reveal_in_the_household_region(db: Session) -> None:
    person = make_person(db)  # registered in 玉华村, 鄣吴镇
    elsewhere = make_person(db, number=id_number(seq="125"), region="330523001001")
    clerk, dispatcher = principal(db, "township_clerk"), principal(db, "dispatcher")
    assert person_right(clerk, person).allowed
    assert not person_right(clerk, elsewhere).allowed  # another township
    assert person_right(dispatcher, elsewhere).allowed  # the county's dispatch centre
    for who in ("leader", "department_handler", "audit_admin", "grid_worker"):
        assert not person_right(principal(db, who), person).allowed, who
    values = services.reveal_person(
        db, person, fields=["id_number", "birth_date"], purpose="verify_identity", actor=clerk
    )
    assert values == {"id_number": id_number(), "birth_date": "1980-01-01"}
    row = db.scalar(select(PersonalDataAccess).order_by(PersonalDataAccess.id.desc()))
    assert row is not None and row.person_id == person.id and row.subject_kind == "person"
    with pytest.raises(Invalid) as bad:  # a case number must be a case the viewer can read
        services.reveal_person(
            db,
            person,
            fields=["name"],
            purpose="handle_case",
            case_number="AJ-20000101-0001",
            actor=clerk,
        )
    assert bad.value.code == "invalid_case_number"


def test_lookup_outside_the_region_is_not_found(db: Session) -> None:
    from gongzhi.errors import NotFound

    make_person(db, number=id_number(seq="127"), region="330523001001")  # 递铺街道
    clerk = principal(db, "township_clerk")
    with pytest.raises(NotFound):
        queries.look_up_person(db, clerk, id_number(seq="127"))
    assert queries.look_up_person(db, principal(db, "dispatcher"), id_number(seq="127"))
    with pytest.raises(NotFound):
        queries.look_up_person(db, clerk, "not an id number")


def test_linking_a_citizen_to_the_register(db: Session) -> None:
    person = make_person(db)
    me = account(db, "citizen")
    with pytest.raises(Invalid) as bad:
        services.link_person(
            db, me, id_number=id_number(), name="王秀", actor=principal(db, "citizen")
        )
    assert bad.value.code == "identity_not_matched"
    with pytest.raises(Invalid):
        services.link_person(
            db, me, id_number=id_number(seq="999"), name="王秀英", actor=principal(db, "citizen")
        )
    services.link_person(
        db, me, id_number=id_number(), name="王秀英", actor=principal(db, "citizen")
    )
    assert me.person_id == person.id
    other = account(db, "citizen_two")
    with pytest.raises(Conflict):
        services.link_person(
            db, other, id_number=id_number(), name="王秀英", actor=principal(db, "citizen_two")
        )
    with pytest.raises(Invalid):  # staff accounts are not linked to the register here
        services.link_person(
            db,
            account(db, "dispatcher"),
            id_number=id_number(),
            name="王秀英",
            actor=principal(db, "dispatcher"),
        )


def test_requests_have_a_working_day_deadline_and_a_recorded_life(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Monday 28 September 2026, 10:00 in Shanghai: the National Day week (1–7 October, with
    # make-up working days around it) lies inside the 15 working days.
    now = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(services, "utcnow", lambda: now)
    citizen = principal(db, "citizen")
    request = services.submit_request(
        db, citizen, kind="copy", text="请给我一份我的个人信息副本", settings=settings
    )
    calendar = calendar_for(db, settings, None)
    assert request.due_at == calendar.add_working_days(now, 15)
    assert request.due_at - now > timedelta(days=21)  # the holiday week does not count
    assert request.region_code == "330523000000"
    assert request.text == "请给我一份我的个人信息副本"
    assert b"\xe5\x89\xaf\xe6\x9c\xac" not in (request.text_sealed or b"")  # sealed at rest
    security = principal(db, "security_admin")
    with pytest.raises(Invalid):
        services.refuse_request(db, request, reasons="", actor=security)
    services.accept_request(db, request, actor=security)
    with pytest.raises(Conflict):
        services.accept_request(db, request, actor=security)
    services.fulfil_request(db, request, response="已生成副本，请下载", actor=security)
    assert request.status == RequestStatus.FULFILLED
    with pytest.raises(Conflict):
        services.refuse_request(db, request, reasons="太晚了", actor=security)
    actions = list(
        db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "privacy_request", AuditEvent.object_id == str(request.id)
            )
            .order_by(AuditEvent.id)
        )
    )
    assert actions == [
        "privacy.request.submit",
        "privacy.request.accept",
        "privacy.request.fulfil",
    ]
    with pytest.raises(Invalid):
        services.submit_request(db, citizen, kind="erase", text="x", settings=settings)


def test_overdue_requests_come_first_for_the_handler(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = principal(db, "citizen")
    old_time = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(services, "utcnow", lambda: old_time)
    late = services.submit_request(
        db, citizen, kind="delete", text="删除我的电话", settings=settings
    )
    monkeypatch.undo()
    fresh = services.submit_request(db, citizen, kind="access", text="我要查阅", settings=settings)
    rows = queries.handler_requests(db, principal(db, "security_admin"))
    mine = [r.id for r in rows if r.id in (late.id, fresh.id)]
    assert mine == [late.id, fresh.id]
    now = datetime.now(UTC)
    assert queries.is_overdue(late, now) and not queries.is_overdue(fresh, now)
    # No one else handles them.
    assert queries.handler_requests(db, principal(db, "dispatcher")) == []
