"""Findings on small hand-made department datasets: each rule with the case it must find and
the cases it must not, the fingerprint across rebuilds, the decisions and their audit events,
and the pages for the data officer only.

The master index is written by hand here (which rows are one person), so that each rule is
tested on exactly the linkage it is given; the linkage itself is tested in
test_master_index.py and the rules on the linked synthetic county in
test_findings_synthetic.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases.models import Case
from gongzhi.data import findings_services as decisions
from gongzhi.data import master_index as mi
from gongzhi.data.findings import run_findings, significant
from gongzhi.data.findings_models import Finding, FindingKind, FindingStatus
from gongzhi.data.households import write_households
from gongzhi.data.master_index_models import (
    KIND_ENTITY,
    KIND_PERSON,
    MasterEntity,
    MasterIndexBuild,
    MasterLink,
)
from gongzhi.data.models import Dataset, DatasetRow, DatasetVersion
from gongzhi.data.queries import current_versions
from gongzhi.errors import Conflict, Invalid
from tests.data.helpers import ACTOR, VILLAGE, csv_bytes, id_number, import_bytes, make_dataset
from tests.data.sharing_helpers import principal
from tests.security.fixtures import csrf_from, login_as

TOWNSHIP = VILLAGE[:9] + "000"  # 鄣吴镇
ADDRESS = "安吉县鄣吴镇玉华村12号"
OTHER_VILLAGE = "330523110216"  # 三山村 (梅溪镇)
OTHER_ADDRESS = "安吉县梅溪镇三山村5号"


def _header(standard: str) -> list[str]:
    from gongzhi.data.schemas import standard_schema

    return [f["name"] for f in standard_schema(standard)["fields"]]


def registry(
    serial: int,
    *,
    household: str = "H0000001",
    head: bool = True,
    status: str = "正常",
    region: str = VILLAGE,
    address: str = ADDRESS,
) -> dict[str, str]:
    return {
        "公民身份号码": id_number("330523", "19800101", serial),
        "姓名": "张伟",
        "性别": "男" if serial % 2 else "女",
        "出生日期": "1980-01-01",
        "民族": "汉族",
        "户号": household,
        "与户主关系": "户主" if head else "配偶",
        "户口类别": "家庭户",
        "户籍地址": address,
        "户籍地行政区划代码": region,
        "人员状态": status,
        "登记日期": "2026-11-01",
    }


def low_income(serial: int, *, address: str = ADDRESS) -> dict[str, str]:
    return {
        "户主身份证号": id_number("330523", "19800101", serial),
        "户主姓名": "张伟",
        "低保证号": f"DB{serial:08d}",
        "保障类别": "农村低保",
        "家庭人口数": "2",
        "保障人数": "2",
        "月保障金额": "1200",
        "家庭住址": address,
        "行政区划代码": "330523000000",
        "联系电话": "",
        "审批日期": "2025-03-01",
        "保障状态": "在保",
        "核查日期": "2026-11-01",
    }


def poverty(serial: int, *, region: str = TOWNSHIP) -> dict[str, str]:
    return {
        "户主身份证号": id_number("330523", "19800101", serial),
        "户主姓名": "张伟",
        "监测对象类别": "边缘易致贫户",
        "主要风险类型": "因病",
        "家庭人口数": "2",
        "家庭年人均纯收入": "9000",
        "风险是否消除": "false",
        "识别日期": "2024-05-01",
        "家庭住址": "安吉县鄣吴镇",
        "行政区划代码": region,
        "联系电话": "",
        "帮扶更新日期": "2026-11-01",
    }


def company(code: str, *, rep: str = "王丽", capital: str = "100", region: str = VILLAGE) -> dict:
    return {
        "统一社会信用代码": code,
        "单位名称": "安吉县竹海白茶有限公司",
        "市场主体类型": "有限责任公司",
        "法定代表人": rep,
        "法定代表人证件号码": "",
        "成立日期": "2015-06-01",
        "注册资本": capital,
        "登记状态": "存续",
        "住所": "浙江省湖州市安吉县",
        "行政区划代码": region,
        "经营范围": "",
        "核准日期": "2026-11-01",
    }


def _uscc(body: str = "MA2B3C4D5") -> str:
    from gongzhi.linkage.ids import uscc_check_char

    first17 = "91330523" + body
    return first17 + uscc_check_char(first17)


STANDARDS = {
    "reg": "household_registry",
    "db": "dibao_list",
    "fp": "poverty_monitoring",
    "sc": "legal_entity",
    "fr": "legal_entity",
}


class Hub:
    """Small department datasets and a master index written by hand."""

    def __init__(self, db: Session, settings: Any, tmp_path: Path) -> None:
        self.db, self.settings, self.tmp_path = db, settings, tmp_path
        self.datasets: dict[str, Dataset] = {}
        self.files = 0

    def load(self, code: str, rows: list[dict[str, str]]) -> None:
        """A new version of dataset ``code`` (catalogued on first use) with ``rows``."""
        dataset = self.datasets.get(code)
        if dataset is None:
            dataset = make_dataset(self.db, code=f"f-{code}", standard=STANDARDS[code])
            self.datasets[code] = dataset
        self.files += 1
        outcome = import_bytes(
            self.db,
            self.settings,
            dataset,
            self.tmp_path,
            csv_bytes(rows, _header(STANDARDS[code])),
            name=f"{code}-{self.files}.csv",
        )
        assert outcome.version.rows_rejected == 0, outcome.quality

    def link(self, kind: str, *same: list[tuple[str, int]]) -> MasterIndexBuild:
        """Replace the index of ``kind``: the rows in each group of ``same`` (dataset, n-th
        data row) are one entity, every other row of the kind's datasets its own."""
        db = self.db
        old = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == kind))
        if old is not None:
            mi._delete_build(db, old.id)
        chosen = {
            c: d
            for c, d in self.datasets.items()
            if (STANDARDS[c] == "legal_entity") == (kind == KIND_ENTITY)
        }
        versions = current_versions(db, list(chosen.values()))
        rows: dict[tuple[str, int], DatasetRow] = {}
        for c, d in chosen.items():
            for n, row in enumerate(
                db.scalars(
                    select(DatasetRow)
                    .where(DatasetRow.version_id == versions[d.id].id)
                    .order_by(DatasetRow.row_number)
                ),
                start=1,
            ):
                rows[(c, n)] = row
        groups = [list(g) for g in same]
        grouped = {k for g in groups for k in g}
        groups += [[k] for k in rows if k not in grouped]
        build = MasterIndexBuild(
            kind=kind,
            built_by_label="test",
            threshold=0.95,
            model={},
            sources=[],
            record_count=len(rows),
            entity_count=len(groups),
            pair_count=0,
        )
        db.add(build)
        db.flush()
        for group in groups:
            entity = MasterEntity(
                build_id=build.id,
                kind=kind,
                record_count=len(group),
                dataset_count=len({c for c, _n in group}),
            )
            db.add(entity)
            db.flush()
            for c, n in group:
                row = rows[(c, n)]
                db.add(
                    MasterLink(
                        entity_id=entity.id,
                        dataset_id=chosen[c].id,
                        version_id=row.version_id,
                        row_id=row.id,
                        record_key=f"{chosen[c].code}:{row.row_number}",
                        match_probability=None,
                    )
                )
        db.flush()
        write_households(db, build)  # as the build writes them with the persons
        return build

    def run(self) -> list[Finding]:
        run_findings(self.db, actor=ACTOR)
        return list(self.db.scalars(select(Finding).order_by(Finding.id)))


