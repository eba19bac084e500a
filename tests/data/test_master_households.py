"""Households of the master index: derived from the household registry's household numbers
on hand-made data (twins, a listed person without a registry row, two registries, a deceased
member, a stopped support), written with the persons in the build's transaction, read by the
findings rule, and shown on the pages within the reader's region."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.crypto import get_provider
from gongzhi.data import households as hh
from gongzhi.data import master_index as mi
from gongzhi.data.findings import household_fingerprints
from gongzhi.data.findings_models import Finding, FindingKind
from gongzhi.data.master_index_demo import seed_linkage_datasets
from gongzhi.data.master_index_models import (
    KIND_PERSON,
    MasterEntity,
    MasterHousehold,
    MasterHouseholdMember,
    MasterIndexBuild,
    MasterLink,
)
from gongzhi.data.models import Dataset, DatasetRow
from gongzhi.data.queries import (
    access_master_household,
    list_master_households,
    row_values,
)
from gongzhi.data.sharing.delivery import mask_for
from gongzhi.errors import NotFound
from gongzhi.security.permissions import Role
from gongzhi.security.principal import Grant, Principal
from tests.data import test_findings as tf
from tests.data.helpers import ACTOR, VILLAGE
from tests.data.test_master_index_scope import sign_in_officer
from tests.security.fixtures import login_as

COUNTY = "330523000000"


@pytest.fixture
def hub(db: Session, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tf.Hub:
    # A second household registry (another police station's), catalogued as "reg2".
    monkeypatch.setitem(tf.STANDARDS, "reg2", "household_registry")
    return tf.Hub(db, settings, tmp_path)


def _households(db: Session) -> dict[tuple[str, str], MasterHousehold]:
    codes: dict[int, str] = dict(db.execute(select(Dataset.id, Dataset.code)).all())
    return {
        (codes[h.dataset_id], h.household_number): h for h in db.scalars(select(MasterHousehold))
    }


def _members(db: Session, household: MasterHousehold) -> dict[str, bool]:
    """record key (dataset code : line) of the member's registry row → deceased"""
    rows = db.execute(
        select(MasterLink.record_key, MasterHouseholdMember.deceased)
        .join(MasterLink, MasterLink.id == MasterHouseholdMember.link_id)
        .where(MasterHouseholdMember.household_id == household.id)
    )
    return {key: deceased for key, deceased in rows}


def _entity(db: Session, record_key: str) -> int:
    entity = db.scalar(select(MasterLink.entity_id).where(MasterLink.record_key == record_key))
    assert entity is not None
    return entity


# -- derivation on hand-made data ---------------------------------------------------------


def test_twins_are_two_members_of_one_household(hub: tf.Hub, db: Session) -> None:
    # Twins: the same name and birth date, two valid ID numbers, one household number.
    hub.load(
        "reg",
        [
            tf.registry(1, household="H0000001"),
            tf.registry(3, household="H0000001", head=False),
            tf.registry(5, household="H0000001", head=False),
        ],
    )
    hub.load("db", [tf.low_income(1)])
    hub.load("fp", [tf.poverty(9)])  # someone else's row, unlinked to the registry
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)])
    found = _households(db)
    # The poverty list's person has no registry row: no household of their own.
    assert list(found) == [("f-reg", "H0000001")]
    household = found[("f-reg", "H0000001")]
    assert household.member_count == 3 and household.deceased_count == 0
    assert _members(db, household) == {"f-reg:2": False, "f-reg:3": False, "f-reg:4": False}
    assert household.head_entity_id == _entity(db, "f-reg:2")
    assert household.region_code == VILLAGE
    assert household.on_low_income and not household.on_poverty
    # The findings rule reads the same household: on 低保 only, about its head.
    (finding,) = tf._of(hub.run(), FindingKind.ELIGIBLE_MISSING)
    assert finding.fingerprint in household_fingerprints("f-reg", "H0000001")
    assert finding.subject_entity_id == household.head_entity_id
    assert "3 人" in finding.explanation


