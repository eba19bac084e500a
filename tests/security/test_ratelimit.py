"""Rate limits: sign-in per account and per address, the JSON sign-in, the citizen's report
form and Open311 POSTs; 429 with Retry-After in each caller's format; memory and Redis
storage; a storage failure lets requests through."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.security.ratelimit import RateLimiter
from tests.security.fixtures import PERSONA_PASSWORD, csrf_from, login_as, totp_code

LOW = {
    "rate_limit_enabled": True,
    "rate_limit_login_per_account": "3/minute",
    "rate_limit_login_per_address": "8/minute",
    "rate_limit_report_per_address": "2/minute",
    "rate_limit_open311_per_address": "2/minute",
}


def _app(settings: Settings, connection: Connection, **overrides: Any):  # type: ignore[no-untyped-def]
    return create_app(
        settings.model_copy(update={**LOW, **overrides}),
        session_factory=lambda: Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
    )


@pytest.fixture
def limited(settings: Settings, connection: Connection) -> Iterator[TestClient]:
    with TestClient(_app(settings, connection), base_url="http://testserver") as c:
        yield c


def _login(client: TestClient, username: str, password: str = "wrong-password-1"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    return client.post("/login", data=data, follow_redirects=False)


def _assert_retry_after(resp) -> int:  # type: ignore[no-untyped-def]
    assert resp.status_code == 429, resp.text
    wait = int(resp.headers["retry-after"])
    assert 1 <= wait <= 60
    return wait


def test_limits_are_off_in_the_test_settings(client: TestClient) -> None:
    for _ in range(12):
        assert _login(client, "dispatcher").status_code == 401


def test_sign_in_is_limited_per_account(limited: TestClient) -> None:
    for _ in range(3):
        assert _login(limited, "dispatcher").status_code == 401
    resp = _login(limited, "dispatcher", PERSONA_PASSWORD)  # even the right password now
    _assert_retry_after(resp)
    assert "操作太频繁" in resp.text and "Too many requests" in resp.text
    assert 'name="username"' in resp.text  # the form is shown again, ready for later
    assert limited.cookies.get("gz_session") is None
    # The name is folded: case and spaces do not buy more attempts.
    _assert_retry_after(_login(limited, " DISPATCHER "))
    # Another account from the same address may still sign in.
    assert _login(limited, "leader", PERSONA_PASSWORD).status_code == 303


def test_sign_in_is_limited_per_address(limited: TestClient) -> None:
    for n in range(8):
        assert _login(limited, f"someone-{n}").status_code == 401
    _assert_retry_after(_login(limited, "leader", PERSONA_PASSWORD))


def test_english_page_says_it_in_english(limited: TestClient) -> None:
    limited.cookies.set("lang", "en")
    for _ in range(3):
        _login(limited, "dispatcher")
    resp = _login(limited, "dispatcher")
    _assert_retry_after(resp)
    assert "Too many requests" in resp.text and "Sign in" in resp.text


def test_json_sign_in_is_limited(limited: TestClient) -> None:
    body = {"username": "dispatcher", "password": "wrong-password-1"}
    for _ in range(3):
        assert limited.post("/api/v1/auth/tokens", json=body).status_code == 401
    resp = limited.post("/api/v1/auth/tokens", json={**body, "password": PERSONA_PASSWORD})
    _assert_retry_after(resp)
    error = resp.json()["error"]
    assert error["code"] == "rate_limited" and "Too many requests" in error["message"]
    # Web and JSON sign-in share the account's counter.
    _assert_retry_after(_login(limited, "dispatcher", PERSONA_PASSWORD))


def test_second_factor_step_is_limited(limited: TestClient) -> None:
    page = limited.get("/login")
    resp = limited.post(
        "/login",
        data={
            "username": "system_admin",
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.headers["location"].startswith("/login/totp")  # 1 attempt counted
    page = limited.get("/login/totp")
    codes = ["000000", "000001"]  # attempts 2 and 3 (wrong)
    for code in codes:
        if code == totp_code("system_admin"):
            code = "999999"
        page = limited.post("/login/totp", data={"code": code, "csrf_token": csrf_from(page.text)})
        assert page.status_code == 401
    resp = limited.post(
        "/login/totp",
        data={"code": totp_code("system_admin"), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    _assert_retry_after(resp)
    assert "操作太频繁" in resp.text


def test_report_form_posts_are_limited_per_address(limited: TestClient) -> None:
    login_as(limited, "citizen")  # counts under the sign-in rules, not the report rule
    csrf = limited.get("/api/v1/me").json()["csrf_token"]
    for _ in range(2):
        resp = limited.post(
            "/report/problem",
            data={"description": "路灯坏了", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert resp.status_code != 429
    resp = limited.post("/report/problem", data={"description": "路灯坏了", "csrf_token": csrf})
    _assert_retry_after(resp)
    assert "text/html" in resp.headers["content-type"]
    assert "操作太频繁" in resp.text
    # Reading is never limited.
    assert limited.get("/report/problem").status_code == 200


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_open311_posts_are_limited_in_open311_format(limited: TestClient, fmt: str) -> None:
    for _ in range(2):
        resp = limited.post(f"/open311/v2/requests.{fmt}", data={"service_code": "x"})
        assert resp.status_code == 403  # no api_key: refused by the endpoint itself
    resp = limited.post(f"/open311/v2/requests.{fmt}", data={"service_code": "x"})
    _assert_retry_after(resp)
    if fmt == "json":
        errors = json.loads(resp.text)
        assert errors[0]["code"] == 429 and "Too many requests" in errors[0]["description"]
    else:
        root = ET.fromstring(resp.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == "429"
        assert "Too many requests" in (root.findtext("error/description") or "")
    # GET requests (service lists, request status) are not counted.
    assert limited.get(f"/open311/v2/services.{fmt}").status_code == 200


def test_limits_are_per_app_storage(settings: Settings, connection: Connection) -> None:
    # Each app process has its own in-memory counters (a second app starts at zero).
    for _ in range(2):
        with TestClient(_app(settings, connection)) as c:
            for _ in range(3):
                assert _login(c, "dispatcher").status_code == 401
            _assert_retry_after(_login(c, "dispatcher"))


def _redis_url() -> str | None:
    try:
        import redis
    except ImportError:
        return None
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


def test_redis_storage_is_shared_between_processes(
    settings: Settings, connection: Connection
) -> None:
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis server on 127.0.0.1:6379 (or the redis package is missing)")
    # Two apps stand for two processes behind a load balancer.
    first = TestClient(_app(settings, connection, rate_limit_storage_url=url))
    second = TestClient(_app(settings, connection, rate_limit_storage_url=url))
    account = f"nobody-{uuid.uuid4().hex[:8]}"  # counters in Redis outlive the test
    with first, second:
        for c in (first, second, first):
            assert _login(c, account).status_code == 401
        _assert_retry_after(_login(second, account))
        limiter: RateLimiter = first.app.state.rate_limiter  # type: ignore[attr-defined]
        limiter.reset()
        assert _login(second, account).status_code == 401


def test_storage_failure_lets_requests_through(
    settings: Settings, connection: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    if _redis_url() is None:
        pytest.skip("the redis package is needed to point the limiter at a closed port")
    app = _app(settings, connection, rate_limit_storage_url="redis://127.0.0.1:1/0")
    with TestClient(app) as c:
        for _ in range(5):
            assert _login(c, "dispatcher").status_code == 401
    assert "rate-limit storage" in caplog.text
