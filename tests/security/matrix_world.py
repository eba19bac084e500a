"""The world the authorisation matrix runs in: one app and one database for the whole module.

Objects are built once through the services (two cases in two townships, each with its own
reporter and lead department, a photo, a summons, notifications, a calendar override, a dataset
with a version and its import job, a sharing request with a grant, the open datasets, a person
linked to a citizen with a recorded reveal, a PIPL request) and every persona signs in once
through the real pages. Each matrix request then runs inside a savepoint that is rolled back
afterwards, so a request that succeeds (a dispatch, a revocation, a sign-out) changes nothing
for the next one.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.security.models import Account

ACTOR = SystemActor("test:matrix")
STAFF_PASSWORD = "Anji-Staff-2026!"
STEWARD_PASSWORD = "Anji-Steward-2026!"

COUNTY = "330523000000"  # 安吉县
ZHANGWU = "330523103000"  # 鄣吴镇: the township clerk's and grid worker's side
YUHUA = "330523103202"  # 玉华村 (鄣吴镇): the grid worker's village, case A
DIPU = "330523001000"  # 递铺街道: the other township, case B
YUHUA_ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"
DIPU_ADDRESS = "浙江省湖州市安吉县递铺街道"
ENFORCEMENT = "330523-ZHZF"  # 县综合行政执法局: leads case A (handler_own works there)
HOUSING = "330523-ZJ"  # 县住建局: leads case B (handler_other works there)
CIVIL_AFFAIRS = "330523-MZ"  # 县民政局: provides the shared dataset (the steward's department)
AGRICULTURE = "330523-NYNC"  # 县农业农村局: requests it

# Persona -> (username, password or None for the security personas' own password).
ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "citizen": ("citizen", None),
    "citizen_b": ("citizen_two", STAFF_PASSWORD),
    "grid_worker": ("grid_worker", None),
    "township_clerk": ("township_clerk", None),
    "handler_own": ("zhifa_chen", STAFF_PASSWORD),
    "handler_other": ("matrix_zj", STAFF_PASSWORD),
    "dispatcher": ("dispatcher", None),
    "leader": ("leader", None),
    "data_officer": ("data_officer", None),
    "steward": ("matrix_steward_mz", STEWARD_PASSWORD),
    "system_admin": ("system_admin", None),
    "security_admin": ("security_admin", None),
    "audit_admin": ("audit_admin", None),
}
PERSONA_NAMES = (*ACCOUNTS, "anonymous")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class SignedIn:
    cookie: str | None
    csrf: str | None


@dataclass
class World:
    """Ids of the seeded objects; the matrix's URLs name them as ``{case_a}`` etc."""

    ids: dict[str, Any] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


@dataclass
class Matrix:
    app: FastAPI
    connection: Connection
    client: TestClient
    world: World
    signed_in: dict[str, SignedIn]

    def request(
        self,
        persona: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
    ) -> Response:
        """One request as ``persona``, inside a savepoint rolled back afterwards."""
        who = self.signed_in[persona]
        self.client.cookies.clear()
        headers: dict[str, str] = {}
        if who.cookie:
            self.client.cookies.set("gz_session", who.cookie)
        unsafe = method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and who.csrf:
            headers["X-CSRF-Token"] = who.csrf
            if data is not None:
                data = {**data, "csrf_token": who.csrf}
        savepoint = self.connection.begin_nested()
        try:
            kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
            if json is not None:
                kwargs["json"] = json
            elif data is not None or files is not None:
                kwargs["data"] = data or {}
                if files is not None:
                    kwargs["files"] = files
            elif unsafe:
                kwargs["json"] = {}
            return self.client.request(method, url, **kwargs)
        finally:
            if savepoint.is_active:
                savepoint.rollback()


def _session_on(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


def _principal(db: Session, username: str) -> Any:
    from gongzhi.security.auth import load_grants
    from gongzhi.security.principal import Principal

    account = _account(db, username)
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=load_grants(db, account.id),
    )


def _account(db: Session, username: str) -> Account:
    found = db.scalar(select(Account).where(Account.username == username))
    assert found is not None, username
    return found


def _department(db: Session, code: str) -> Any:
    from gongzhi.org.models import Department

    found = db.scalar(select(Department).where(Department.code == code))
    assert found is not None, code
    return found


