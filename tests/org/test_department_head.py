"""The department head (负责人): named through ``set_department_head`` (audited, one a
department, one of its own active staff), from a department file's ``head`` column, and on
the department's page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Invalid
from gongzhi.org import queries, services
from gongzhi.org.models import Department, StaffProfile
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from tests.org.fixtures import COUNTY, ENFORCEMENT, HOUSING, STAFF_PASSWORD, STAFF_USERNAME
from tests.security.fixtures import login_as

ACTOR = SystemActor("test")


def _department(db: Session, code: str) -> Department:
    department = queries.get_department(db, code)
    assert department is not None, code
    return department


def _staff(db: Session, username: str, code: str, **kw: str) -> StaffProfile:
    return services.create_staff(
        db,
        username=username,
        display_name=username,
        department=_department(db, code),
        roles=[(Role.DEPARTMENT_HANDLER, COUNTY)],
        password=STAFF_PASSWORD,
        actor=ACTOR,
        **kw,
    )


def _profile(db: Session, username: str) -> StaffProfile:
    profile = db.scalar(
        select(StaffProfile)
        .join(Account, Account.id == StaffProfile.account_id)
        .where(Account.username == username)
    )
    assert profile is not None
    return profile


def test_set_head_replaces_the_previous_one_and_is_audited(db: Session) -> None:
    enforcement = _department(db, ENFORCEMENT)
    first = _profile(db, STAFF_USERNAME)
    second = _staff(db, "zhifa_head", ENFORCEMENT, title="局长")
    assert queries.department_head(db, enforcement.id) is None

    services.set_department_head(db, enforcement, first, actor=ACTOR)
    assert queries.department_head(db, enforcement.id) is first
    services.set_department_head(db, enforcement, second, actor=ACTOR)
    assert queries.department_head(db, enforcement.id) is second
    assert first.is_head is False
    assert queries.department_head_account(db, enforcement.id) == second.account_id
    services.set_department_head(db, enforcement, None, reason="调岗", actor=ACTOR)
    assert queries.department_head(db, enforcement.id) is None

    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "org.department.set_head")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.old, e.new) for e in events] == [
        ({"head_staff_id": None}, {"head_staff_id": first.id}),
        ({"head_staff_id": first.id}, {"head_staff_id": second.id}),
        ({"head_staff_id": second.id}, {"head_staff_id": None}),
    ]
    assert events[-1].reason == "调岗"
    # Naming the same head again changes nothing and records nothing.
    services.set_department_head(db, enforcement, None, actor=ACTOR)
    assert (
        len(
            db.scalars(
                select(AuditEvent).where(AuditEvent.action == "org.department.set_head")
            ).all()
        )
        == 3
    )


def test_the_head_must_be_active_staff_of_the_department(db: Session) -> None:
    housing = _department(db, HOUSING)
    outsider = _profile(db, STAFF_USERNAME)  # enforcement's
    with pytest.raises(Invalid) as refused:
        services.set_department_head(db, housing, outsider, actor=ACTOR)
    assert refused.value.code == "head_not_member"
    gone = _staff(db, "zj_gone", HOUSING, title="局长")
    account = db.get(Account, gone.account_id)
    assert account is not None
    account.active = False
    with pytest.raises(Invalid) as inactive:
        services.set_department_head(db, housing, gone, actor=ACTOR)
    assert inactive.value.code == "head_inactive"
    assert queries.department_head(db, housing.id) is None


def test_an_inactive_head_is_not_an_escalation_recipient(db: Session) -> None:
    housing = _department(db, HOUSING)
    head = _staff(db, "zj_head", HOUSING, title="局长")
    services.set_department_head(db, housing, head, actor=ACTOR)
    account = db.get(Account, head.account_id)
    assert account is not None
    account.active = False
    db.flush()
    assert queries.department_head(db, housing.id) is head
    assert queries.department_head_account(db, housing.id) is None


def test_import_heads_from_a_department_file(db: Session) -> None:
    _staff(db, "zj_head", HOUSING, title="局长")
    data = (
        "部门编码,部门名称,负责人\n"
        f"{HOUSING},县住建局,zj_head\n"
        f"{ENFORCEMENT},县综合执法局,{STAFF_USERNAME}\n"
        "330523-SL,县水利局,\n"
    ).encode("gb18030")
    changed = services.import_department_heads(db, data, filename="heads.csv", actor=ACTOR)
    assert changed == [HOUSING, ENFORCEMENT]
    assert queries.department_head(db, _department(db, HOUSING).id) is _profile(db, "zj_head")
    assert services.import_department_heads(db, data, filename="heads.csv", actor=ACTOR) == []


def test_a_bad_head_row_refuses_the_whole_file(db: Session) -> None:
    _staff(db, "zj_head", HOUSING, title="局长")
    data = (
        "code,head\n"
        f"{HOUSING},zj_head\n"
        f"{ENFORCEMENT},zj_head\n"  # housing's staff, not enforcement's
        "330523-NOPE,zj_head\n"
        f"{HOUSING},\n"  # repeated
    ).encode()
    with pytest.raises(Invalid) as refused:
        services.import_department_heads(db, data, filename="heads.csv", actor=ACTOR)
    assert [e["line"] for e in refused.value.details] == [5]
    data = data.rsplit(b"\n", 2)[0] + b"\n"  # drop the repeated row: the others are checked
    with pytest.raises(Invalid) as refused:
        services.import_department_heads(db, data, filename="heads.csv", actor=ACTOR)
    assert sorted(e["line"] for e in refused.value.details) == [3, 4]
    assert queries.department_head(db, _department(db, HOUSING).id) is None
    with pytest.raises(Invalid) as missing:
        services.import_department_heads(db, b"code,name\nX,Y\n", actor=ACTOR)
    assert missing.value.details[0]["column"] == "负责人"


def test_the_demo_department_file_has_a_head_column() -> None:
    from gongzhi.org.importing import parse_department_heads

    rows = parse_department_heads((services.DATA_DIR / "departments.csv").read_bytes())
    heads = {row.department_code: row.username for row in rows}
    assert heads[ENFORCEMENT] == "head_zhzf" and heads["330523-SL"] == ""


def test_the_department_page_shows_and_sets_the_head(client: TestClient, db: Session) -> None:
    head = _staff(db, "zhifa_head", ENFORCEMENT, title="局长")
    login_as(client, "dispatcher")
    page = client.get(f"/org/departments/{ENFORCEMENT}")
    assert page.status_code == 200
    assert "未指定" in page.text and 'action="/org/departments/' not in page.text
    assert "zhifa_head" in page.text  # the staff list

    client.cookies.clear()
    csrf = login_as(client, "system_admin")
    page = client.get(f"/org/departments/{ENFORCEMENT}")
    assert f'action="/org/departments/{ENFORCEMENT}/head"' in page.text
    saved = client.post(
        f"/org/departments/{ENFORCEMENT}/head",
        data={"staff": str(head.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert queries.department_head(db, _department(db, ENFORCEMENT).id) is head
    page = client.get(f"/org/departments/{ENFORCEMENT}")
    assert "zhifa_head（局长）" in page.text.replace("\n", "").replace(" ", "")

    # Someone of another department is not offered and not accepted.
    other = _staff(db, "zj_someone", HOUSING)
    wrong = client.post(
        f"/org/departments/{ENFORCEMENT}/head",
        data={"staff": str(other.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert wrong.status_code == 404
    cleared = client.post(
        f"/org/departments/{ENFORCEMENT}/head",
        data={"staff": "", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    assert queries.department_head(db, _department(db, ENFORCEMENT).id) is None


def test_a_department_outside_the_clerks_area_is_not_found(client: TestClient) -> None:
    login_as(client, "township_clerk")
    assert client.get("/org/departments/330523001-ZF").status_code == 404
    assert client.get(f"/org/departments/{ENFORCEMENT}").status_code == 200
