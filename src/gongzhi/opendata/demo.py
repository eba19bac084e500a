"""Open datasets for the demo county, created through the data hub's own services (a
catalogue entry, then an import that makes version 1), so ``ckanapi`` and the portal have
something real to list, search and read.

Three are open to everyone — legal entities (市场监管局), public toilets (综合执法局) and
reservoirs (水利局) — and one is conditionally open (elderly-care beds, 民政局). Each mixes
public fields with internal and personal ones, which the open-data side must leave out.
Rows are synthetic and reproducible (a fixed random seed).
"""

from __future__ import annotations

import copy
import csv
import random
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from gongzhi.audit.services import Actor
from gongzhi.crypto import CryptoProvider
from gongzhi.data import services
from gongzhi.data.models import Dataset
from gongzhi.data.schemas import standard_schema
from gongzhi.data.services import DatasetSpec
from gongzhi.regions.models import Region

COUNTY = "330523"
AS_OF = date(2026, 11, 1)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ["建国", "秀英", "志强", "丽华", "海峰", "晓燕", "伟", "敏", "军", "静", "国平", "美玲"]
_FIRM_WORDS = ["竹", "茶", "绿谷", "青山", "白茶", "竹乡", "溪", "云", "天荒坪", "安吉"]
_FIRM_TRADES = [
    ("竹木制品", "有限责任公司", "竹制品、木制品加工销售"),
    ("白茶", "农民专业合作社", "茶叶种植、加工、销售"),
    ("椅业", "有限责任公司", "办公椅、家具制造"),
    ("民宿", "个体工商户", "住宿服务；餐饮服务"),
    ("旅游开发", "股份有限公司", "旅游景区开发、管理"),
    ("电子商务", "有限责任公司", "互联网销售；农产品销售"),
    ("家庭农场", "个人独资企业", "水果、蔬菜种植"),
    ("建材", "合伙企业", "建筑材料销售"),
]


@dataclass
class SeedResult:
    datasets: list[str]
    rows: int


def _townships(db: Session) -> list[Region]:
    county = db.scalar(
        select(Region).where(Region.code == f"{COUNTY}000000")
    )  # regions are seeded before the data hub
    if county is None:
        return []
    return list(
        db.scalars(select(Region).where(Region.parent_code == county.code).order_by(Region.code))
    )


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _uscc(rng: random.Random, serial: int) -> str:
    # 9 (企业) + 1/2/3 (type) + 6-digit region + 9-character organisation code + check.
    kind = rng.choice("123")
    org = f"{rng.randrange(10**8):08d}{rng.choice('0123456789ABCDEFGHJKLMNPQRTUWXY')}"
    body = f"9{kind}{COUNTY}{org[:7]}{serial % 100:02d}"[:17]
    return body + uscc.calc_check_digit(body)


def _write_csv(folder: Path, name: str, header: list[str], rows: list[list[Any]]) -> Path:
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as fp:
        writer = csv.writer(fp)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _legal_entities(rng: random.Random, towns: list[Region], n: int) -> list[list[Any]]:
    rows = []
    seen: set[str] = set()
    for i in range(n):
        code = _uscc(rng, i)
        while code in seen:
            code = _uscc(rng, i)
        seen.add(code)
        town = towns[i % len(towns)]
        word = rng.choice(_FIRM_WORDS)
        trade, form, scope = rng.choice(_FIRM_TRADES)
        if form == "个体工商户":
            name = f"安吉县{town.short_name}{word}{trade}店"
        elif form == "农民专业合作社":
            name = f"安吉县{town.short_name}{word}{trade}专业合作社"
        else:
            name = f"安吉{word}{trade}{'有限公司' if '有限' in form else '企业'}"
        founded = date(rng.randrange(2000, 2026), rng.randrange(1, 13), rng.randrange(1, 29))
        rows.append(
            [
                code,
                name,
                form,
                _person(rng),
                "",  # the representative's ID number is not filled in the demo
                founded.isoformat(),
                rng.choice([10, 50, 100, 200, 500, 1000, 3000]),
                rng.choice(["存续", "存续", "存续", "在业", "注销"]),
                f"浙江省湖州市安吉县{town.name}{rng.randrange(1, 300)}号",
                town.code,
                scope,
                AS_OF.isoformat(),
            ]
        )
    return rows


