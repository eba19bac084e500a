"""Session-wide seed data of the cases domain (committed once, before any test): the extra
people case handling needs beyond the security personas and org's ``zhifa_chen``, created
through the services — a second handler of the enforcement bureau (two handlers racing to
sign) and a second citizen. A handler of the 鄣吴镇 government is made per test
(``township_handler``), since org's tests expect that government to have no staff.

``login_staff(client, username)`` signs in any of these through the real pages.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.db import session_scope

STAFF_PASSWORD = "Anji-Staff-2026!"
ENFORCEMENT = "330523-ZHZF"  # 安吉县综合行政执法局
ZHANGWU_GOV = "330523103-ZF"  # 鄣吴镇人民政府
SECOND_HANDLER = "zhifa_li"
TOWNSHIP_HANDLER = "zhangwu_he"
SECOND_CITIZEN = "citizen_two"
COUNTY = "330523000000"
ZHANGWU = "330523103000"


@pytest.fixture(scope="session")
def seed_cases(engine: Engine, seed_org: None) -> None:
    from gongzhi.org.models import Department
    from gongzhi.org.services import create_staff
    from gongzhi.security.permissions import Role
    from gongzhi.security.services import create_account, grant_role

    actor = SystemActor("test-seed")
    with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
        enforcement = db.scalar(select(Department).where(Department.code == ENFORCEMENT))
        if enforcement is None:
            return  # no demo organisation (see seed_org); the cases tests fail on their own
        create_staff(
            db,
            username=SECOND_HANDLER,
            display_name="李执法",
            department=enforcement,
            roles=[(Role.DEPARTMENT_HANDLER, COUNTY)],
            password=STAFF_PASSWORD,
            actor=actor,
        )
        citizen = create_account(
            db,
            username=SECOND_CITIZEN,
            display_name="钱二",
            kind="citizen",
            password=STAFF_PASSWORD,
            actor=actor,
        )
        grant_role(db, citizen, role=Role.CITIZEN, region_code=COUNTY, actor=actor)


def login_staff(client: Any, username: str, password: str = STAFF_PASSWORD) -> str:
    """Sign in an account that is not one of the security personas; return the CSRF token."""
    from tests.security.fixtures import csrf_from, current_csrf

    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return current_csrf(client)


@pytest.fixture
def township_handler(db: Session) -> str:
    """A handler of the 鄣吴镇 government, inside the test's transaction."""
    from gongzhi.org.models import Department
    from gongzhi.org.services import create_staff
    from gongzhi.security.permissions import Role

    township = db.scalar(select(Department).where(Department.code == ZHANGWU_GOV))
    assert township is not None
    create_staff(
        db,
        username=TOWNSHIP_HANDLER,
        display_name="何镇干",
        department=township,
        roles=[(Role.DEPARTMENT_HANDLER, ZHANGWU)],
        password=STAFF_PASSWORD,
        actor=SystemActor("test"),
    )
    db.flush()
    return TOWNSHIP_HANDLER
