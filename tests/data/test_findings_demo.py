"""The demo's findings page shows the demo county's planted contradictions; the demo's
master index has the households the findings rule reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.data.findings_models import Finding, FindingKind
from gongzhi.data.master_index_demo import demo_truth_path
from gongzhi.data.master_index_models import MasterHousehold, MasterHouseholdMember
from gongzhi.data.models import Dataset, DatasetRow, DatasetVersion
from gongzhi.db import make_engine
from gongzhi.demo import DEMO_PASSWORD, build_demo, reset_database
from gongzhi.security.models import Account, RoleGrant
from gongzhi.security.permissions import Role


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if "GONGZHI_TEST_DATABASE_URL" in __import__("os").environ:
        pytest.skip("the demo is built on the embedded SQLite default")
    folder = Path(tmp_path_factory.mktemp("demo"))
    settings = Settings(  # type: ignore[call-arg]
        env="demo",
        database_url=f"sqlite:///{folder / 'demo.db'}",
        upload_dir=str(folder / "uploads"),
        _env_file=None,
    )
    reset_database(settings)
    build_demo(settings, full_china=False)
    return settings


def test_the_planted_contradictions_are_on_the_findings_page(demo) -> None:  # type: ignore[no-untyped-def]
    settings = demo
    truth = json.loads(demo_truth_path(settings).read_text("utf-8"))
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        key_of = {
            row_id: f"{code}:{number}"
            for row_id, code, number in db.execute(
                select(DatasetRow.id, Dataset.code, DatasetRow.row_number)
                .join(DatasetVersion, DatasetVersion.id == DatasetRow.version_id)
                .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
            )
        }
        findings = db.scalars(select(Finding)).all()
        about = [
            (f.kind, {truth["rows"].get(key_of.get(r["row_id"], ""), "") for r in f.rows}, f)
            for f in findings
        ]
        # Every kind is planted and found; each found planted contradiction's finding is
        # listed on the data officer's page.
        shown: list[Finding] = []
        missed = []
        for planted in truth["contradictions"]:
            match = next(
                (
                    f
                    for kind, s, f in about
                    if kind == planted["kind"] and s & set(planted["subject"])
                ),
                None,
            )
            if match is None:
                missed.append(planted)
            else:
                shown.append(match)
        assert {c["kind"] for c in truth["contradictions"]} == {k.value for k in FindingKind}
        assert len(missed) <= 0.1 * len(truth["contradictions"]), missed
        officer = db.scalar(
            select(Account.username)
            .join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.role == Role.DATA_OFFICER.value)
        )
    engine.dispose()
    assert officer is not None
    with TestClient(create_app(settings)) as client:
        _sign_in(client, officer)
        listing = client.get("/data/findings?status=")
        assert listing.status_code == 200
        pages = [listing.text]
        page = 2
        while f"page={page}" in pages[-1]:
            pages.append(client.get(f"/data/findings?status=&page={page}").text)
            page += 1
        text = "".join(pages)
        for finding in shown:
            assert finding.number in text
        detail = client.get(f"/data/findings/{shown[0].id}")
        assert detail.status_code == 200 and shown[0].explanation.split(" / ")[0] in detail.text


def test_the_demo_builds_households_with_the_persons(demo) -> None:  # type: ignore[no-untyped-def]
    """``gongzhi demo`` builds the households with the persons, the findings rule reads them
    (one finding per household on one list only), and the data officer finds those
    households on the page."""
    settings = demo
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        households = db.scalars(select(MasterHousehold)).all()
        assert len(households) > 500
        members = db.scalar(select(func.count()).select_from(MasterHouseholdMember)) or 0
        assert members == sum(h.member_count + h.deceased_count for h in households) > 2000
        one_list = [h.id for h in households if h.on_low_income != h.on_poverty]
        eligible = db.scalars(
            select(Finding).where(Finding.kind == FindingKind.ELIGIBLE_MISSING.value)
        ).all()
        assert len(eligible) == len(one_list) > 0
        officer = db.scalar(
            select(Account.username)
            .join(RoleGrant, RoleGrant.account_id == Account.id)
            .where(RoleGrant.role == Role.DATA_OFFICER.value)
        )
    engine.dispose()
    assert officer is not None
    with TestClient(create_app(settings)) as client:
        _sign_in(client, officer)
        listing = client.get("/data/master-index?kind=household&one_list=true")
        assert listing.status_code == 200
        for household_id in one_list:
            assert f'/data/master-index/households/{household_id}"' in listing.text
        page = client.get(f"/data/master-index/households/{one_list[0]}")
        assert page.status_code == 200 and "/data/findings/" in page.text


def _sign_in(client: TestClient, username: str) -> None:
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