TOILET_SCHEMA: dict[str, Any] = {
    "name": "public_toilets",
    "title": "公共厕所分布",
    "keywords": ["公共设施", "公厕", "便民"],
    "fields": [
        {"name": "编号", "type": "string", "classification": "public",
         "constraints": {"required": True, "pattern": "GC[0-9]{4}"}},
        {"name": "名称", "type": "string", "classification": "public",
         "constraints": {"required": True}},
        {"name": "所在乡镇", "type": "string", "classification": "public",
         "constraints": {"required": True}},
        {"name": "位置", "type": "string", "classification": "public"},
        {"name": "经度", "type": "number", "classification": "public",
         "constraints": {"minimum": 119, "maximum": 120}},
        {"name": "纬度", "type": "number", "classification": "public",
         "constraints": {"minimum": 30, "maximum": 31}},
        {"name": "开放时间", "type": "string", "classification": "public"},
        {"name": "无障碍设施", "type": "boolean", "classification": "public"},
        {"name": "第三卫生间", "type": "boolean", "classification": "public"},
        {"name": "保洁责任人", "type": "string", "classification": "internal",
         "standardise": "person_name"},
        {"name": "责任人电话", "type": "string", "classification": "sensitive",
         "standardise": "phone"},
        {"name": "巡查日期", "type": "date", "classification": "internal", "role": "record_date"},
    ],
    "primaryKey": ["编号"],
}  # fmt: skip


def _toilets(rng: random.Random, towns: list[Region], n: int) -> list[list[Any]]:
    places = ["农贸市场旁", "汽车站", "游客中心", "文化礼堂", "公园东门", "老街口", "停车场"]
    rows = []
    for i in range(n):
        town = towns[i % len(towns)]
        place = rng.choice(places)
        rows.append(
            [
                f"GC{i + 1:04d}",
                f"{town.short_name}{place}公厕",
                town.name,
                f"{town.name}{place}",
                round(119.45 + rng.random() * 0.4, 5),
                round(30.45 + rng.random() * 0.3, 5),
                rng.choice(["全天", "6:00-22:00", "5:30-21:30"]),
                rng.choice(["是", "是", "否"]),
                rng.choice(["是", "否", "否"]),
                _person(rng),
                f"139{rng.randrange(10**8):08d}",
                AS_OF.isoformat(),
            ]
        )
    return rows


RESERVOIR_SCHEMA: dict[str, Any] = {
    "name": "reservoirs",
    "title": "水库基本信息",
    "keywords": ["水利", "水库", "防汛"],
    "fields": [
        {"name": "水库编码", "type": "string", "classification": "public",
         "constraints": {"required": True}},
        {"name": "水库名称", "type": "string", "classification": "public",
         "constraints": {"required": True}},
        {"name": "所在乡镇", "type": "string", "classification": "public"},
        {"name": "规模", "type": "string", "classification": "public",
         "constraints": {"enum": ["大型", "中型", "小(1)型", "小(2)型"]}},
        {"name": "总库容", "title": "总库容（万立方米）", "type": "number",
         "classification": "public", "constraints": {"minimum": 0}},
        {"name": "坝高", "title": "坝高（米）", "type": "number", "classification": "public"},
        {"name": "主要功能", "type": "string", "classification": "public"},
        {"name": "建成年份", "type": "year", "classification": "public"},
        {"name": "安全鉴定结论", "type": "string", "classification": "internal"},
        {"name": "防汛责任人", "type": "string", "classification": "internal",
         "standardise": "person_name"},
    ],
    "primaryKey": ["水库编码"],
}  # fmt: skip


def _reservoirs(rng: random.Random, towns: list[Region], n: int) -> list[list[Any]]:
    sizes = [("中型", 1000, 5000), ("小(1)型", 100, 1000), ("小(2)型", 10, 100)]
    rows = []
    for i in range(n):
        town = towns[i % len(towns)]
        size, low, high = sizes[0] if i < 2 else rng.choice(sizes[1:])
        rows.append(
            [
                f"{COUNTY}SK{i + 1:03d}",
                f"{town.short_name}{rng.choice(['龙潭', '石门', '大坑', '竹坞', '凤凰'])}水库",
                town.name,
                size,
                round(rng.uniform(low, high), 1),
                round(rng.uniform(8, 60), 1),
                rng.choice(["灌溉", "防洪、灌溉", "供水、灌溉", "防洪、发电"]),
                rng.randrange(1958, 2015),
                rng.choice(["一类坝", "二类坝", "一类坝"]),
                _person(rng),
            ]
        )
    return rows


