"""Session-wide seed data of the security domain (committed once, before any test): one
account per role, the personas every domain's tests sign in as.

``login_as(client, "dispatcher")`` signs a TestClient in through the real ``/login`` (and the
TOTP step for the administrators) and returns the session's CSRF token.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.crypto.software import SoftwareCryptoProvider
from gongzhi.db import session_scope
from gongzhi.security import clock, passwords
from gongzhi.security.permissions import Role

COUNTY = "330523000000"  # 安吉县
TOWNSHIP = "330523103000"  # 鄣吴镇
VILLAGE = "330523103202"  # 玉华村 (鄣吴镇)

# Shared by every persona: meets the policy and contains none of the usernames.
PERSONA_PASSWORD = "Anji-Persona-2026!"

# The test suite hashes with the cheapest argon2 parameters; production keeps the defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass(frozen=True)
class Persona:
    username: str
    display_name: str
    kind: str
    role: Role
    region_code: str
    password: str = PERSONA_PASSWORD
    totp_secret: str | None = None


def _p(role: Role, name: str, region: str, totp: str | None = None) -> Persona:
    kind = "citizen" if role == Role.CITIZEN else "staff"
    return Persona(role.value, name, kind, role, region, totp_secret=totp)


PERSONAS: dict[str, Persona] = {
    p.username: p
    for p in (
        _p(Role.CITIZEN, "王秀英", COUNTY),
        _p(Role.GRID_WORKER, "李建国", VILLAGE),
        _p(Role.TOWNSHIP_CLERK, "张丽", TOWNSHIP),
        _p(Role.DEPARTMENT_HANDLER, "陈明", COUNTY),
        _p(Role.DISPATCHER, "刘洋", COUNTY),
        _p(Role.LEADER, "赵国强", COUNTY),
        _p(Role.DATA_OFFICER, "孙晓燕", COUNTY),
        _p(Role.SYSTEM_ADMIN, "周立", COUNTY, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        _p(Role.SECURITY_ADMIN, "吴静", COUNTY, "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"),
        _p(Role.AUDIT_ADMIN, "郑华", COUNTY, "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
    )
}


def pytest_configure(config: pytest.Config) -> None:
    passwords.set_hasher(FAST_HASHER)


@pytest.fixture(scope="session")
def seed_security(engine: Engine, seed_regions: None) -> None:
    from gongzhi.security.services import create_account, grant_role

    actor = SystemActor("test-seed")
    with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
        for p in PERSONAS.values():
            account = create_account(
                db,
                username=p.username,
                display_name=p.display_name,
                kind=p.kind,
                password=p.password,
                actor=actor,
            )
            grant_role(db, account, role=p.role, region_code=p.region_code, actor=actor)
            if p.totp_secret:
                account.totp_secret = p.totp_secret
                account.totp_confirmed_at = clock.now()


_CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def totp_code(persona: str, offset_steps: int = 0) -> str:
    secret = PERSONAS[persona].totp_secret
    assert secret, f"{persona} has no TOTP secret"
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now()) + offset_steps)


def login_as(client: Any, persona: str, *, next: str | None = None) -> str:
    """Sign in through the real pages; return the session's CSRF token."""
    p = PERSONAS[persona]
    page = client.get("/login")
    assert page.status_code == 200, page.text
    data = {"username": p.username, "password": p.password, "csrf_token": csrf_from(page.text)}
    if next:
        data["next"] = next
    resp = client.post("/login", data=data, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    if p.totp_secret:
        assert resp.headers["location"].startswith("/login/totp"), resp.headers["location"]
        page = client.get("/login/totp")
        # A code is accepted once; a second sign-in within the same 30 s uses the next step.
        for offset in (0, 1):
            resp = client.post(
                "/login/totp",
                data={"code": totp_code(persona, offset), "csrf_token": csrf_from(page.text)},
                follow_redirects=False,
            )
            if resp.status_code == 303:
                break
            page = resp
        assert resp.status_code == 303, resp.text
    token = client.cookies.get("gz_session")
    assert token, "no session cookie after sign-in"
    return current_csrf(client)


def current_csrf(client: Any) -> str:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["csrf_token"])


@pytest.fixture
def personas() -> dict[str, Persona]:
    return PERSONAS


class Clock:
    """The security domain's clock, held still and moved by hand."""

    def __init__(self) -> None:
        from gongzhi.db import utcnow

        self.now = utcnow()

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(clock, "now", lambda: c.now)
    return c


@pytest.fixture
def suite_key_copy(settings: Settings, tmp_path: Path) -> SoftwareCryptoProvider:
    """A provider over a copy of the suite's key file: it opens what the suite sealed, and
    whatever it adds (a rotation) stays in the copy."""
    suite = get_provider(settings)
    assert isinstance(suite, SoftwareCryptoProvider) and suite.path is not None
    copy = tmp_path / "suite-keys.json"
    shutil.copyfile(suite.path, copy)
    copy.chmod(0o600)
    return SoftwareCryptoProvider.from_file(copy)
