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
    settings = Settings(env="demo", database_url=f"sqlite:///{path}", _env_file=None)  # type: ignore[call-arg]
    reset_database(settings)
    logins = build_demo(settings, full_china=False)
    return settings, logins


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
