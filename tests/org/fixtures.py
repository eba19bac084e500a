"""Session-wide seed data of the org domain (committed once, before any test): the demo
organisation of 安吉县 — 12 county departments, the 15 township governments and the 71-item
responsibility list — loaded through the same service the demo command uses, plus one staff
member created through ``create_staff``."""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.db import session_scope

COUNTY = "330523000000"  # 安吉县
ZHANGWU = "330523103000"  # 鄣吴镇
ZHANGWU_GOV = "330523103-ZF"
DIPU = "330523001000"  # 递铺街道
ENFORCEMENT = "330523-ZHZF"  # 安吉县综合行政执法局
HOUSING = "330523-ZJ"  # 安吉县住房和城乡建设局
STAFF_USERNAME = "zhifa_chen"
STAFF_PASSWORD = "Anji-Staff-2026!"


@pytest.fixture(scope="session")
def seed_org(engine: Engine, seed_regions: None, seed_security: None) -> None:
    from gongzhi.org.models import Department
    from gongzhi.org.services import create_staff, load_demo_organisation
    from gongzhi.regions.models import Region
    from gongzhi.security.permissions import Role

    actor = SystemActor("test-seed")
    with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
        if db.get(Region, COUNTY) is None:
            # Without the county's regions there is nothing to hang departments on; the org
            # tests that need them fail on their own (see ``org`` in the tests).
            warnings.warn("seed_regions did not load 安吉县; no demo organisation", stacklevel=1)
            return
        load_demo_organisation(db, actor=actor)
        department = db.query(Department).filter_by(code=ENFORCEMENT).one()
        create_staff(
            db,
            username=STAFF_USERNAME,
            display_name="陈执法",
            department=department,
            roles=[(Role.DEPARTMENT_HANDLER, COUNTY)],
            password=STAFF_PASSWORD,
            title="科员",
            actor=actor,
        )
