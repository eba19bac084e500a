"""The demo county's four department datasets, as the data hub holds them.

``gongzhi.linkage.synthetic`` writes a county's records the way each department keeps them
(with planted duplicates, typos, homophones, invalid and 15-digit IDs, stale addresses); here
they are put into the shipped Table Schemas' columns, catalogued and imported through the data
hub's own services, so the quality reports show the planted errors as the importer finds them.

The truth is written beside the database: ``<var>/demo/linkage-truth.json`` holds, per row
of the hub (``"<dataset code>:<row number>"``), the generator's entity id, and the planted
contradictions between departments (``SyntheticSet.contradictions``, subjects as entity
ids) for the findings to be checked against.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor
from gongzhi.crypto import CryptoProvider
from gongzhi.data import services
from gongzhi.data.models import Dataset
from gongzhi.data.schemas import standard_schema
from gongzhi.data.services import DatasetSpec
from gongzhi.linkage import synthetic as syn

AS_OF = date(2026, 11, 1)
# Rows the importer rejects (missing ID, missing birth date, duplicate registrations …) are
# part of the demo: they show in the quality report. A lenient ratio keeps them a report.
DEMO_MAX_REJECTED = 0.3
# Companies in the demo county: one in fifty is registered twice with different data.
DEMO_ENTITIES = 200

# dataset code, synthetic dataset, shipped schema, department, name, sharing
DEMO_LINKAGE_DATASETS = (
    ("ajx-hjrk", syn.HOUSEHOLD_REGISTRY, "household_registry", "330523-SZZX", "户籍人口信息"),
    ("ajx-mz-dbdx", syn.LOW_INCOME, "dibao_list", "330523-MZ", "最低生活保障对象名单"),
    (
        "ajx-nync-ffpjc",
        syn.POVERTY_MONITORING,
        "poverty_monitoring",
        "330523-NYNC",
        "防止返贫监测对象名单",
    ),
    ("ajx-scjg-frdj", syn.LEGAL_ENTITIES, "legal_entity", "330523-SCJG", "法人登记（含历史登记）"),
)
# The second legal-entity register (``second_register=True``): the legal-entity base data
# the county's data centre gathers from the tax and statistics offices holds every company
# too, and a company's further registration (at another office, with different data) is
# what it holds for that company. Two registers sharing credit codes are what the entity
# index is trained on, and where the findings see a company whose registrations disagree.
SECOND_REGISTER = ("ajx-frk", "330523-SZZX", "法人单位基础信息（汇集）")


@dataclass
class LinkageSeed:
    datasets: list[str]
    rows: int
    truth: dict[str, str]  # "<dataset code>:<row number>" → true entity id
    contradictions: list[dict[str, Any]]


def _sex(raw: str) -> str:
    return {"1": "男", "2": "女", "M": "男", "F": "女"}.get(raw.strip(), raw)


def _rows(
    source: str, records: list[dict[str, str]], data: syn.SyntheticSet
) -> list[dict[str, Any]]:
    persons = {p.person_id: p for p in data.persons}
    household_size: dict[int, int] = {}
    for p in data.persons:
        household_size[p.household_id] = household_size.get(p.household_id, 0) + 1
    heads: dict[int, str] = {}
    for p in data.persons:
        heads.setdefault(p.household_id, p.person_id)
    out: list[dict[str, Any]] = []
    for n, r in enumerate(records, start=1):
        if source == syn.LEGAL_ENTITIES:
            out.append(
                {
                    "统一社会信用代码": r["credit_code"],
                    "单位名称": r["name"],
                    "市场主体类型": "有限责任公司",
                    "法定代表人": r["legal_rep"],
                    "法定代表人证件号码": "",
                    "成立日期": "2015-06-01",
                    "注册资本": r["capital"],
                    "登记状态": "存续",
                    "住所": "浙江省湖州市安吉县",
                    "行政区划代码": r["region_code"],
                    "经营范围": "",
                    "核准日期": AS_OF.isoformat(),
                }
            )
            continue
        person = persons[r["true_id"]]
        village = person.village
        size = household_size[person.household_id]
        place = f"浙江省湖州市安吉县{village.township_name}{village.name}"
        if source == syn.HOUSEHOLD_REGISTRY:
            head = heads[person.household_id] == person.person_id
            out.append(
                {
                    "公民身份号码": r["id_number"],
                    "姓名": r["name"],
                    "性别": _sex(r["sex"]),
                    "出生日期": r["birth_date"],
                    "民族": "汉族",
                    "户号": f"H{person.household_id:08d}",
                    "与户主关系": "户主" if head else "其他",
                    "户口类别": "家庭户",
                    "户籍地址": place,
                    "户籍地行政区划代码": r["region_code"],
                    "人员状态": r["status"] or "正常",
                    "登记日期": AS_OF.isoformat(),
                }
            )
        elif source == syn.LOW_INCOME:
            out.append(
                {
                    "户主身份证号": r["id_number"],
                    "户主姓名": r["name"],
                    "低保证号": f"DB{n:08d}",
                    "保障类别": "农村低保",
                    "家庭人口数": size,
                    "保障人数": size,
                    "月保障金额": 600 * size,
                    "家庭住址": r["address"],
                    # The list names the county; the village comes from the address.
                    "行政区划代码": syn.COUNTY_CODE + "000000",
                    "联系电话": r["phone"],
                    "审批日期": "2025-03-01",
                    "保障状态": "在保",
                    "核查日期": AS_OF.isoformat(),
                }
            )
        else:
            out.append(
                {
                    "户主身份证号": r["id_number"],
                    "户主姓名": r["name"],
                    "监测对象类别": "边缘易致贫户",
                    "主要风险类型": "因病",
                    "家庭人口数": size,
                    "家庭年人均纯收入": 9000,
                    "风险是否消除": "false",
                    "识别日期": "2024-05-01",
                    "家庭住址": f"浙江省湖州市安吉县{village.township_name}",
                    "行政区划代码": r["region_code"],
                    "联系电话": r["phone"],
                    "帮扶更新日期": AS_OF.isoformat(),
                }
            )
    return out


def _split_registers(data: syn.SyntheticSet) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The generator's legal-entity records as two registers: each company's first record in
    the market regulator's register; its further records (or, for a company registered once,
    a copy of its true data) in the second register."""
    first: list[dict[str, str]] = []
    second: list[dict[str, str]] = []
    seen: set[str] = set()
    for r in data.datasets[syn.LEGAL_ENTITIES]:
        (second if r["true_id"] in seen else first).append(r)
        seen.add(r["true_id"])
    again = {r["true_id"] for r in second}
    for e in data.entities:
        if e.entity_id not in again:
            second.append(
                {
                    "record_id": f"FR-{e.entity_id}",
                    "source": syn.LEGAL_ENTITIES,
                    "name": e.name,
                    "credit_code": e.credit_code,
                    "legal_rep": e.legal_rep,
                    "region_code": e.village.code,
                    "address": "",
                    "capital": str(e.capital),
                    "true_id": e.entity_id,
                }
            )
    return first, second


