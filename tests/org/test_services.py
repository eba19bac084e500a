"""Org services and queries without HTTP: departments, staff, the demo organisation, lead
lookup for case routing, and calendar overrides."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org import queries, services
from gongzhi.org.models import (
    DepartmentKind,
    Matter,
    OrgLevel,
    Responsibility,
    StaffProfile,
)
from gongzhi.regions.models import Region
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.principal import Grant, Principal
from tests.org.fixtures import (
    COUNTY,
    DIPU,
    ENFORCEMENT,
    HOUSING,
    STAFF_USERNAME,
    ZHANGWU,
    ZHANGWU_GOV,
)

ACTOR = SystemActor("test")
CST = timezone(timedelta(hours=8))


@pytest.fixture
def org(db: Session) -> Session:
    """The seeded demo organisation must be there; fail loudly (not skip) if it is not."""
    assert db.get(Region, COUNTY) is not None, "seed_regions must load 安吉县 (330523)"
    assert queries.get_department(db, ENFORCEMENT) is not None, "seed_org did not run"
    return db


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _village_of(db: Session, township: str) -> str:
    code = db.scalar(
        select(Region.code)
        .where(Region.parent_code == township, Region.level == 5)
        .order_by(Region.code)
        .limit(1)
    )
    assert code is not None
    return code


# -- demo organisation --------------------------------------------------------------------


def test_demo_organisation_has_the_county_departments_townships_and_71_matters(
    org: Session,
) -> None:
    county = queries.list_departments(org, region_code=COUNTY)
    assert len([d for d in county if d.level == "county"]) == 12
    townships = queries.list_departments(org, kind=DepartmentKind.TOWNSHIP)
    assert len(townships) == 15
    names = {d.name for d in townships}
    assert "递铺街道办事处" in names and "鄣吴镇人民政府" in names and "山川乡人民政府" in names
    assert org.scalar(select(func.count()).select_from(Matter)) == 71
    delegated = org.scalar(
        select(func.count(func.distinct(Responsibility.matter_id))).where(
            Responsibility.delegated.is_(True)
        )
    )
    assert delegated is not None and delegated >= 50
    # Every matter has a lead at county level and keywords for the classifier.
    for matter in queries.list_matters(org):
        assert matter.keywords, matter.code
        assert any(r.level == "county" for r in matter.responsibilities), matter.code


def test_loading_the_demo_again_changes_nothing(org: Session) -> None:
    before = org.scalar(select(func.count()).select_from(AuditEvent))
    result = services.load_demo_organisation(org, actor=ACTOR)
    assert result.departments_created == 0
    assert not result.import_result.changed
    assert result.import_result.unchanged == 71
    assert org.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_demo_needs_the_regions(org: Session) -> None:
    with pytest.raises(Invalid) as info:
        services.load_demo_organisation(org, actor=ACTOR, county_code="999999000000")
    assert info.value.code == "regions_missing"


# -- departments --------------------------------------------------------------------------


def test_create_update_deactivate_department_with_audit_events(org: Session) -> None:
    dept = services.create_department(
        org,
        code="330523-TEST",
        name="安吉县测试局",
        short_name="县测试局",
        kind="functional",
        level="county",
        region_code=COUNTY,
        actor=ACTOR,
    )
    created = _events(org, "org.department.create")
    assert any(e.object_id == str(dept.id) and e.new["name"] == "安吉县测试局" for e in created)

    services.update_department(org, dept, name="安吉县试验局", reason="更名", actor=ACTOR)
    update = _events(org, "org.department.update")[-1]
    assert update.old == {"name": "安吉县测试局"} and update.new == {"name": "安吉县试验局"}
    assert update.reason == "更名"

    # An update that changes nothing records nothing.
    services.update_department(org, dept, name="安吉县试验局", actor=ACTOR)
    assert len(_events(org, "org.department.update")) == 1

    services.deactivate_department(org, dept, reason="撤并", actor=ACTOR)
    assert not dept.active
    assert _events(org, "org.department.deactivate")[-1].new == {"active": False}
    assert dept not in queries.list_departments(org)
    assert dept in queries.list_departments(org, include_inactive=True)


def test_department_validation(org: Session) -> None:
    kwargs = dict(name="某局", kind="functional", level="county", actor=ACTOR)
    with pytest.raises(Conflict):
        services.create_department(org, code=ENFORCEMENT, region_code=COUNTY, **kwargs)
    with pytest.raises(Invalid, match="unknown region"):
        services.create_department(org, code="X1", region_code="330523999000", **kwargs)
    with pytest.raises(Invalid) as info:
        services.create_department(org, code="X2", region_code=ZHANGWU, **kwargs)
    assert info.value.code == "region_level_mismatch"
    with pytest.raises(Invalid, match="kind"):
        services.create_department(
            org,
            code="X3",
            name="某局",
            kind="ministry",
            level="county",
            region_code=COUNTY,
            actor=ACTOR,
        )
    with pytest.raises(NotFound):
        services.create_department(org, code="X4", region_code=COUNTY, parent_code="NOPE", **kwargs)


def test_parent_cycle_is_refused(org: Session) -> None:
    a = services.create_department(
        org,
        code="P-A",
        name="甲",
        kind="functional",
        level="county",
        region_code=COUNTY,
        actor=ACTOR,
    )
    b = services.create_department(
        org,
        code="P-B",
        name="乙",
        kind="functional",
        level="county",
        region_code=COUNTY,
        parent_code="P-A",
        actor=ACTOR,
    )
    assert b.parent is a
    with pytest.raises(Invalid) as info:
        services.update_department(org, a, parent_code="P-B", actor=ACTOR)
    assert info.value.code == "parent_cycle"


def test_a_department_that_leads_matters_cannot_be_deactivated(org: Session) -> None:
    housing = queries.get_department(org, HOUSING)
    assert housing is not None
    with pytest.raises(Conflict) as info:
        services.deactivate_department(org, housing, actor=ACTOR)
    assert info.value.code == "department_in_use"
    assert housing.active


def test_scoped_department_listing_shows_own_township_and_the_county_not_others(
    org: Session,
) -> None:
    clerk = Principal(
        account_id=0,
        username="t",
        display_name="t",
        kind="staff",
        grants=(Grant(Role.TOWNSHIP_CLERK, ZHANGWU),),
    )
    visible = {
        d.code for d in queries.list_departments(org, scopes=queries.department_scopes(clerk))
    }
    assert ZHANGWU_GOV in visible and ENFORCEMENT in visible
    assert "330523001-ZF" not in visible  # 递铺街道办事处
    with pytest.raises(NotFound):
        queries.access_department(org, clerk, "330523001-ZF")
    assert queries.access_department(org, clerk, ZHANGWU_GOV).name == "鄣吴镇人民政府"
    nobody = Principal(account_id=0, username="c", display_name="c", kind="citizen")
    assert queries.list_departments(org, scopes=queries.department_scopes(nobody)) == []


# -- staff --------------------------------------------------------------------------------


def test_seeded_staff_member_has_account_role_and_profile(org: Session) -> None:
    account = org.scalar(select(Account).where(Account.username == STAFF_USERNAME))
    assert account is not None and account.kind == "staff"
    profile = org.scalar(select(StaffProfile).where(StaffProfile.account_id == account.id))
    assert profile is not None and profile.department.code == ENFORCEMENT
    assert any(e.object_id == str(profile.id) for e in _events(org, "org.staff.create"))


def test_create_staff_grants_roles_and_refuses_inactive_departments(org: Session) -> None:
    from gongzhi.security.services import account_roles

    gov = queries.get_department(org, ZHANGWU_GOV)
    assert gov is not None
    profile = services.create_staff(
        org,
        username="zhangwu_clerk2",
        display_name="鄣吴文员",
        department=gov,
        roles=[(Role.TOWNSHIP_CLERK, ZHANGWU), (Role.GRID_WORKER, _village_of(org, ZHANGWU))],
        password="Zhangwu-Clerk-2026!",
        actor=ACTOR,
    )
    roles = account_roles(org, profile.account_id)
    assert ("township_clerk", ZHANGWU) in roles and len(roles) == 2
    dept = services.create_department(
        org,
        code="GONE",
        name="已撤销",
        kind="functional",
        level="county",
        region_code=COUNTY,
        actor=ACTOR,
    )
    services.deactivate_department(org, dept, actor=ACTOR)
    with pytest.raises(Invalid):
        services.create_staff(
            org,
            username="nobody2",
            display_name="某",
            department=dept,
            roles=[],
            password="Zhangwu-Clerk-2026!",
            actor=ACTOR,
        )


# -- lead lookup --------------------------------------------------------------------------


def test_delegated_matter_goes_to_the_township_government(org: Session) -> None:
    lead = queries.lead_for(org, "XC-002", ZHANGWU)  # 井盖缺失或破损
    assert lead is not None and lead.level == OrgLevel.TOWNSHIP
    assert lead.lead is not None and lead.lead.code == ZHANGWU_GOV
    assert not lead.ambiguous


def test_a_village_case_falls_back_to_the_township_when_no_village_committee_exists(
    org: Session,
) -> None:
    village = _village_of(org, ZHANGWU)
    lead = queries.lead_for(org, "XC-004", village)  # 垃圾满溢: village level says 属地
    assert lead is not None and lead.level == OrgLevel.TOWNSHIP
    assert lead.lead is not None and lead.lead.code == ZHANGWU_GOV


def test_a_village_committee_leads_once_it_exists(org: Session) -> None:
    village = _village_of(org, ZHANGWU)
    committee = services.create_department(
        org,
        code=f"{village}-CW",
        name="某村村民委员会",
        kind=DepartmentKind.VILLAGE,
        level=OrgLevel.VILLAGE,
        region_code=village,
        actor=ACTOR,
    )
    lead = queries.lead_for(org, "XC-004", village)
    assert lead is not None and lead.level == OrgLevel.VILLAGE and lead.lead is committee
    # 井盖 has no village-level row: still the township.
    other = queries.lead_for(org, "XC-002", village)
    assert other is not None and other.level == OrgLevel.TOWNSHIP


def test_county_region_uses_the_county_department_and_co_handlers(org: Session) -> None:
    lead = queries.lead_for(org, "XC-002", COUNTY)
    assert lead is not None and lead.level == OrgLevel.COUNTY
    assert lead.lead is not None and lead.lead.code == HOUSING
    assert [d.code for d in lead.co_handlers] == [ENFORCEMENT]
    assert lead.responsibility.dispatch_hours == 0.5


def test_non_delegated_matter_stays_with_the_county_and_adds_the_local_government(
    org: Session,
) -> None:
    lead = queries.lead_for(org, "XC-024", _village_of(org, ZHANGWU))  # 地质灾害隐患
    assert lead is not None and lead.level == OrgLevel.COUNTY
    assert lead.lead is not None and lead.lead.code == "330523-ZRZY"
    assert {d.code for d in lead.co_handlers} == {"330523-YJGL", ZHANGWU_GOV}


def test_two_local_governments_for_one_region_are_ambiguous(org: Session) -> None:
    services.create_department(
        org,
        code="330523001-ZF2",
        name="递铺街道（第二办事处）",
        kind=DepartmentKind.TOWNSHIP,
        level=OrgLevel.TOWNSHIP,
        region_code=DIPU,
        actor=ACTOR,
    )
    lead = queries.lead_for(org, "XC-002", DIPU)
    assert lead is not None and lead.ambiguous and lead.lead is None
    assert {d.code for d in lead.leads} == {"330523001-ZF", "330523001-ZF2"}


def test_no_lead_gives_none(org: Session) -> None:
    assert queries.lead_for(org, "NO-SUCH", ZHANGWU) is None
    assert queries.lead_for(org, "XC-002", "not-a-code") is None
    # A region outside the county: its departments do not serve it.
    assert queries.lead_for(org, "XC-002", "110101000000") is None


# -- calendar overrides -------------------------------------------------------------------


def test_calendar_override_service_and_region_scope(org: Session) -> None:
    day = date(2027, 2, 8)  # Monday; 2027 has no official data
    assert queries.load_work_calendar(org).is_workday(day)
    override = services.set_calendar_override(
        org, day=day, is_workday=False, note="2027 春节", actor=ACTOR
    )
    assert not queries.load_work_calendar(org).is_workday(day)
    assert _events(org, "org.calendar_override.create")[-1].new["day"] == "2027-02-08"

    # Setting it again with the same values records nothing; a change is an update event.
    services.set_calendar_override(org, day=day, is_workday=False, note="2027 春节", actor=ACTOR)
    assert _events(org, "org.calendar_override.update") == []
    services.set_calendar_override(org, day=day, is_workday=False, note="春节调休", actor=ACTOR)
    assert _events(org, "org.calendar_override.update")[-1].new == {"note": "春节调休"}

    # A township makes the day a workday for itself only; the deeper region wins there.
    services.set_calendar_override(
        org, day=day, is_workday=True, note="值班", region_code=ZHANGWU, actor=ACTOR
    )
    assert queries.load_work_calendar(org, _village_of(org, ZHANGWU)).is_workday(day)
    assert not queries.load_work_calendar(org, DIPU).is_workday(day)
    assert not queries.load_work_calendar(org).is_workday(day)

    start = datetime(2027, 2, 5, 16, 0, tzinfo=CST)  # Friday
    due = queries.load_work_calendar(org).add_working_days(start, 1)
    assert due.astimezone(CST).date() == date(2027, 2, 9)

    services.delete_calendar_override(org, override, reason="录错", actor=ACTOR)
    assert _events(org, "org.calendar_override.delete")[-1].reason == "录错"
    assert queries.load_work_calendar(org, DIPU).is_workday(day)
    with pytest.raises(Invalid):
        services.set_calendar_override(
            org, day=day, is_workday=True, region_code="330523999000", actor=ACTOR
        )


def test_refused_update_leaves_the_department_untouched(org: Session) -> None:
    dept = services.create_department(
        org,
        code="U-1",
        name="甲局",
        kind="functional",
        level="county",
        region_code=COUNTY,
        actor=ACTOR,
    )
    with pytest.raises(Invalid):
        services.update_department(org, dept, name="乙局", region_code=ZHANGWU, actor=ACTOR)
    assert dept.name == "甲局" and dept.region_code == COUNTY
    services.update_department(
        org, dept, level="township", region_code=ZHANGWU, kind="township", actor=ACTOR
    )
    assert dept.level == "township" and dept.region_code == ZHANGWU


def test_staff_listing_is_scoped(org: Session) -> None:
    everyone = queries.list_staff(org)
    assert STAFF_USERNAME in {account.username for _, account in everyone}
    clerk_view = queries.list_staff(org, scopes=["330523001000"])  # 递铺街道
    assert STAFF_USERNAME in {a.username for _, a in clerk_view}  # county staff serve it
    assert queries.list_staff(org, scopes=["110101000000"]) == []
    only = queries.list_staff(org, department_code=ZHANGWU_GOV)
    assert all(p.department.code == ZHANGWU_GOV for p, _ in only)