def build_world(db: Session, settings: Settings, tmp_path: Path) -> World:
    from gongzhi.cases import attachments
    from gongzhi.cases import services as cases
    from gongzhi.cases.models import Channel
    from gongzhi.cases.summons import summon
    from gongzhi.crypto import get_provider
    from gongzhi.data.models import ImportJob
    from gongzhi.data.sharing import services as sharing
    from gongzhi.notify.models import Notification
    from gongzhi.opendata.demo import seed_open_data
    from gongzhi.org.services import create_staff, set_calendar_override
    from gongzhi.people.services import register_person
    from gongzhi.privacy import services as privacy
    from gongzhi.privacy.models import PersonalDataAccess, PrivacyRequest
    from gongzhi.security.permissions import Role
    from gongzhi.security.services import issue_api_token
    from tests.data.helpers import csv_bytes, import_bytes, make_dataset, person_row
    from tests.privacy.helpers import id_number, sequence_all

    ids: dict[str, Any] = {}
    create_staff(
        db,
        username="matrix_zj",
        display_name="住建经办",
        department=_department(db, HOUSING),
        roles=[(Role.DEPARTMENT_HANDLER, COUNTY)],
        password=STAFF_PASSWORD,
        actor=ACTOR,
    )
    for username, dept in (
        ("matrix_steward_mz", CIVIL_AFFAIRS),
        ("matrix_steward_ny", AGRICULTURE),
    ):
        create_staff(
            db,
            username=username,
            display_name="数据专员",
            department=_department(db, dept),
            roles=[(Role.DATA_STEWARD, COUNTY)],
            password=STEWARD_PASSWORD,
            actor=ACTOR,
        )
    db.flush()

    # Case A: the citizen's, in 玉华村 (鄣吴镇), led by the enforcement bureau, with a photo.
    case_a = cases.submit_case(
        db,
        channel=Channel.WEB,
        description="玉华村路边井盖不见了，很危险",
        actor=ACTOR,
        reporter_account_id=_account(db, "citizen").id,
        contact_name="王秀英",
        contact_phone="13812341999",
        address_text=YUHUA_ADDRESS,
    )
    cases.dispatch_case(db, case_a, to=ENFORCEMENT, actor=ACTOR)
    # Signed by its lead department, which asks for more time (pending the dispatcher).
    handler = _principal(db, "zhifa_chen")
    cases.accept_case(db, case_a, actor=handler)
    cases.request_extension(
        db, case_a, new_due_at=datetime(2030, 1, 1, tzinfo=UTC), reason="需要协调", actor=handler
    )
    photo = attachments.store_photo(PNG, "well.png", settings)
    attachments.attach_photos(db, case_a, [photo], actor=ACTOR)
    # Case C: like A but not yet signed, for signing.
    case_c = cases.submit_case(
        db,
        channel=Channel.WEB,
        description="玉华村路灯不亮",
        actor=ACTOR,
        reporter_account_id=_account(db, "citizen").id,
        address_text=YUHUA_ADDRESS,
    )
    cases.dispatch_case(db, case_c, to=ENFORCEMENT, actor=ACTOR)
    ids["case_c"] = case_c.number
    # Case B: the second citizen's, in 递铺街道, led by the housing bureau.
    case_b = cases.submit_case(
        db,
        channel=Channel.WEB,
        description="递铺街道小区外墙脱落，砸到车辆",
        actor=ACTOR,
        reporter_account_id=_account(db, "citizen_two").id,
        contact_name="钱二",
        contact_phone="13912342888",
        address_text=DIPU_ADDRESS,
    )
    cases.dispatch_case(db, case_b, to=HOUSING, actor=ACTOR)
    db.flush()
    assert case_a.region_code == YUHUA and case_b.region_code == DIPU
    ids.update(case_a=case_a.number, case_b=case_b.number, photo_a=photo.sha256)
    photo_b = attachments.store_photo(PNG[:-1] + b"\x83", "wall.png", settings)
    attachments.attach_photos(db, case_b, [photo_b], actor=ACTOR)
    ids["photo_b"] = photo_b.sha256

    # A summons on case A calling the housing bureau in (吹哨报到).
    dispatcher = _principal(db, "dispatcher")
    summons = summon(
        db, case_a, departments=[HOUSING], reason="needs_enforcement", actor=dispatcher
    )
    ids["summons_a"] = summons.id

    # Notifications: the dispatch told each reporter.
    for key, username in (("notification_a", "citizen"), ("notification_b", "citizen_two")):
        ids[key] = db.scalar(
            select(func.min(Notification.id)).where(
                Notification.recipient_account_id == _account(db, username).id
            )
        )
        assert ids[key] is not None, key

    # The citizen's API token.
    token, _secret = issue_api_token(
        db, _account(db, "citizen"), name="matrix", expires_days=1, actor=ACTOR
    )
    ids["token_a"] = token.id

    override = set_calendar_override(
        db, day=date(2026, 10, 10), is_workday=True, note="调休", actor=ACTOR
    )
    ids["override"] = override.id
    ids["day"] = "2026-10-11"

    # A dataset of the civil-affairs bureau with one imported version.
    dataset = make_dataset(db, code="matrix-persons", department_code=CIVIL_AFFAIRS)
    rows = [person_row(i, name="张伟" if i % 2 else "李娜") for i in range(1, 6)]
    import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows))
    import_bytes(db, settings, dataset, tmp_path, csv_bytes(rows[:4]), name="persons-2.csv")
    db.flush()
    ids["dataset"] = dataset.code
    ids["job"] = db.scalar(select(func.max(ImportJob.id)).where(ImportJob.dataset_id == dataset.id))
    ids["master_entity"], ids["master_household"] = _master_entity(db, dataset)

    # Agriculture asks civil affairs for it; the data authority approves; civil affairs grants.
    requester = _principal(db, "matrix_steward_ny")
    share = sharing.submit_request(
        db,
        dataset,
        requester=_department(db, AGRICULTURE),
        fields=["身份证号", "姓名", "性别", "联系电话"],
        plaintext_fields=[],
        purpose="核对防返贫监测对象的低保享受情况",
        legal_basis="《社会救助暂行办法》第十一条",
        scenario="防返贫监测对象动态核查",
        end_users="农业农村局乡村振兴科经办人员",
        period_start=date.today() - timedelta(days=1),
        period_end=date.today() + timedelta(days=90),
        actor=requester,
    )
    sharing.review_request(db, share, approve=True, actor=_principal(db, "data_officer"))
    sharing.decide_request(db, share, grant=True, actor=_principal(db, "matrix_steward_mz"))
    db.flush()
    assert share.grant is not None
    ids.update(share_request=share.id, grant=share.grant.id)

    # The open datasets of the demo.
    opened = seed_open_data(db, provider=get_provider(settings), actor=ACTOR)
    ids["open_dataset"] = opened.datasets[0]
    db.flush()

    # A person linked to the citizen's account, revealed once by the clerk; a PIPL request.
    ids["id_number"] = id_number()
    person = register_person(
        db,
        id_number=ids["id_number"],
        name="王秀英",
        phone="13912340001",
        household_region_code=YUHUA,
        actor=ACTOR,
    )
    _account(db, "citizen").person_id = person.id
    # A resident of the other township (递铺街道), in no one's account.
    ids["id_number_b"] = id_number(born="19900202", seq="456")
    ids["person_b"] = register_person(
        db,
        id_number=ids["id_number_b"],
        name="钱二",
        phone="13912340002",
        household_region_code=DIPU,
        actor=ACTOR,
    ).id
    db.flush()
    ids["person"] = person.id
    privacy.reveal_person(
        db,
        person,
        fields=["phone"],
        purpose="verify_identity",
        actor=_principal(db, "township_clerk"),
    )
    privacy.reveal_case_contact(db, case_b, fields=["phone"], purpose="call_back", actor=dispatcher)
    db.flush()
    citizen_id, citizen_b_id = _account(db, "citizen").id, _account(db, "citizen_two").id
    for key, account_id in (("access_a", citizen_id), ("access_b", citizen_b_id)):
        ids[key] = db.scalar(
            select(func.min(PersonalDataAccess.id)).where(
                (PersonalDataAccess.subject_account_id == account_id)
                | (PersonalDataAccess.person_id == (person.id if account_id == citizen_id else -1))
            )
        )
        assert ids[key] is not None, key
    for key, username in (("pipl_a", "citizen"), ("pipl_b", "citizen_two")):
        req = privacy.submit_request(
            db,
            _principal(db, username),
            kind="copy",
            text="请提供我的个人信息副本",
            settings=settings,
        )
        ids[key] = req.id
    # The citizen's request is answered, so there is a copy to download.
    officer = _principal(db, "security_admin")
    answered = privacy.accept_request(db, db.get(PrivacyRequest, ids["pipl_a"]), actor=officer)
    privacy.fulfil_request(db, answered, response="已提供副本", actor=officer)
    db.flush()

    from gongzhi.regions.services import create_grid_cell

    ids["grid"] = create_grid_cell(db, village_code=YUHUA, name="矩阵网格", actor=ACTOR).code
    db.flush()
    ids["event"] = db.scalar(select(func.max(AuditEvent.id)))
    # Give every event its place in the log and sign a checkpoint, so proofs can be asked for.
    sequence_all(db, settings)
    ids["grid_worker_account"] = _account(db, "grid_worker").id
    ids["clerk_account"] = _account(db, "township_clerk").id
    ids["matter"] = case_a.matter_code or _first_matter(db)
    return World(ids)


