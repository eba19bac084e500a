"""Security headers on every kind of response, a CSP without inline code, no-store on what
is personal, HSTS over HTTPS only, and templates that need nothing inline."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import PROJECT_ROOT, Settings
from gongzhi.security.deps import public
from gongzhi.security.headers import content_security_policy, tile_source
from tests.security.fixtures import login_as

SRC = PROJECT_ROOT / "src" / "gongzhi"
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = {
    "content-security-policy": EXPECTED_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "x-frame-options": "DENY",
}


def _session(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


def _assert_hardened(resp) -> None:  # type: ignore[no-untyped-def]
    for name, value in ALWAYS.items():
        assert resp.headers.get(name) == value, (resp.request.url, name, resp.headers.get(name))
    assert "geolocation=(self)" in resp.headers["permissions-policy"]
    assert "camera=()" in resp.headers["permissions-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/",  # public page
        "/login",  # sign-in form
        "/api/v1/me",  # API, 401
        "/api/openapi.json",
        "/api/docs",
        "/static/gongzhi.css",  # static file
        "/no/such/page",  # 404 page
        "/open311/v2/services.xml",
        "/healthz",
    ],
)
def test_every_kind_of_response_carries_the_headers(client: TestClient, path: str) -> None:
    resp = client.get(path, follow_redirects=False)
    assert resp.status_code < 500
    _assert_hardened(resp)
    assert "strict-transport-security" not in resp.headers  # plain HTTP here


def test_the_csp_allows_nothing_inline() -> None:
    csp = content_security_policy(Settings(env="test", _env_file=None))  # type: ignore[call-arg]
    assert csp == EXPECTED_CSP
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_a_map_tile_host_is_allowed_for_images_only() -> None:
    settings = Settings(  # type: ignore[call-arg]
        env="test", _env_file=None, map_tile_url="https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png"
    )
    csp = content_security_policy(settings)
    assert "img-src 'self' data: blob: https://*.tiles.example.gov.cn;" in csp
    assert csp.count("tiles.example.gov.cn") == 1
    assert tile_source("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png") == "http://10.1.2.3:8080"
    assert tile_source("") is None
    with pytest.raises(ValueError):
        tile_source("javascript:alert(1)")


def test_server_errors_carry_the_headers_too(settings: Settings, connection: Connection) -> None:
    app = create_app(settings, session_factory=lambda: _session(connection))

    @app.get("/failing-route-for-test", dependencies=[public()])
    def boom() -> None:
        raise RuntimeError("internal detail 7f3a")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/failing-route-for-test")
    assert resp.status_code == 500
    _assert_hardened(resp)
    assert "7f3a" not in resp.text


def test_personal_responses_are_not_stored(client: TestClient) -> None:
    # Anonymous public pages may be cached; API answers never.
    assert "cache-control" not in client.get("/").headers
    assert client.get("/api/v1/me").headers["cache-control"] == "no-store"
    assert client.get("/api/openapi.json").headers["cache-control"] == "no-store"
    login_as(client, "dispatcher")
    for path in ("/staff", "/", "/api/v1/me", "/account"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["cache-control"] == "no-store", path
    # Static files keep their validators and are not marked no-store.
    static = client.get("/static/gongzhi.css")
    assert static.headers.get("cache-control") != "no-store" and static.headers.get("etag")


def test_a_bearer_token_response_is_not_stored(client: TestClient) -> None:
    resp = client.get("/open311/v2/services.json", headers={"Authorization": "Bearer nope"})
    assert resp.headers["cache-control"] == "no-store"


@pytest.fixture
def https_client(settings: Settings, connection: Connection) -> Iterator[TestClient]:
    app = create_app(settings, session_factory=lambda: _session(connection))
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def test_hsts_only_over_https(https_client: TestClient, client: TestClient) -> None:
    hsts = https_client.get("/").headers["strict-transport-security"]
    assert hsts == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in client.get("/").headers


def test_hsts_can_be_switched_off(settings: Settings, connection: Connection) -> None:
    app = create_app(
        settings.model_copy(update={"hsts_max_age_seconds": 0}),
        session_factory=lambda: _session(connection),
    )
    with TestClient(app, base_url="https://testserver") as c:
        assert "strict-transport-security" not in c.get("/").headers


# --- nothing inline in the markup ------------------------------------------------------------

_TEMPLATES = sorted(SRC.glob("**/templates/**/*.html"))
_INLINE_STYLE = re.compile(r"\sstyle\s*=", re.I)
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
_JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.I)


def test_templates_exist() -> None:
    assert len(_TEMPLATES) > 20


@pytest.mark.parametrize("path", _TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_template_has_no_inline_script_style_or_handler(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8")
    # Jinja comments may mention what is forbidden.
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    problems = [
        f"{what}: {m.group(0)!r}"
        for what, pattern in (
            ("style attribute", _INLINE_STYLE),
            ("event handler attribute", _INLINE_HANDLER),
            ("inline script", _INLINE_SCRIPT),
            ("javascript: URL", _JS_URL),
        )
        for m in pattern.finditer(text)
    ]
    assert not problems, f"{path.name}: {problems}"


def test_own_scripts_write_no_inline_styles_into_markup() -> None:
    static = SRC / "web" / "static"
    scripts = [p for p in static.glob("**/*.js") if "vendor" not in p.relative_to(static).parts]
    assert scripts
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        # element.style.x = … goes through the CSSOM and is allowed; markup strings are not.
        assert not re.search(r"style\s*=\s*\\?[\"']", text), path.name
        assert "eval(" not in text and "new Function" not in text, path.name


def test_htmx_is_told_not_to_inject_its_style() -> None:
    base = (SRC / "web" / "templates" / "web" / "base.html").read_text(encoding="utf-8")
    assert '"includeIndicatorStyles": false' in base
    css = (SRC / "web" / "static" / "gongzhi.css").read_text(encoding="utf-8")
    assert ".htmx-indicator" in css and ".htmx-request" in css


def test_api_docs_load_only_local_assets(client: TestClient) -> None:
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    assert "http://" not in resp.text and "https://" not in resp.text
    srcs = re.findall(r'(?:src|href)="(/static/[^"]+)"', resp.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in srcs
    for src in srcs:
        assert client.get(src).status_code == 200, f"{src} missing (run `make assets`)"
    assert not _INLINE_SCRIPT.search(resp.text)
