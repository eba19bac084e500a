"""The shell's pages through the app: landing, homes, prefs, error pages."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from gongzhi.security.deps import public
from gongzhi.security.permissions import Role
from tests.web.conftest import VILLAGE, make_principal

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


def _assert_shell(html: str) -> None:
    """What every public page carries: skip link, switches, hotline, offline channel; and
    nothing a Content-Security-Policy without 'unsafe-inline' would block."""
    assert 'class="skip-link" href="#main"' in html
    assert 'id="main"' in html
    assert "/prefs?elderly=" in html
    assert "/prefs?lang=en" in html and "/prefs?lang=zh_CN" in html
    assert "/prefs?size=l" in html
    assert 'href="tel:12345"' in html
    assert "/static/vendor/htmx.min.js" in html
    assert not INLINE_SCRIPT.search(html), "inline <script>"
    assert not INLINE_STYLE.search(html), "inline style"
    assert not INLINE_HANDLER.search(html), "inline event handler"


def test_landing_page_is_public_and_chinese_by_default(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.text
    assert '<html lang="zh-CN">' in html
    _assert_shell(html)
    for text in ("反映问题", "我的诉求", "办事服务", "工作人员登录", "即将开放", "便民服务站"):
        assert text in html
    assert 'href="/login?next=%2Fstaff"' in html


def test_landing_page_in_english_from_accept_language(client: TestClient) -> None:
    resp = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert '<html lang="en">' in resp.text
    assert resp.headers["content-language"] == "en"
    assert "Accept-Language" in resp.headers["vary"]
    assert "Report a problem" in resp.text
    assert "Hotline" in resp.text
    assert "反映问题" not in resp.text


def test_language_cookie_beats_accept_language(client: TestClient) -> None:
    client.cookies.set("lang", "zh_CN")
    resp = client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in resp.text


def test_principal_locale_between_cookie_and_accept_language(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    sign_in(make_principal(Role.DISPATCHER, locale="en"))
    resp = client.get("/staff", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in resp.text
    client.cookies.set("lang", "zh_CN")
    resp = client.get("/staff", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in resp.text


def test_prefs_set_cookies_and_go_back(client: TestClient) -> None:
    resp = client.get("/prefs?lang=en&next=%2Fcitizen%3Fa%3D1", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/citizen?a=1"
    cookie = resp.headers["set-cookie"]
    assert "lang=en" in cookie and "Path=/" in cookie and "samesite=lax" in cookie.lower()

    resp = client.get("/prefs?elderly=1&next=/", follow_redirects=True)
    assert resp.status_code == 200
    assert 'class="elderly"' in resp.text
    assert "Leave elderly mode" in resp.text  # the language chosen above stays
    assert "/prefs?elderly=0" in resp.text

    resp = client.get("/prefs?size=xl&next=/")
    assert 'class="elderly size-xl"' in resp.text
    assert 'href="/prefs?size=xl&amp;next=%2F" aria-current="true"' in resp.text

    resp = client.get("/prefs?elderly=0&size=m&next=/")
    assert '<html lang="en">' in resp.text  # no class left


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\r\nSet-Cookie:x=1",
        "",
    ],
)
def test_prefs_never_redirect_off_site(client: TestClient, target: str) -> None:
    resp = client.get("/prefs", params={"lang": "en", "next": target}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/"


def test_prefs_ignore_unknown_values(client: TestClient) -> None:
    resp = client.get("/prefs?lang=fr&elderly=yes&size=huge&next=/", follow_redirects=False)
    assert resp.status_code == 303
    assert "set-cookie" not in resp.headers


def test_switch_links_return_to_the_current_page(client: TestClient) -> None:
    resp = client.get("/nowhere?x=1")
    assert "/prefs?lang=en&amp;next=%2Fnowhere%3Fx%3D1" in resp.text


def test_citizen_home_needs_sign_in(client: TestClient) -> None:
    resp = client.get("/citizen", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/citizen"


def test_citizen_home(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    sign_in(make_principal(Role.CITIZEN, name="王秀英"))
    resp = client.get("/citizen")
    assert resp.status_code == 200
    html = resp.text
    _assert_shell(html)
    assert "你好，王秀英" in html
    assert "你还没有反映过问题" in html
    assert "王秀英" in html.split("</header>")[0]  # signed-in user in the header
    assert 'action="/logout"' in html and 'method="post"' in html


def test_staff_home_shows_roles_and_regions(client: TestClient, sign_in, db) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.regions.models import Region

    sign_in(make_principal(Role.GRID_WORKER, VILLAGE, name="李建国"))
    resp = client.get("/staff")
    assert resp.status_code == 200
    html = resp.text
    assert "你好，李建国" in html
    assert "网格员" in html
    assert VILLAGE in html
    assert db.get(Region, VILLAGE) is not None  # seeded with 湖州市
    assert "安吉县鄣吴镇玉华村" in html


def test_staff_home_names_a_region_it_does_not_know_by_its_code(
    client: TestClient, sign_in
) -> None:  # type: ignore[no-untyped-def]
    sign_in(make_principal(Role.LEADER, "990000000000"))
    html = client.get("/staff").text
    assert "领导" in html and "990000000000" in html


def test_staff_home_in_english(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    sign_in(make_principal(Role.DISPATCHER, name="刘洋"))
    client.cookies.set("lang", "en")
    html = client.get("/staff").text
    assert "Hello, 刘洋" in html
    assert "Command centre dispatcher" in html
    assert "Sign out" in html


def test_citizen_may_not_open_staff_home(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    sign_in(make_principal(Role.CITIZEN))
    resp = client.get("/staff")
    assert resp.status_code == 403
    assert "没有权限" in resp.text
    client.cookies.set("lang", "en")
    resp = client.get("/staff")
    assert resp.status_code == 403
    assert "Not allowed" in resp.text
    assert "没有权限" not in resp.text


def test_staff_tiles_follow_permissions_and_existing_pages(app, sign_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.security.permissions import Permission
    from gongzhi.web import pages

    extra = APIRouter()

    @extra.get("/test-area/departments", dependencies=[public()])
    def departments() -> dict[str, str]:
        return {}

    @extra.get("/test-area/audit", dependencies=[public()])
    def audit() -> dict[str, str]:
        return {}

    app.include_router(extra)
    monkeypatch.setattr(
        pages,
        "STAFF_TILES",
        (
            pages.Tile("部门", "", Permission.DEPARTMENT_READ, ("/test-area/departments",)),
            pages.Tile("审计日志", "", Permission.AUDIT_READ, ("/nope", "/test-area/audit")),
            pages.Tile("权责清单", "", Permission.RESPONSIBILITY_READ, ("/test-area/missing",)),
        ),
    )
    with TestClient(app) as client:
        sign_in(make_principal(Role.DISPATCHER))
        html = client.get("/staff").text
        assert 'href="/test-area/departments"' in html  # DEPARTMENT_READ: every staff role
        assert 'href="/test-area/audit"' not in html  # AUDIT_READ: audit administrator only
        assert "权责清单" not in html  # no such page served

    with TestClient(app) as client:
        sign_in(make_principal(Role.AUDIT_ADMIN))
        html = client.get("/staff").text
        assert 'href="/test-area/audit"' in html  # the first path the app serves


def test_staff_home_links_the_areas_that_exist(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.web.pages import STAFF_TILES, _served_pages

    admin = make_principal(Role.SYSTEM_ADMIN)
    sign_in(admin)
    html = client.get("/staff").text
    served = _served_pages(client.app)  # type: ignore[arg-type]
    assert "/account" in served
    for tile in STAFF_TILES:
        for path in tile.paths:
            if path in served and admin.can(tile.permission):
                assert f'href="{path}"' in html
                break


def test_unknown_page_is_a_translated_404(client: TestClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "找不到这个页面" in resp.text
    _assert_shell(resp.text)
    client.cookies.set("lang", "en")
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "Page not found" in resp.text


def test_unknown_api_path_is_a_json_404(client: TestClient) -> None:
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405(client: TestClient) -> None:
    resp = client.post("/staff")
    assert resp.status_code == 405
    assert "不支持这种操作" in resp.text


def test_server_error_page_shows_no_internals(app) -> None:  # type: ignore[no-untyped-def]
    boom = APIRouter()

    @boom.get("/boom", dependencies=[public()])
    def explode() -> None:
        raise RuntimeError("secret-internal-detail at /srv/gongzhi/db.py line 42")

    @boom.get("/api/v1/boom", dependencies=[public()])
    def explode_json() -> None:
        raise RuntimeError("secret-internal-detail")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/boom")
        assert resp.status_code == 500
        assert "系统出错了" in resp.text
        assert "secret-internal-detail" not in resp.text
        assert "Traceback" not in resp.text and "RuntimeError" not in resp.text
        resp = client.get("/api/v1/boom")
        assert resp.status_code == 500
        assert resp.json() == {
            "error": {"code": "internal", "message": "系统出错了 / Internal error"}
        }


def test_landing_page_leads_a_signed_in_user_home(client: TestClient, sign_in) -> None:  # type: ignore[no-untyped-def]
    assert "进入工作台" not in client.get("/").text
    sign_in(make_principal(Role.TOWNSHIP_CLERK))
    html = client.get("/").text
    assert 'href="/staff">进入工作台' in html
    sign_in(make_principal(Role.CITIZEN))
    assert 'href="/citizen">进入我的主页' in client.get("/").text