def seed_linkage_datasets(
    db: Session,
    *,
    provider: CryptoProvider,
    actor: Actor,
    persons: int = 3000,
    seed: int = 5,
    entities: int | None = None,
    second_register: bool = False,
    truth_path: Path | None = None,
) -> LinkageSeed:
    """Catalogue and import the four department datasets (five with ``second_register``);
    return (and write to ``truth_path``) the truth per imported row."""
    villages = syn.villages_from_db(db) or None
    data = syn.generate(persons, seed=seed, villages=villages, n_entities=entities)
    truth: dict[str, str] = {}
    created: list[str] = []
    rows = 0
    plan = [
        (code, source, schema_name, department, name, data.datasets[source])
        for code, source, schema_name, department, name in DEMO_LINKAGE_DATASETS
    ]
    if second_register:
        first, second = _split_registers(data)
        plan[-1] = (*plan[-1][:5], first)
        code, department, name = SECOND_REGISTER
        plan.append((code, syn.LEGAL_ENTITIES, "legal_entity", department, name, second))
    with tempfile.TemporaryDirectory(prefix="gongzhi-linkage-demo-") as folder:
        for code, source, schema_name, department, name, records in plan:
            if db.scalar(select(Dataset.id).where(Dataset.code == code)) is not None:
                continue
            descriptor = standard_schema(schema_name)
            dataset = services.create_dataset(
                db,
                DatasetSpec(
                    code=code,
                    name=name,
                    department_code=department,
                    resource_class="base" if source == syn.HOUSEHOLD_REGISTRY else "department",
                    abstract=f"演示用合成数据（{syn.DATASET_LABELS[source]}），含人为植入的错误。",
                    sharing_type="conditional",
                    sharing_condition="用于数据比对核查",
                    update_cycle="monthly",
                    max_rejected_ratio=DEMO_MAX_REJECTED,
                    table_schema=descriptor,
                ),
                actor=actor,
            )
            header = [f["name"] for f in dataset.table_schema["fields"]]
            path = Path(folder) / f"{code}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(_rows(source, records, data))
            outcome = services.import_file(
                db, dataset, path, provider=provider, actor=actor, as_of=AS_OF
            )
            # The header is line 1: the n-th record is row number n + 1.
            for n, r in enumerate(records, start=2):
                truth[f"{code}:{n}"] = r["true_id"]
            created.append(code)
            rows += outcome.version.row_count
    seeded = LinkageSeed(created, rows, truth, data.contradictions)
    if truth_path is not None:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.write_text(
            json.dumps(
                {"rows": truth, "contradictions": data.contradictions},
                ensure_ascii=False,
            ),
            "utf-8",
        )
    return seeded


def demo_truth_path(settings: Any) -> Path:
    """Where the demo keeps its linkage truth: beside the uploads, under ``var/demo``."""
    return Path(settings.upload_dir).parent / "demo" / "linkage-truth.json"


def seed_demo_linkage(db: Session, settings: Any, *, actor: Actor) -> LinkageSeed:
    """``gongzhi demo``'s step: the department datasets and their truth file, the persons'
    and the legal entities' master index, and the findings over them."""
    from sqlalchemy import select as _select

    from gongzhi.crypto import get_provider
    from gongzhi.data.master_index import build_master_index
    from gongzhi.data.master_index_models import KIND_ENTITY, KIND_PERSON

    provider = get_provider(settings)
    seeded = seed_linkage_datasets(
        db,
        provider=provider,
        actor=actor,
        entities=DEMO_ENTITIES,
        second_register=True,
        truth_path=demo_truth_path(settings),
    )
    # The master index, so the pages and the findings have one to start from (a few
    # seconds for the demo's 3,000 persons); ``gongzhi data link`` rebuilds it. Each build
    # runs the findings over the current builds when it finishes (``run_findings``), so
    # after the second the findings page shows the planted contradictions of every kind.
    datasets = list(db.scalars(_select(Dataset).where(Dataset.code.in_(seeded.datasets))))
    if datasets:
        build_master_index(db, datasets=datasets, actor=actor, provider=provider, kind=KIND_PERSON)
        build_master_index(db, datasets=datasets, actor=actor, provider=provider, kind=KIND_ENTITY)
    return seeded