def test_two_registries_keep_their_numbers_apart(hub: tf.Hub, db: Session) -> None:
    # The same household number in two registries is two households; a person registered
    # in both (a move not yet cancelled) belongs to the household of the first registry row.
    hub.load(
        "reg",
        [tf.registry(1, household="H0000001"), tf.registry(3, household="H0000001", head=False)],
    )
    hub.load(
        "reg2",
        [
            tf.registry(5, household="H0000001"),
            tf.registry(3, household="H0000009", head=True),
        ],
    )
    hub.link(KIND_PERSON, [("reg", 2), ("reg2", 2)])
    found = _households(db)
    assert set(found) == {("f-reg", "H0000001"), ("f-reg2", "H0000001")}
    assert _members(db, found[("f-reg", "H0000001")]) == {"f-reg:2": False, "f-reg:3": False}
    assert _members(db, found[("f-reg2", "H0000001")]) == {"f-reg2:2": False}
    # Person 3 is one member, once.
    person = _entity(db, "f-reg:3")
    assert _entity(db, "f-reg2:3") == person
    assert (
        db.scalar(
            select(func.count())
            .select_from(MasterHouseholdMember)
            .where(MasterHouseholdMember.entity_id == person)
        )
        == 1
    )


def test_a_deceased_member_is_kept_but_counts_for_nothing(hub: tf.Hub, db: Session) -> None:
    hub.load(
        "reg",
        [
            tf.registry(1, household="H0000001", status="死亡"),
            tf.registry(3, household="H0000001", head=False),
            tf.registry(5, household="H0000002", status="死亡"),
        ],
    )
    stopped = tf.low_income(3)
    stopped["保障状态"] = "停保"
    hub.load("db", [tf.low_income(1), stopped, tf.low_income(5)])
    hub.load("fp", [tf.poverty(1)])
    hub.link(
        KIND_PERSON,
        [("reg", 1), ("db", 1), ("fp", 1)],
        [("reg", 2), ("db", 2)],
        [("reg", 3), ("db", 3)],
    )
    found = _households(db)
    first = found[("f-reg", "H0000001")]
    assert _members(db, first) == {"f-reg:2": True, "f-reg:3": False}
    assert (first.member_count, first.deceased_count) == (1, 1)
    # The dead head's listings are theirs (deceased on a list); the spouse's support stopped.
    assert not first.on_low_income and not first.on_poverty
    assert first.head_entity_id is None  # no living member is registered as the head
    alone = found[("f-reg", "H0000002")]
    assert (alone.member_count, alone.deceased_count, alone.head_entity_id) == (0, 1, None)
    assert alone.region_code == VILLAGE
    findings = hub.run()
    assert tf._of(findings, FindingKind.ELIGIBLE_MISSING) == []
    assert len(tf._of(findings, FindingKind.DECEASED_ON_LIST)) == 2


def test_the_derivation_is_the_rules_household(hub: tf.Hub, db: Session) -> None:
    """The households the rule sees are the stored ones: a household split by the registry
    (one member's number changed) is two households and two findings."""
    hub.load(
        "reg",
        [tf.registry(1, household="H0000001"), tf.registry(3, household="H0000001", head=False)],
    )
    hub.load("db", [tf.low_income(1)])
    hub.load("fp", [tf.poverty(3)])
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)], [("reg", 2), ("fp", 1)])
    assert tf._of(hub.run(), FindingKind.ELIGIBLE_MISSING) == []
    hub.load(
        "reg",
        [tf.registry(1, household="H0000001"), tf.registry(3, household="H0000002")],
    )
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)], [("reg", 2), ("fp", 1)])
    found = {f.fingerprint for f in tf._of(hub.run(), FindingKind.ELIGIBLE_MISSING)}
    assert len(found) == 2
    assert len(found & set(household_fingerprints("f-reg", "H0000001"))) == 1
    assert len(found & set(household_fingerprints("f-reg", "H0000002"))) == 1
    assert {h.household_number for h in _households(db).values()} == {"H0000001", "H0000002"}


# -- the build ----------------------------------------------------------------------------