@pytest.fixture
def hub(db: Session, settings: Any, tmp_path: Path) -> Hub:
    return Hub(db, settings, tmp_path)


def _of(findings: list[Finding], kind: FindingKind) -> list[Finding]:
    return [f for f in findings if f.kind == kind.value]


# -- the rules ------------------------------------------------------------------------------


def test_regions_fit_when_one_lies_inside_the_other() -> None:
    assert significant("330523103202") == "330523103202"
    assert significant("330523103000") == "330523103"
    assert significant("330523000000") == "330523"
    assert significant("") is None and significant("33052") is None


def test_deceased_on_a_list(hub: Hub) -> None:
    hub.load(
        "reg",
        [
            registry(1, status="死亡"),
            registry(3, household="H0000002"),
            registry(5, household="H0000003", status="死亡"),
        ],
    )
    hub.load("db", [low_income(1), low_income(3), low_income(5)])
    hub.load("fp", [poverty(1), poverty(3), poverty(5)])
    # Person 1 is dead and listed; person 3 is alive and listed. Rows 3 of the registry
    # and the list carry two different valid ID numbers: the index keeps them apart, so
    # the dead person 5 of the registry and the living person on the list are no finding.
    hub.link(
        KIND_PERSON,
        [("reg", 1), ("db", 1), ("fp", 1)],
        [("reg", 2), ("db", 2), ("fp", 2)],
    )
    found = _of(hub.run(), FindingKind.DECEASED_ON_LIST)
    assert len(found) == 1
    (finding,) = found
    assert finding.status == FindingStatus.OPEN.value
    assert {r["dataset"] for r in finding.rows} == {"f-reg", "f-db", "f-fp"}
    assert "死亡" in finding.explanation and finding.region_code == VILLAGE
    # No personal value in the finding: only references.
    assert id_number("330523", "19800101", 1) not in str(finding.rows) + finding.explanation


