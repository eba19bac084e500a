"""`gongzhi demo` builds a working county: every role can sign in, the data is complete."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.db import make_engine
from gongzhi.demo import DEMO_PASSWORD, build_demo, reset_database
from gongzhi.security.permissions import ADMIN_ROLES, Role


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if "GONGZHI_TEST_DATABASE_URL" in __import__("os").environ:
        pytest.skip("the demo is built on the embedded SQLite default")
    path = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    # A key file of its own, as a deployment has: the demo must seal with it, whatever the
    # process environment's keys are.
    settings = Settings(  # type: ignore[call-arg]
        env="demo",
        database_url=f"sqlite:///{path}",
        key_file=path.parent / "keys.json",
        _env_file=None,
    )
    reset_database(settings)
    logins = build_demo(settings, full_china=False, cases=40)
    return settings, logins


def test_every_sealed_value_opens_with_the_demo_settings_keys(demo) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.crypto import get_provider
    from gongzhi.crypto.fields import REGISTRY, use_provider

    settings, _ = demo
    engine = make_engine(settings.database_url)
    opened: dict[str, int] = {}
    with use_provider(get_provider(settings)), Session(engine) as db:
        for info in REGISTRY:
            sealed = getattr(info.model, info.field.sealed_attr)
            for row in db.scalars(select(info.model).where(sealed.is_not(None))):
                # Opening raises CryptoError where the value was sealed with other keys.
                assert info.field.__get__(row) is not None
                key = f"{info.table}.{info.column}"
                opened[key] = opened.get(key, 0) + 1
    engine.dispose()
    # The case history's contacts and the data hub's sealed rows are among them.
    assert opened.get("case_contact.name", 0) > 0
    assert opened.get("case_contact.phone", 0) > 0


def test_demo_has_every_role_and_the_county(demo) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.org.models import Department, Matter
    from gongzhi.regions.models import Region

    settings, logins = demo
    assert {login.role for login in logins} == set(Role)
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        villages = db.scalar(
            select(func.count()).where(Region.code.like("330523%"), Region.level == 5)
        )
        grids = db.scalar(select(func.count()).where(Region.level == 6))
        assert (
            db.scalar(select(func.count()).where(Region.code.like("330523%"), Region.level == 4))
            == 15
        )
        assert villages == 218
        assert grids == 218 * 3
        assert db.scalar(select(func.count()).select_from(Matter)) == 71
        assert db.scalar(select(func.count()).select_from(Department)) == 12 + 15
    engine.dispose()


def test_demo_logins_work(demo) -> None:  # type: ignore[no-untyped-def]
    settings, logins = demo
    with TestClient(create_app(settings)) as client:
        for login in logins:
            client.cookies.clear()
            form = client.get("/login").text
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            resp = client.post(
                "/login",
                data={"username": login.username, "password": DEMO_PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            assert resp.status_code == 303, (login.username, resp.text[:300])
            if login.role in ADMIN_ROLES:
                assert resp.headers["location"].startswith("/login/totp")
                assert login.totp_secret, "administrators are enrolled with a second factor"
                assert pyotp.TOTP(login.totp_secret).verify(pyotp.TOTP(login.totp_secret).now())
            else:
                home = "/citizen" if login.role == Role.CITIZEN else "/staff"
                assert resp.headers["location"] == home
                assert client.get(home).status_code == 200


def _sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    resp = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]


def test_demo_has_sharing_requests_in_every_state(demo) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.audit.models import AuditEvent
    from gongzhi.cases.models import Case
    from gongzhi.data.sharing.models import RequestStatus, ShareCall, ShareGrant, ShareRequest
    from gongzhi.db import utcnow

    settings, _logins = demo
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        statuses = set(db.scalars(select(ShareRequest.status)))
        assert statuses == {s.value for s in RequestStatus}
        now = utcnow()
        states = sorted(g.state_at(now) for g in db.scalars(select(ShareGrant)))
        assert states == ["active", "expired", "revoked"]
        revoked = db.scalar(select(ShareGrant).where(ShareGrant.revoked_at.is_not(None)))
        assert revoked is not None and revoked.revoke_reason
        refused = db.scalars(
            select(ShareRequest).where(ShareRequest.status == RequestStatus.REFUSED.value)
        ).all()
        assert refused and all(r.decisions[-1].reasons for r in refused)
        calls = db.scalars(select(ShareCall)).all()
        justified = [c for c in calls if c.case_number and c.outcome == "answered"]
        assert len(justified) >= 3 and all(c.end_user for c in calls)
        assert {c.outcome for c in calls} == {"answered", "refused"}
        # The cases the calls name exist, led by the calling department.
        for c in justified:
            case = db.scalar(select(Case).where(Case.number == c.case_number))
            assert case is not None and case.lead_department_id == c.department_id
        assert db.scalar(select(func.count()).where(AuditEvent.action == "data.share.call")) == len(
            calls
        )
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        _sign_in(client, "steward_mz")  # civil affairs: its own requests and its grants
        page = client.get("/data/sharing")
        assert page.status_code == 200
        assert "防止返贫监测对象名单" in page.text and "最低生活保障对象名单" in page.text
        _sign_in(client, "data_officer")  # the authority's queue: the requests to review
        queue = client.get("/data/sharing/review")
        assert queue.status_code == 200 and "户籍人口信息" in queue.text


def test_demo_names_department_heads(demo) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.org.models import Department, StaffProfile
    from gongzhi.security.models import Account

    settings, _logins = demo
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        heads = dict(
            db.execute(
                select(Department.code, Account.username)
                .join(StaffProfile, StaffProfile.department_id == Department.id)
                .join(Account, Account.id == StaffProfile.account_id)
                .where(StaffProfile.is_head.is_(True))
            ).all()
        )
    engine.dispose()
    assert heads == {
        "330523-SZZX": "leader",
        "330523-ZHZF": "head_zhzf",
        "330523-ZJ": "head_zj",
        "330523-STHJ": "head_sthj",
    }


def test_demo_citizen_sees_who_used_her_data(demo) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.demo import TOWNSHIP_CLERK

    settings, _ = demo
    with TestClient(create_app(settings)) as client:
        form = client.get("/login").text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login",
            data={"username": "citizen", "password": DEMO_PASSWORD, "csrf_token": token},
        )
        uses = client.get("/api/v1/privacy/my/data-use")
        assert uses.status_code == 200, uses.text
        purposes = [use["purpose"] for use in uses.json()]
        # The township clerk verified her identity; the dispatcher's look-up for one of her
        # cases is there when the history gave her a case.
        assert "verify_identity" in purposes
        page = client.get("/my/data-use")
        assert TOWNSHIP_CLERK[1] in page.text or "孝丰镇" in page.text