@pytest.fixture
def county(db: Session, settings: Any, tmp_path: Path) -> Iterator[tuple[list[Dataset], Any]]:
    provider = get_provider(settings)
    seed = seed_linkage_datasets(
        db,
        provider=provider,
        actor=ACTOR,
        persons=300,
        seed=35,  # plants households on one list only at this size
        truth_path=tmp_path / "truth.json",
    )
    datasets = list(db.scalars(select(Dataset).where(Dataset.code.in_(seed.datasets))))
    yield datasets, provider


def _build(db: Session, datasets: list[Dataset], provider: Any, **kw: Any) -> mi.BuildResult:
    result = mi.build_master_index(
        db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5, **kw
    )
    db.flush()
    return result


def test_the_build_writes_households_with_the_persons(
    db: Session, county: tuple[list[Dataset], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets, provider = county
    first = _build(db, datasets, provider)
    households = db.scalars(select(MasterHousehold)).all()
    assert first.households == len(households) > 50
    assert {h.build_id for h in households} == {first.build_id}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "data.master_index.build"))
    assert event is not None and event.new["households"] == first.households
    # Every member is a person of the build, registered once.
    members = db.scalars(select(MasterHouseholdMember)).all()
    entities = set(
        db.scalars(select(MasterEntity.id).where(MasterEntity.build_id == first.build_id))
    )
    assert {m.entity_id for m in members} <= entities
    assert len({m.entity_id for m in members}) == len(members)
    assert sum(h.member_count + h.deceased_count for h in households) == len(members)
    # The findings rule reads them: one finding per household on exactly one list.
    one_list = [h for h in households if h.on_low_income != h.on_poverty]
    codes: dict[int, str] = dict(db.execute(select(Dataset.id, Dataset.code)).all())
    expected = {
        fp
        for h in one_list
        for fp in household_fingerprints(codes[h.dataset_id], h.household_number)
    }
    found = {
        f.fingerprint
        for f in db.scalars(
            select(Finding).where(Finding.kind == FindingKind.ELIGIBLE_MISSING.value)
        )
    }
    assert len(found) == len(one_list) > 0 and found <= expected

    # A rebuild that fails while writing the households leaves the old index whole.
    kept = {h.id for h in households}
    model = db.scalar(select(MasterIndexBuild.model).where(MasterIndexBuild.kind == KIND_PERSON))

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(hh, "write_households", broken)
    savepoint = db.begin_nested()  # stands for the edge's transaction
    with pytest.raises(RuntimeError):
        mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, model=model)
    savepoint.rollback()
    assert set(db.scalars(select(MasterHousehold.id))) == kept
    assert db.scalar(select(MasterIndexBuild.id)) == first.build_id
    monkeypatch.undo()

    # A rebuild replaces them with the persons.
    second = _build(db, datasets, provider, model=model)
    assert set(db.scalars(select(MasterHousehold.build_id))) == {second.build_id}
    assert second.households == first.households
    assert db.scalar(select(func.count()).select_from(MasterHousehold)) == second.households


# -- the pages ----------------------------------------------------------------------------


def _officer(region: str) -> Principal:
    return Principal(0, "officer", "officer", "staff", (Grant(Role.DATA_OFFICER, region),))