def test_one_person_in_two_places(hub: Hub) -> None:
    hub.load(
        "reg",
        [registry(1), registry(3, household="H0000002"), registry(5, household="H0000003")],
    )
    hub.load(
        "db",
        [
            low_income(1, address=OTHER_ADDRESS),
            low_income(3),
            low_income(5, address="无法定位的地方"),
        ],
    )
    hub.load("fp", [poverty(1), poverty(3), poverty(5)])
    hub.link(
        KIND_PERSON,
        [("reg", 1), ("db", 1), ("fp", 1)],
        [("reg", 2), ("db", 2), ("fp", 2)],
        [("reg", 3), ("db", 3), ("fp", 3)],
    )
    found = _of(hub.run(), FindingKind.TWO_ADDRESSES)
    # Person 1: the registry's village vs the list's village in another township. Person 3:
    # the village and its own township fit. Person 5: the list's address resolves nowhere
    # and its code is the county's, which says nothing.
    assert len(found) == 1
    rows = {r["dataset"] for r in found[0].rows}
    assert rows >= {"f-reg", "f-db"}
    assert OTHER_VILLAGE in found[0].explanation and VILLAGE in found[0].explanation


def test_household_on_one_list_only(hub: Hub) -> None:
    hub.load(
        "reg",
        [
            registry(1, household="H0000001"),
            registry(3, household="H0000001", head=False),
            registry(5, household="H0000002"),
            registry(7, household="H0000002", head=False),
        ],
    )
    # Household 1: the head on 低保 only, the spouse on no list. Household 2: the head on
    # 低保, the spouse on 防返贫: the household is on both lists, no finding.
    hub.load("db", [low_income(1), low_income(5)])
    hub.load("fp", [poverty(7)])
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)], [("reg", 3), ("db", 2)], [("reg", 4), ("fp", 1)])
    found = _of(hub.run(), FindingKind.ELIGIBLE_MISSING)
    assert len(found) == 1
    (finding,) = found
    head = hub.db.scalar(select(MasterLink.entity_id).where(MasterLink.record_key == "f-reg:2"))
    assert finding.subject_entity_id == head
    assert "防返贫" in finding.explanation


def test_one_list_alone_is_no_finding(hub: Hub) -> None:
    hub.load("reg", [registry(1)])
    hub.load("db", [low_income(1)])
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)])
    # Without a poverty monitoring list in the index there is nothing to miss from.
    assert _of(hub.run(), FindingKind.ELIGIBLE_MISSING) == []


def test_company_with_conflicting_registrations(hub: Hub) -> None:
    code, other, third = _uscc("MA2B3C4D5"), _uscc("MA2B3C4D6"), _uscc("MA2B3C4D7")
    hub.load("sc", [company(code), company(other, rep="王丽"), company(third)])
    # The first company: a different capital in the second register. The second: the legal
    # representative written with a homophone (王莉), the same person. The third: another
    # person as legal representative.
    hub.load(
        "fr",
        [company(code, capital="200"), company(other, rep="王莉"), company(third, rep="李强")],
    )
    # No entity index groups them: the same valid credit code is enough.
    hub.link(KIND_ENTITY)
    found = _of(hub.run(), FindingKind.ENTITY_CONFLICT)
    assert len(found) == 2
    texts = sorted(f.explanation for f in found)
    assert any("注册资本" in t and "法定代表人" not in t for t in texts)
    assert any("法定代表人" in t and "注册资本" not in t for t in texts)