CARE_SCHEMA: dict[str, Any] = {
    "name": "elderly_care_beds",
    "title": "养老机构床位使用情况",
    "keywords": ["养老", "民政"],
    "fields": [
        {"name": "机构编号", "type": "string", "classification": "public",
         "constraints": {"required": True}},
        {"name": "机构名称", "type": "string", "classification": "public"},
        {"name": "所在乡镇", "type": "string", "classification": "public"},
        {"name": "核定床位", "type": "integer", "classification": "public"},
        {"name": "在住人数", "type": "integer", "classification": "public"},
        {"name": "护理型床位", "type": "integer", "classification": "public"},
    ],
    "primaryKey": ["机构编号"],
}  # fmt: skip


def _care_homes(rng: random.Random, towns: list[Region], n: int) -> list[list[Any]]:
    rows = []
    for i in range(n):
        town = towns[i % len(towns)]
        beds = rng.randrange(40, 300)
        rows.append(
            [
                f"YL{i + 1:03d}",
                f"安吉县{town.short_name}颐养院",
                town.name,
                beds,
                rng.randrange(beds // 3, beds),
                rng.randrange(10, beds // 2),
            ]
        )
    return rows


def _legal_entity_schema() -> dict[str, Any]:
    descriptor = copy.deepcopy(standard_schema("legal_entity") or {})
    descriptor["keywords"] = ["企业", "市场主体", "法人单位"]
    return descriptor


def seed_open_data(
    db: Session,
    *,
    provider: CryptoProvider,
    actor: Actor,
    entities: int = 60,
    seed: int = 20261101,
) -> SeedResult:
    """Create and import the demo's open datasets (skipping any that already exist)."""
    rng = random.Random(seed)
    towns = [t for t in _townships(db) if t.short_name] or []
    if not towns:
        raise RuntimeError("the demo county's townships are not loaded")
    specs = [
        (
            DatasetSpec(
                code="ajx-scjg-frdw",
                name="法人单位基础信息",
                department_code=f"{COUNTY}-SCJG",
                resource_class="base",
                abstract="在安吉县登记的企业、农民专业合作社和个体工商户：统一社会信用代码、"
                "名称、类型、成立日期、注册资本、登记状态、住所和经营范围。",
                sharing_type="unconditional",
                open_type="open",
                update_cycle="monthly",
                release_date=date(2026, 3, 1),
                table_schema=_legal_entity_schema(),
            ),
            _legal_entities(rng, towns, entities),
        ),
        (
            DatasetSpec(
                code="ajx-zhzf-gcfb",
                name="城乡公共厕所分布",
                department_code=f"{COUNTY}-ZHZF",
                resource_class="theme",
                abstract="县城和各乡镇的公共厕所：位置、经纬度、开放时间和无障碍设施。",
                sharing_type="unconditional",
                open_type="open",
                update_cycle="quarterly",
                release_date=date(2026, 5, 20),
                table_schema=copy.deepcopy(TOILET_SCHEMA),
            ),
            _toilets(rng, towns, 36),
        ),
        (
            DatasetSpec(
                code="ajx-sl-skxx",
                name="水库基本信息",
                department_code=f"{COUNTY}-SL",
                resource_class="department",
                abstract="全县中小型水库的名称、规模、库容、坝高、主要功能和建成年份。",
                sharing_type="unconditional",
                open_type="open",
                update_cycle="yearly",
                release_date=date(2026, 4, 1),
                table_schema=copy.deepcopy(RESERVOIR_SCHEMA),
            ),
            _reservoirs(rng, towns, 24),
        ),
        (
            DatasetSpec(
                code="ajx-mz-ylcw",
                name="养老机构床位使用情况",
                department_code=f"{COUNTY}-MZ",
                resource_class="theme",
                abstract="各乡镇养老机构的核定床位、在住人数和护理型床位。",
                sharing_type="unconditional",
                open_type="conditional",
                open_condition="经申请，用于养老服务研究和规划",
                update_cycle="monthly",
                release_date=date(2026, 6, 1),
                table_schema=copy.deepcopy(CARE_SCHEMA),
            ),
            _care_homes(rng, towns, len(towns)),
        ),
    ]
    created: list[str] = []
    rows = 0
    with tempfile.TemporaryDirectory(prefix="gongzhi-opendata-") as folder:
        for spec, data in specs:
            if db.scalar(select(Dataset.id).where(Dataset.code == spec.code)) is not None:
                continue
            dataset = services.create_dataset(db, spec, actor=actor)
            header = [f["name"] for f in dataset.table_schema["fields"]]
            path = _write_csv(Path(folder), f"{spec.code}.csv", header, data)
            outcome = services.import_file(
                db, dataset, path, provider=provider, actor=actor, as_of=AS_OF
            )
            created.append(spec.code)
            rows += outcome.version.row_count
    return SeedResult(created, rows)