def _master_entity(db: Session, dataset: Any) -> tuple[int, int]:
    """A master-index entity of one row of ``dataset`` (civil affairs, county level) and its
    household: the pages' scope and masking need a stored index, not a linkage run."""
    from gongzhi.data.master_index_models import (
        MasterEntity,
        MasterHousehold,
        MasterHouseholdMember,
        MasterIndexBuild,
        MasterLink,
    )
    from gongzhi.data.models import DatasetRow, DatasetVersion

    version = db.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number.desc())
    ).first()
    assert version is not None
    row = db.scalars(select(DatasetRow).where(DatasetRow.version_id == version.id)).first()
    assert row is not None
    build = MasterIndexBuild(
        kind="person",
        built_by_label="matrix",
        threshold=0.9,
        model={},
        sources=[{"code": dataset.code, "version": version.number}],
        record_count=1,
        entity_count=1,
        pair_count=0,
    )
    db.add(build)
    db.flush()
    entity = MasterEntity(build_id=build.id, kind="person", record_count=1, dataset_count=1)
    db.add(entity)
    db.flush()
    link = MasterLink(
        entity_id=entity.id,
        dataset_id=dataset.id,
        version_id=version.id,
        row_id=row.id,
        record_key=f"{dataset.code}:{row.row_number}",
    )
    db.add(link)
    db.flush()
    household = MasterHousehold(
        build_id=build.id,
        dataset_id=dataset.id,
        household_number="H0000001",
        region_code=None,  # the civil-affairs bureau's region (county)
        head_entity_id=entity.id,
        member_count=1,
        deceased_count=0,
        on_low_income=False,
        on_poverty=False,
    )
    db.add(household)
    db.flush()
    db.add(
        MasterHouseholdMember(
            household_id=household.id, entity_id=entity.id, link_id=link.id, deceased=False
        )
    )
    db.flush()
    return entity.id, household.id


