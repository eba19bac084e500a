"""The synthetic department datasets: deterministic, with the planted errors and truth."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy.orm import Session

from gongzhi.linkage.ids import normalise_id
from gongzhi.linkage.synthetic import (
    HOUSEHOLD_REGISTRY,
    LEGAL_ENTITIES,
    LOW_INCOME,
    PERSON_COLUMNS,
    POVERTY_MONITORING,
    generate,
    villages_from_db,
)


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = generate(300, seed=11)
    assert generate(300, seed=11).datasets == first.datasets
    assert generate(300, seed=12).datasets != first.datasets


def test_each_department_writes_its_own_conventions() -> None:
    data = generate(3000, seed=3)
    registry, low_income, poverty = (
        data.datasets[HOUSEHOLD_REGISTRY],
        data.datasets[LOW_INCOME],
        data.datasets[POVERTY_MONITORING],
    )
    assert all(set(r) == set(PERSON_COLUMNS) for r in registry + low_income + poverty)
    # Registry: village codes, YYYYMMDD, sex coded 1/2, a status.
    assert all(re.fullmatch(r"330523\d{3}[1-9]\d{2}", r["region_code"]) for r in registry)
    assert {r["sex"] for r in registry} <= {"1", "2", ""}
    assert {r["status"] for r in registry} == {"正常", "死亡"}
    # Low-income list: free-text addresses; poverty list: township codes only.
    assert all(r["address"] and not r["region_code"] for r in low_income)
    assert all(r["region_code"].endswith("000") for r in poverty)
    assert any("年" in r["birth_date"] for r in low_income)
    assert any("/" in r["birth_date"] for r in poverty)


def test_planted_errors_are_there() -> None:
    data = generate(3000, seed=3)
    by_person = {p.person_id: p for p in data.persons}
    records = data.person_records
    ids = [r["id_number"] for r in records]
    assert any(len(i) == 15 for i in ids), "first-generation numbers"
    assert any("０" in i or "１" in i for i in ids), "full-width digits"
    assert any(i == "" for i in ids), "missing ID numbers"
    invalid = [i for i in ids if len(i) == 18 and not normalise_id(i)[1]]
    assert invalid, "mistyped ID numbers"
    names_differ = [r for r in records if r["name"] != by_person[r["true_id"]].name]
    assert any(any(c in "陳劉張麗華偉" for c in r["name"]) for r in names_differ)
    assert any(" " in r["name"] for r in names_differ)
    swapped = [
        r
        for r in data.datasets[HOUSEHOLD_REGISTRY]
        if r["birth_date"]
        and r["birth_date"] != f"{by_person[r['true_id']].birth:%Y%m%d}"
        and r["birth_date"].isdigit()
    ]
    assert swapped, "day and month swapped"
    per_source = Counter((r["source"], r["true_id"]) for r in records)
    assert max(per_source.values()) >= 2, "duplicates within a dataset"


def test_truth_and_planted_contradictions() -> None:
    data = generate(3000, seed=3)
    kinds = Counter(c["kind"] for c in data.contradictions)
    assert set(kinds) == {
        "eligible_missing_from_list",
        "deceased_on_list",
        "two_addresses",
        "entity_conflicting_registration",
    }
    # A deceased person: registered deceased, still on the low-income list.
    deceased = next(c for c in data.contradictions if c["kind"] == "deceased_on_list")
    person_id = deceased["subject"][0]
    registry = [r for r in data.datasets[HOUSEHOLD_REGISTRY] if r["true_id"] == person_id]
    assert registry and all(r["status"] == "死亡" for r in registry)
    assert any(r["true_id"] == person_id for r in data.datasets[LOW_INCOME])
    # Eligible on one list, missing from the other.
    missing = next(c for c in data.contradictions if c["kind"] == "eligible_missing_from_list")
    on, off = missing["datasets"]
    assert {r["true_id"] for r in data.datasets[on]} >= set(missing["subject"])
    assert not {r["true_id"] for r in data.datasets[off]} & set(missing["subject"])
    # A company registered twice with different data.
    conflict = next(
        c for c in data.contradictions if c["kind"] == "entity_conflicting_registration"
    )
    rows = [r for r in data.datasets[LEGAL_ENTITIES] if r["true_id"] == conflict["subject"][0]]
    assert len(rows) >= 2 and len({r["capital"] for r in rows}) >= 2


def test_twins_have_consecutive_valid_ids() -> None:
    data = generate(2000, seed=4, twin_rate=0.5)
    by_stem = Counter((p.household_id, p.id18[:14]) for p in data.persons)
    twins = [key for key, n in by_stem.items() if n >= 2]
    assert len(twins) > 50
    assert all(normalise_id(p.id18)[1] for p in data.persons)


def test_villages_come_from_the_regions_table(db: Session) -> None:
    villages = villages_from_db(db)
    assert len(villages) == 218  # 安吉县 in the seeded regions
    assert all(v.code.startswith("330523") and v.township_code[:9] == v.code[:9] for v in villages)
    data = generate(200, seed=1, villages=villages)
    codes = {v.code for v in villages}
    assert all(r["region_code"] in codes for r in data.datasets[HOUSEHOLD_REGISTRY])
