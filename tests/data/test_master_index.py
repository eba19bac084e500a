"""The master index: the demo's department datasets imported into the hub, linked, stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.crypto import get_provider
from gongzhi.data import master_index as mi
from gongzhi.data.master_index_demo import seed_linkage_datasets
from gongzhi.data.master_index_models import (
    MasterEntity,
    MasterHousehold,
    MasterHouseholdMember,
    MasterIndexBuild,
    MasterLink,
    MasterPair,
)
from gongzhi.data.models import Dataset, DatasetRow, DatasetVersion
from gongzhi.linkage.quality import cluster_scores
from tests.data.helpers import ACTOR

PERSONS = 400


@pytest.fixture
def linkage_hub(db: Session, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    provider = get_provider(settings)
    seed = seed_linkage_datasets(
        db, provider=provider, actor=ACTOR, persons=PERSONS, truth_path=tmp_path / "truth.json"
    )
    datasets = list(db.scalars(select(Dataset).where(Dataset.code.in_(seed.datasets))))
    return seed, datasets, provider


def test_demo_datasets_are_imported_with_their_planted_errors(db: Session, linkage_hub, tmp_path):  # type: ignore[no-untyped-def]
    seed, datasets, _provider = linkage_hub
    assert len(datasets) == 4
    versions = db.scalars(select(DatasetVersion)).all()
    by_dataset = {v.dataset_id: v for v in versions}
    assert all(d.id in by_dataset for d in datasets)
    # The planted errors show in the reports: rejected rows and failed ID checks.
    assert sum(v.rows_rejected for v in by_dataset.values()) > 0
    registry = next(d for d in datasets if d.code == "ajx-hjrk")
    accuracy = by_dataset[registry.id].quality["dataset"]["accuracy"]
    assert accuracy is not None and accuracy < 1
    stored = json.loads((tmp_path / "truth.json").read_text("utf-8"))
    assert stored["rows"] == seed.truth
    assert {c["kind"] for c in stored["contradictions"]} >= {"eligible_missing_from_list"}


def test_build_links_persons_with_cluster_f1_above_095(db: Session, linkage_hub) -> None:  # type: ignore[no-untyped-def]
    seed, datasets, provider = linkage_hub
    result = mi.build_master_index(
        db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5
    )
    truth = {k: seed.truth[k] for k in result.cluster_of}
    scores = cluster_scores(result.cluster_of, truth)
    assert scores.f1 >= 0.95, scores
    # Every kept person row maps to exactly one entity.
    person_rows = db.scalar(
        select(func.count())
        .select_from(DatasetRow)
        .join(DatasetVersion, DatasetVersion.id == DatasetRow.version_id)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.code != "ajx-scjg-frdj")
    )
    assert db.scalar(select(func.count()).select_from(MasterLink)) == person_rows
    assert db.scalar(select(func.count(func.distinct(MasterLink.row_id)))) == person_rows
    build = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == "person"))
    assert build is not None and build.entity_count == result.entities
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "data.master_index.build"))
    assert event is not None
    # An explanation: prior, one bar per comparison, the total.
    pair = db.scalars(select(MasterPair)).first()
    assert pair is not None
    bars = mi.waterfall(build.model, pair)
    assert len(bars) == len(pair.levels) + 2
    assert all(bar["level"] for bar in bars[1:-1])


def test_a_failed_rebuild_leaves_the_previous_index(db: Session, linkage_hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _seed, datasets, provider = linkage_hub
    first = mi.build_master_index(
        db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5
    )
    build = db.scalar(select(MasterIndexBuild))
    assert build is not None
    model = build.model

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(mi, "_insert_returning_ids", broken)
    savepoint = db.begin_nested()  # stands for the edge's transaction
    with pytest.raises(RuntimeError):
        mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, model=model)
    savepoint.rollback()
    kept = db.scalar(select(MasterIndexBuild))
    assert kept is not None and kept.id == first.build_id
    assert db.scalar(select(func.count()).select_from(MasterEntity)) == first.entities

    # A successful rebuild with the saved model replaces it.
    monkeypatch.undo()
    second = mi.build_master_index(
        db, datasets=datasets, actor=ACTOR, provider=provider, model=model
    )
    builds = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "data.master_index.build")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.new["model"] for e in builds] == ["trained", "given"]  # the failed one left none
    assert db.scalar(select(func.count()).select_from(MasterIndexBuild)) == 1
    assert db.scalar(select(func.count()).select_from(MasterEntity)) == second.entities


def test_no_plaintext_id_numbers_in_the_index_tables(db: Session, linkage_hub) -> None:  # type: ignore[no-untyped-def]
    _seed, datasets, provider = linkage_hub
    mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5)
    from gongzhi.data.queries import row_values

    # Every ID number the departments sent (opened from the sealed rows).
    ids = set()
    for row in db.scalars(select(DatasetRow)):
        values = row_values(provider, row.version_id, row)
        ids |= {str(v) for k, v in values.items() if "身份" in k and v}
    assert len(ids) > 100
    tables = (MasterIndexBuild, MasterEntity, MasterLink, MasterPair)
    assert db.scalar(select(func.count()).select_from(MasterHousehold))
    for model in (*tables, MasterHousehold, MasterHouseholdMember):
        for row in db.execute(select(model.__table__)).all():
            text = json.dumps([str(v) for v in row], ensure_ascii=False)
            found = [i for i in ids if i in text]
            assert not found, (model.__tablename__, found[:3])


def test_pages_for_the_data_officer_only(db: Session, linkage_hub, client) -> None:  # type: ignore[no-untyped-def]
    from tests.security.fixtures import login_as

    _seed, datasets, provider = linkage_hub
    mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, u_max_pairs=1e5)
    db.flush()
    entity = db.scalar(
        select(MasterEntity)
        .where(MasterEntity.dataset_count >= 2)
        .order_by(MasterEntity.record_count.desc())
    )
    assert entity is not None
    for persona in ("leader", "citizen", "department_handler"):
        login_as(client, persona)
        assert client.get("/data/master-index").status_code == 403
        assert client.get(f"/data/master-index/entities/{entity.id}").status_code == 403
        client.cookies.clear()
    login_as(client, "data_officer")
    listing = client.get("/data/master-index")
    assert listing.status_code == 200
    assert f"/data/master-index/entities/{entity.id}" in listing.text
    page = client.get(f"/data/master-index/entities/{entity.id}")
    assert page.status_code == 200
    assert "<svg" in page.text and "style=" not in page.text.split("<main", 1)[-1]
    assert "身份证号" in page.text or "公民身份号码" in page.text
    # Masked: no full ID number of the entity's rows on the page.
    from gongzhi.data.queries import row_values

    for link in db.scalars(select(MasterLink).where(MasterLink.entity_id == entity.id)):
        row = db.get(DatasetRow, link.row_id)
        assert row is not None
        values = row_values(provider, link.version_id, row)
        for key, value in values.items():
            if "身份" in key and value:
                assert str(value) not in page.text


def test_cli_link_prints_the_quality_against_the_truth(
    db: Session, linkage_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from gongzhi.data import cli
    from tests.fixtures import run_cli_in_test_session

    run_cli_in_test_session(monkeypatch, cli, db)
    result = CliRunner().invoke(cli.app, ["link", "--truth", str(tmp_path / "truth.json")])
    assert result.exit_code == 0, result.output
    assert "entities" in result.output and "cluster (pairwise)" in result.output
    assert "households" in result.output
    assert db.scalar(select(func.count()).select_from(MasterIndexBuild)) == 1


def test_legal_entities_without_shared_codes_are_refused_with_a_reason(
    db: Session, linkage_hub
) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.errors import Invalid

    _seed, datasets, provider = linkage_hub
    # The register is keyed by the credit code: no code occurs twice, nothing to train on.
    with pytest.raises(Invalid) as refused:
        mi.build_master_index(db, datasets=datasets, actor=ACTOR, provider=provider, kind="entity")
    assert refused.value.code == "cannot_train"
