"""The second factor: required for the administrators, enrolment, replay refused."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.services import create_account, grant_role, reset_totp
from tests.security.fixtures import PERSONA_PASSWORD, Clock, csrf_from, login_as, totp_code


def _password_step(client: TestClient, username: str, password: str = PERSONA_PASSWORD) -> str:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    return str(resp.headers["location"])


def _submit_code(client: TestClient, code: str, path: str = "/login/totp"):  # type: ignore[no-untyped-def]
    page = client.get(path)
    return client.post(
        path, data={"code": code, "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )


def test_admin_without_second_factor_is_not_a_principal(client: TestClient) -> None:
    for admin in ("system_admin", "security_admin", "audit_admin"):
        client.cookies.clear()
        assert _password_step(client, admin) == "/login/totp"
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/staff", follow_redirects=False).status_code == 303
        assert (
            client.get("/account/password", follow_redirects=False)
            .headers["location"]
            .startswith("/login/totp")
        )


def test_admin_with_code_gets_in(client: TestClient, frozen_clock: Clock) -> None:
    _password_step(client, "security_admin")
    resp = _submit_code(client, totp_code("security_admin"))
    assert resp.status_code == 303 and resp.headers["location"] == "/staff"
    me = client.get("/api/v1/me").json()
    assert me["mfa_passed"] is True and me["username"] == "security_admin"


def test_wrong_code_is_refused_and_counted(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    _password_step(client, "audit_admin")
    resp = _submit_code(client, "000000" if totp_code("audit_admin") != "000000" else "111111")
    assert resp.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    account = db.scalar(select(Account).where(Account.username == "audit_admin"))
    assert account is not None
    db.refresh(account)
    assert account.failed_login_count == 1
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "security.mfa.failed"))


def test_wrong_codes_lock_the_account(
    client: TestClient,
    db: Session,
    settings,
    frozen_clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    _password_step(client, "audit_admin")
    good = totp_code("audit_admin")
    bad = "000000" if good != "000000" else "111111"
    for _ in range(settings.login_max_failures - 1):
        assert _submit_code(client, bad).status_code == 401
    page = client.get("/login/totp")
    resp = client.post(
        "/login/totp",
        data={"code": bad, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 401
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "security.account.locked"))
    # The half-open session is gone and even the right code does not help now.
    assert client.get("/login/totp", follow_redirects=False).status_code == 303
    client.cookies.clear()
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": "audit_admin",
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 401


def test_replayed_code_is_refused(client: TestClient, app, frozen_clock: Clock) -> None:  # type: ignore[no-untyped-def]
    code = totp_code("system_admin")
    _password_step(client, "system_admin")
    assert _submit_code(client, code).status_code == 303
    # Someone who saw the code tries it in another browser within the same 30 s window.
    other = TestClient(app, base_url="http://testserver")
    _password_step(other, "system_admin")
    assert _submit_code(other, code).status_code == 401
    # An older code (previous step) is refused too once a newer one was used.
    assert _submit_code(other, totp_code("system_admin", -1)).status_code == 401
    # The next step's code works.
    frozen_clock.advance(seconds=30)
    assert _submit_code(other, totp_code("system_admin")).status_code == 303


def test_non_digit_and_short_codes_are_refused(client: TestClient, frozen_clock: Clock) -> None:
    _password_step(client, "system_admin")
    for code in ("", "12345", "abcdef", "1234567"):
        assert _submit_code(client, code).status_code == 401


def test_new_admin_is_sent_to_enrolment_and_can_finish_it(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    actor = SystemActor("cli:test")
    account = create_account(
        db,
        username="newadmin",
        display_name="新管理员",
        kind="staff",
        password="Bamboo-Sea-77",
        actor=actor,
    )
    grant_role(db, account, role=Role.SECURITY_ADMIN, region_code="330523000000", actor=actor)
    db.commit()
    assert _password_step(client, "newadmin", "Bamboo-Sea-77") == "/login/totp/setup"
    # Before enrolment the account is not a principal anywhere.
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/totp/setup")
    assert page.status_code == 200
    assert "<svg" in page.text and "http" not in page.text.split("<svg", 1)[1].split("</svg>")[
        0
    ].replace("http://www.w3.org", "")
    db.refresh(account)
    secret = account.totp_secret
    assert secret and "".join(secret[i : i + 4] for i in range(0, len(secret), 4)) == secret
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page.text
    # A wrong code does not confirm.
    resp = client.post(
        "/login/totp/setup",
        data={
            "code": "000000" if pyotp.TOTP(secret).at(frozen_clock.now) != "000000" else "111111",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 422
    resp = client.post(
        "/login/totp/setup",
        data={"code": pyotp.TOTP(secret).at(frozen_clock.now), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/staff"
    assert client.get("/api/v1/me").json()["mfa_passed"] is True
    db.refresh(account)
    assert account.totp_confirmed_at is not None


def test_reset_totp_signs_out_and_requires_enrolment(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    login_as(client, "system_admin")
    account = db.scalar(select(Account).where(Account.username == "system_admin"))
    assert account is not None
    reset_totp(db, account, actor=SystemActor("cli:test"), reason="lost phone")
    db.commit()
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    assert _password_step(client, "system_admin") == "/login/totp/setup"


def test_voluntary_second_factor_for_staff(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    login_as(client, "leader")
    page = client.get("/login/totp/setup")
    assert page.status_code == 200
    account = db.scalar(select(Account).where(Account.username == "leader"))
    assert account is not None
    db.refresh(account)
    code = pyotp.TOTP(account.totp_secret).at(frozen_clock.now)
    resp = client.post(
        "/login/totp/setup",
        data={"code": code, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    # From now on the leader's sign-in asks for the code as well.
    client.cookies.clear()
    assert _password_step(client, "leader") == "/login/totp"