def _first_matter(db: Session) -> str:
    from gongzhi.org.models import Matter

    code = db.scalar(select(Matter.code).order_by(Matter.code).limit(1))
    assert code is not None
    return code


def _sign_in(client: TestClient, persona: str) -> SignedIn:
    from tests.cases.fixtures import login_staff
    from tests.security.fixtures import login_as

    client.cookies.clear()
    username, password = ACCOUNTS[persona]
    csrf = (
        login_as(client, username) if password is None else login_staff(client, username, password)
    )
    cookie = client.cookies.get("gz_session")
    assert cookie
    return SignedIn(cookie=cookie, csrf=csrf)


def _no_classifier() -> types.ModuleType:
    module = types.ModuleType("gongzhi.cases.classify")
    module.suggest = lambda db, text, limit=3: []  # type: ignore[attr-defined]
    return module


@pytest.fixture(scope="module")
def matrix(
    engine: Engine, seeded: None, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    conn = engine.connect()
    outer = conn.begin()
    with pytest.MonkeyPatch.context() as patch:
        # Intake without category suggestions: routing here is by explicit dispatch.
        patch.setitem(sys.modules, "gongzhi.cases.classify", _no_classifier())
        db = _session_on(conn)
        world = build_world(db, settings, tmp_path_factory.mktemp("matrix"))
        db.commit()
        db.close()
        app = create_app(settings, session_factory=lambda: _session_on(conn))
        with TestClient(app, base_url="http://testserver") as client:
            signed_in = {p: _sign_in(client, p) for p in ACCOUNTS}
            signed_in["anonymous"] = SignedIn(cookie=None, csrf=None)
            yield Matrix(app, conn, client, world, signed_in)
    if outer.is_active:
        outer.rollback()
    conn.close()