# -- the fingerprint across rebuilds ----------------------------------------------------------


def _deceased_hub(hub: Hub) -> None:
    hub.load("reg", [registry(1, status="死亡"), registry(3, household="H0000002")])
    hub.load("db", [low_income(1), low_income(3)])
    hub.load("fp", [poverty(1), poverty(3)])


def test_a_rebuild_finds_the_same_findings_and_keeps_decisions(hub: Hub, db: Session) -> None:
    _deceased_hub(hub)
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1), ("fp", 1)], [("reg", 2), ("db", 2), ("fp", 2)])
    first = hub.run()
    assert [f.kind for f in first] == [FindingKind.DECEASED_ON_LIST.value]
    decisions.dismiss_finding(db, first[0], actor=ACTOR, reason="已核实：死亡登记有误")
    # A rebuild makes new entities; the finding is the same one, refreshed, still dismissed.
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1), ("fp", 1)], [("reg", 2), ("db", 2), ("fp", 2)])
    again = hub.run()
    assert [f.id for f in again] == [first[0].id]
    assert again[0].status == FindingStatus.DISMISSED.value
    assert again[0].subject_entity_id == db.scalar(
        select(MasterLink.entity_id).where(MasterLink.record_key == "f-reg:2")
    )
    assert db.scalar(select(func.count()).select_from(Finding)) == 1


def test_a_contradiction_gone_from_the_data_is_resolved_and_may_come_back(
    hub: Hub, db: Session
) -> None:
    _deceased_hub(hub)
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1), ("fp", 1)], [("reg", 2), ("db", 2), ("fp", 2)])
    (finding,) = hub.run()
    decisions.confirm_finding(db, finding, actor=ACTOR)
    # The civil-affairs bureau takes the person off the list (a new version without them),
    # and so does the poverty list.
    hub.load("db", [low_income(3)])
    hub.load("fp", [poverty(3)])
    hub.link(KIND_PERSON, [("reg", 2), ("db", 1), ("fp", 1)])
    (finding,) = hub.run()
    assert finding.status == FindingStatus.RESOLVED_BY_DATA.value and finding.gone_at is not None
    # Back on the list: the same finding, open again.
    hub.load("db", [low_income(1), low_income(3)])
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1)], [("reg", 2), ("db", 2), ("fp", 1)])
    findings = hub.run()
    assert [f.id for f in findings] == [finding.id]
    assert findings[0].status == FindingStatus.OPEN.value and findings[0].gone_at is None
    runs = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "data.findings.run").order_by(AuditEvent.id)
    ).all()
    assert [(e.new["new"], e.new["resolved"], e.new["reopened"]) for e in runs] == [
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 1),
    ]


# -- decisions ----------------------------------------------------------------------------------


@pytest.fixture
def deceased(hub: Hub) -> Finding:
    _deceased_hub(hub)
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1), ("fp", 1)], [("reg", 2), ("db", 2), ("fp", 2)])
    (finding,) = hub.run()
    return finding


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_confirm_then_dismiss_with_a_reason(db: Session, deceased: Finding) -> None:
    officer = principal(db, "data_officer")
    decisions.confirm_finding(db, deceased, actor=officer, note="两份名单均已核对")
    assert deceased.status == FindingStatus.CONFIRMED.value
    assert deceased.decided_by_id == officer.account_id
    with pytest.raises(Conflict):
        decisions.confirm_finding(db, deceased, actor=officer)
    with pytest.raises(Invalid) as refused:
        decisions.dismiss_finding(db, deceased, actor=officer, reason="  ")
    assert refused.value.code == "reason_required"
    decisions.dismiss_finding(db, deceased, actor=officer, reason="户籍死亡登记已撤销")
    assert deceased.status == FindingStatus.DISMISSED.value
    (confirmed,) = _events(db, "data.finding.confirm")
    (dismissed,) = _events(db, "data.finding.dismiss")
    assert confirmed.object_id == str(deceased.id) and confirmed.new == {"status": "confirmed"}
    assert dismissed.reason == "户籍死亡登记已撤销" and dismissed.old == {"status": "confirmed"}
    with pytest.raises(Conflict):
        decisions.finding_to_case(db, deceased, actor=officer)