def test_pages_list_and_show_households_masked_in_english_too(
    db: Session, county: tuple[list[Dataset], Any], client: TestClient
) -> None:
    datasets, provider = county
    _build(db, datasets, provider)
    everything = list_master_households(db, _officer(COUNTY), limit=100000)
    assert everything.total == db.scalar(select(func.count()).select_from(MasterHousehold))
    for persona in ("leader", "department_handler"):
        login_as(client, persona)
        assert client.get("/data/master-index?kind=household").status_code == 403
        client.cookies.clear()
    login_as(client, "data_officer")
    listing = client.get("/data/master-index", params={"kind": "household"})
    assert listing.status_code == 200
    first_page = everything.households[:50]
    assert all(f'/data/master-index/households/{h.id}"' in listing.text for h in first_page)
    assert f'/data/master-index/households/{everything.households[50].id}"' not in listing.text
    assert "page=2" in listing.text
    second = client.get("/data/master-index", params={"kind": "household", "page": 2})
    assert f'/data/master-index/households/{everything.households[50].id}"' in second.text

    one_list = client.get("/data/master-index", params={"kind": "household", "one_list": "true"})
    listed = list_master_households(db, _officer(COUNTY), one_list_only=True, limit=100000)
    assert 0 < listed.total < everything.total
    assert f'/data/master-index/households/{listed.households[0].id}"' in one_list.text
    both = next(h for h in everything.households if h.on_low_income == h.on_poverty)
    assert f'/data/master-index/households/{both.id}"' not in one_list.text

    # One household on one list, with a finding about it: members masked, linked both ways.
    household = next(h for h in listed.households if h.member_count >= 2)
    page = client.get(f"/data/master-index/households/{household.id}")
    assert page.status_code == 200, page.text
    assert household.household_number in page.text
    members = db.scalars(
        select(MasterHouseholdMember).where(MasterHouseholdMember.household_id == household.id)
    ).all()
    registry = db.get(Dataset, household.dataset_id)
    assert registry is not None
    registry_fields = registry.table_schema["fields"]
    for member in members:
        assert f'/data/master-index/entities/{member.entity_id}"' in page.text
        link = db.get(MasterLink, member.link_id)
        assert link is not None
        row = db.get(DatasetRow, link.row_id)
        assert row is not None
        values = row_values(provider, link.version_id, row)
        assert values["公民身份号码"] not in page.text and values["姓名"] not in page.text
        # Masked, not left out.
        fields = {f["name"]: f for f in registry_fields}
        for name in ("公民身份号码", "姓名"):
            assert mask_for(fields[name])(values[name]) in page.text
    assert "户主" in page.text and "/data/findings/" in page.text
    entity = client.get(f"/data/master-index/entities/{members[0].entity_id}")
    assert f'/data/master-index/households/{household.id}"' in entity.text

    client.cookies.set("lang", "en")
    english = client.get(f"/data/master-index/households/{household.id}")
    assert "Household #" in english.text and "Relation to the head" in english.text
    assert "Members" in english.text
    listing_en = client.get("/data/master-index", params={"kind": "household"})
    assert "On one list only" in listing_en.text and "Households" in listing_en.text


def test_a_household_outside_the_officers_region_is_not_found(
    db: Session, county: tuple[list[Dataset], Any], client: TestClient
) -> None:
    datasets, provider = county
    _build(db, datasets, provider)
    households = db.scalars(select(MasterHousehold).order_by(MasterHousehold.id)).all()
    townships = {h.region_code[:9] + "000" for h in households if h.region_code}
    township = max(
        sorted(townships),
        key=lambda t: sum(
            1 for h in households if h.region_code and h.region_code.startswith(t[:9])
        ),
    )
    inside = [h for h in households if h.region_code and h.region_code.startswith(township[:9])]
    outside = next(h for h in households if h not in inside)
    scoped = list_master_households(db, _officer(township), limit=100000)
    assert {h.id for h in scoped.households} == {h.id for h in inside}
    assert access_master_household(db, _officer(township), inside[0].id).id == inside[0].id
    with pytest.raises(NotFound):
        access_master_household(db, _officer(township), outside.id)
    with pytest.raises(NotFound):  # a grant without the permission sees none
        access_master_household(
            db,
            Principal(0, "h", "h", "staff", (Grant(Role.DEPARTMENT_HANDLER, COUNTY),)),
            inside[0].id,
        )

    sign_in_officer(db, client, township)
    assert client.get(f"/data/master-index/households/{inside[0].id}").status_code == 200
    assert client.get(f"/data/master-index/households/{outside.id}").status_code == 404
    assert client.get("/data/master-index/households/999999999").status_code == 404
    listing = client.get("/data/master-index", params={"kind": "household"})
    assert f'/data/master-index/households/{outside.id}"' not in listing.text
