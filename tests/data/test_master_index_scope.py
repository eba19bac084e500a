"""The master index is read within the reader's region: an entity shows to a data officer
whose grant covers at least one of its rows (the row's resolved region, else its provider
department's); any other entity is not found, on the list and on its page."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.crypto import get_provider
from gongzhi.data import master_index as mi
from gongzhi.data.master_index_demo import seed_linkage_datasets
from gongzhi.data.master_index_models import KIND_PERSON, MasterEntity, MasterLink
from gongzhi.data.models import Dataset, DatasetRow
from gongzhi.data.queries import access_master_entity, list_master_entities
from gongzhi.errors import NotFound
from gongzhi.org.models import Department
from gongzhi.security.permissions import Role
from gongzhi.security.principal import Grant, Principal
from gongzhi.security.services import create_account, grant_role
from tests.data.helpers import ACTOR
from tests.security.fixtures import PERSONA_PASSWORD, csrf_from

COUNTY = "330523000000"


@pytest.fixture
def regions_of(db: Session, settings, tmp_path: Path) -> dict[int, set[str]]:  # type: ignore[no-untyped-def]
    """Build the persons' index over the demo datasets; each entity's townships."""
    provider = get_provider(settings)
    seed = seed_linkage_datasets(
        db, provider=provider, actor=ACTOR, persons=200, truth_path=tmp_path / "truth.json"
    )
    datasets = list(db.scalars(select(Dataset).where(Dataset.code.in_(seed.datasets))))
    mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5)
    db.flush()
    out: dict[int, set[str]] = defaultdict(set)
    rows = db.execute(
        select(MasterLink.entity_id, func.coalesce(DatasetRow.region_code, Department.region_code))
        .join(DatasetRow, DatasetRow.id == MasterLink.row_id)
        .join(Dataset, Dataset.id == MasterLink.dataset_id)
        .join(Department, Department.id == Dataset.department_id)
    )
    for entity_id, region in rows:
        out[entity_id].add(region[:9] + "000")
    return out


def sign_in_officer(db: Session, client: TestClient, region: str) -> None:
    """Sign ``client`` in as a new data officer whose grant covers ``region`` only."""
    account = create_account(
        db,
        username="township_data",
        display_name="乡镇数据员",
        kind="staff",
        password=PERSONA_PASSWORD,
        actor=ACTOR,
    )
    grant_role(db, account, role=Role.DATA_OFFICER, region_code=region, actor=ACTOR)
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={
            "username": "township_data",
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303


def _officer(region: str) -> Principal:
    return Principal(
        account_id=0,
        username="officer",
        display_name="officer",
        kind="staff",
        grants=(Grant(Role.DATA_OFFICER, region),),
    )


def test_a_township_officer_sees_the_entities_with_a_row_in_the_township(
    db: Session, regions_of: dict[int, set[str]]
) -> None:
    everything = list_master_entities(db, _officer(COUNTY), kind=KIND_PERSON, limit=100000)
    assert everything.total == len(regions_of) > 0
    assert sum(everything.by_datasets.values()) == everything.total

    counts: dict[str, int] = defaultdict(int)
    for townships in regions_of.values():
        for township in townships:
            counts[township] += 1
    township = max((t for t in counts if t != COUNTY), key=counts.__getitem__)
    scoped = list_master_entities(db, _officer(township), kind=KIND_PERSON, limit=100000)
    expected = {e for e, townships in regions_of.items() if township in townships}
    assert {e.id for e in scoped.entities} == expected
    assert 0 < scoped.total < everything.total
    assert sum(scoped.by_datasets.values()) == scoped.total

    inside = next(iter(expected))
    assert access_master_entity(db, _officer(township), inside).id == inside
    outside = next(e for e in regions_of if e not in expected)
    with pytest.raises(NotFound):
        access_master_entity(db, _officer(township), outside)
    with pytest.raises(NotFound):  # a grant without the permission sees nothing
        access_master_entity(
            db,
            Principal(0, "h", "h", "staff", (Grant(Role.DEPARTMENT_HANDLER, COUNTY),)),
            inside,
        )


def test_the_pages_answer_404_outside_the_officers_township(
    db: Session, regions_of: dict[int, set[str]], client: TestClient
) -> None:
    township = next(t for ts in regions_of.values() for t in sorted(ts) if t != COUNTY)
    inside = next(e for e, ts in regions_of.items() if township in ts)
    outside = next(e for e, ts in regions_of.items() if township not in ts)
    sign_in_officer(db, client, township)
    listing = client.get("/data/master-index", params={"min_datasets": 1})
    assert listing.status_code == 200
    assert client.get(f"/data/master-index/entities/{inside}").status_code == 200
    assert client.get(f"/data/master-index/entities/{outside}").status_code == 404
    assert db.get(MasterEntity, outside) is not None