def test_turn_into_a_case_for_verification(db: Session, settings: Any, deceased: Finding) -> None:
    officer = principal(db, "data_officer")
    decisions.finding_to_case(
        db, deceased, actor=officer, note="请民政所上门核实", settings=settings
    )
    assert deceased.status == FindingStatus.TURNED_INTO_CASE.value
    case = db.get(Case, deceased.case_id)
    assert case is not None and case.number == deceased.case_number
    assert deceased.number in case.description
    assert case.attributes.get("finding") == deceased.number
    # The place is the village, by name; no personal value in the case.
    assert case.region_code == VILLAGE
    for serial in (1, 3):
        assert id_number("330523", "19800101", serial) not in case.description
    assert "张伟" not in case.description
    (event,) = _events(db, "data.finding.to_case")
    assert event.new == {"status": "turned_into_case", "case": case.number}


# -- pages ----------------------------------------------------------------------------------


def test_pages_for_the_data_officer(client: TestClient, db: Session, deceased: Finding) -> None:
    db.commit()
    for persona in ("leader", "citizen", "department_handler"):
        login_as(client, persona)
        assert client.get("/data/findings").status_code == 403
        assert client.get(f"/data/findings/{deceased.id}").status_code == 403
        client.cookies.clear()
    login_as(client, "data_officer")
    listing = client.get("/data/findings")
    assert listing.status_code == 200
    assert deceased.number in listing.text and f"/data/findings/{deceased.id}" in listing.text
    assert deceased.number not in client.get("/data/findings?kind=two_addresses").text
    page = client.get(f"/data/findings/{deceased.id}")
    assert page.status_code == 200
    assert "f-reg:2" in page.text and "/data/master-index/entities/" in page.text
    assert id_number("330523", "19800101", 1) not in page.text
    assert client.get("/data/findings/999999").status_code == 404
    token = csrf_from(page.text)
    refused = client.post(
        f"/data/findings/{deceased.id}/dismiss",
        data={"csrf_token": token, "reason": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "理由" in refused.text
    done = client.post(
        f"/data/findings/{deceased.id}/confirm",
        data={"csrf_token": token, "note": ""},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db.refresh(deceased)
    assert deceased.status == FindingStatus.CONFIRMED.value
    assert "已确认" in client.get(f"/data/findings/{deceased.id}").text
    # In English too.
    client.cookies.set("lang", "en")
    english = client.get("/data/findings?status=confirmed")
    assert "Deceased, still on a benefits list" in english.text
    assert "By kind (Confirmed)" in english.text


def test_entity_rows_without_a_build_are_not_read(hub: Hub, db: Session) -> None:
    """Only the index's rows are read: datasets with no build of their kind give nothing."""
    hub.load("sc", [company(_uscc())])
    hub.load("fr", [company(_uscc(), capital="300")])
    assert hub.run() == []
    summary = db.scalar(select(AuditEvent).where(AuditEvent.action == "data.findings.run"))
    assert summary is not None and summary.new["evaluated"] == []
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) >= 2


def test_cli_runs_the_rules_and_prints_the_counts(
    hub: Hub, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gongzhi.data import findings_cli
    from tests.fixtures import run_cli_in_test_session

    run_cli_in_test_session(monkeypatch, findings_cli, db)
    empty = CliRunner().invoke(findings_cli.app, ["run"])
    assert empty.exit_code == 0 and "no master index" in empty.output
    _deceased_hub(hub)
    hub.link(KIND_PERSON, [("reg", 1), ("db", 1), ("fp", 1)], [("reg", 2), ("db", 2), ("fp", 2)])
    result = CliRunner().invoke(findings_cli.app, ["run"])
    assert result.exit_code == 0, result.output
    assert "deceased_on_list" in result.output and "1 new" in result.output
    assert db.scalar(select(func.count()).select_from(Finding)) == 1
