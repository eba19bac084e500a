"""The application factory: mounts every domain's routers, error handlers and static files."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gongzhi.config import Settings, get_settings
from gongzhi.crypto.identifiers import mask_identifiers
from gongzhi.db import make_engine, make_session_factory
from gongzhi.errors import DomainError, Unauthenticated
from gongzhi.security.headers import SecurityHeadersMiddleware
from gongzhi.security.ratelimit import PathRule, RateLimited, RateLimiter, RateLimitMiddleware
from gongzhi.security.request_size import RequestSizeLimitMiddleware, RequestTooLarge, SizeRule
from gongzhi.web.templating import PACKAGE_DIR, render

JSON_PREFIXES = ("/api/", "/open311/")


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def create_app(settings: Settings | None = None, *, session_factory: Any = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="Gongzhi 共治",
        version="0.1.0",
        # /api/docs is served by web/apidocs.py from local assets (the CSP forbids a CDN).
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    if session_factory is None:
        app.state.engine = make_engine(settings.database_url)
        session_factory = make_session_factory(app.state.engine)
    app.state.session_factory = session_factory

    _mount_routers(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "web" / "static"), name="static")
    _install_error_handlers(app)
    from gongzhi.web.errors import install_error_pages

    install_error_pages(app)  # 404/405 for unknown paths and a 500 page without internals
    _install_hardening(app, settings)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.settings.env != "test":
        # Build the address index (all of China: a few seconds) in the background, so the
        # first citizen who types an address does not wait for it.
        from gongzhi.regions.resolver import warm_up

        threading.Thread(
            target=warm_up,
            args=(app.state.session_factory, app.state.settings.home_region),
            name="resolver-warm-up",
            daemon=True,
        ).start()
        from gongzhi.cases import classify

        threading.Thread(
            target=classify.warm_up,
            args=(app.state.session_factory,),
            name="classifier-warm-up",
            daemon=True,
        ).start()
    scheduler = None
    if app.state.settings.jobs_in_process:
        # The embedded default runs the background jobs here; `gongzhi worker` does at scale.
        from gongzhi.jobs import Scheduler

        scheduler = Scheduler(app.state.session_factory, app.state.settings)
        scheduler.start()
    yield
    if scheduler is not None:
        scheduler.stop()


def _mount_routers(app: FastAPI) -> None:
    from gongzhi.audit import api as audit_api
    from gongzhi.audit import pages as audit_pages
    from gongzhi.cases import api as cases_api
    from gongzhi.cases import duplicates as cases_duplicates
    from gongzhi.cases import indicators as cases_indicators
    from gongzhi.cases import open311
    from gongzhi.cases import pages as cases_pages
    from gongzhi.cases import staff_pages as cases_staff_pages
    from gongzhi.cases import summons as cases_summons
    from gongzhi.data import api as data_api
    from gongzhi.data import findings_pages, master_index_pages
    from gongzhi.data import pages as data_pages
    from gongzhi.data.sharing import api as sharing_api
    from gongzhi.data.sharing import pages as sharing_pages
    from gongzhi.notify import api as notify_api
    from gongzhi.notify import pages as notify_pages
    from gongzhi.opendata import ckan as opendata_ckan
    from gongzhi.opendata import dcat as opendata_dcat
    from gongzhi.opendata import pages as opendata_pages
    from gongzhi.org import api as org_api
    from gongzhi.org import pages as org_pages
    from gongzhi.privacy import api as privacy_api
    from gongzhi.privacy import pages as privacy_pages
    from gongzhi.regions import api as regions_api
    from gongzhi.regions import pages as regions_pages
    from gongzhi.security import api as security_api
    from gongzhi.security import pages as security_pages
    from gongzhi.web import apidocs, health
    from gongzhi.web import pages as web_pages

    for module in (
        health,
        apidocs,
        web_pages,
        security_pages,
        security_api,
        regions_pages,
        regions_api,
        org_pages,
        org_api,
        cases_pages,
        cases_staff_pages,
        cases_duplicates,
        cases_summons,
        cases_indicators,
        cases_api,
        open311,
        notify_api,
        notify_pages,
        data_pages,
        master_index_pages,
        findings_pages,
        data_api,
        sharing_pages,
        sharing_api,
        opendata_ckan,
        opendata_dcat,
        opendata_pages,
        audit_pages,
        audit_api,
        privacy_pages,
        privacy_api,
    ):
        app.include_router(module.router)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, RateLimited | RequestTooLarge):
            return refusal_response(request, exc)
        if wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
            return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=headers)
        if isinstance(exc, Unauthenticated):
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return render(
            request,
            "web/error.html",
            {"status_code": exc.status_code, "code": exc.code, "message": exc.message},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Where and what, never the input itself (FastAPI's default echoes it): a malformed
        # request with a phone number in it must not get the number back. Locations and
        # messages can quote the request too (a dict key, a literal), so they are masked.
        details = [
            {
                "loc": [mask_identifiers(p) if isinstance(p, str) else p for p in e.get("loc", ())],
                "msg": mask_identifiers(str(e.get("msg", ""))),
            }
            for e in exc.errors()
        ]
        body = {
            "error": {
                "code": "invalid",
                "message": "请求参数有误 / Invalid request",
                "details": details,
            }
        }
        return JSONResponse(body, status_code=422)


def refusal_response(request: Request, exc: DomainError) -> Response:
    """A request refused at the door (429 rate limit, 413 too large) in the caller's format:
    Open311's error list, the JSON error body, or a page in the reader's language."""
    headers = dict(getattr(exc, "headers", {}) or {})
    path = request.url.path
    if path.startswith("/open311/"):
        from gongzhi.cases import open311

        fmt = "json" if path.lower().endswith(".json") else "xml"
        response = open311._error(fmt, exc.status_code, exc.message)
        response.headers.update(headers)
        return response
    if wants_json(request):
        return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=headers)
    response = render(
        request,
        "web/error.html",
        {"status_code": exc.status_code, "code": exc.code, "message": exc.message},
        status_code=exc.status_code,
    )
    response.headers.update(headers)
    return response


# Upload routes and what their bodies may hold: the files the route accepts plus room for the
# multipart framing and the other fields.
_MULTIPART_ROOM = 256 * 1024


def _upload_size_rules() -> list[SizeRule]:
    from gongzhi.cases.attachments import MAX_BYTES, MAX_PHOTOS
    from gongzhi.data.runs import UPLOAD_LIMIT_BYTES
    from gongzhi.org.api import MAX_IMPORT_BYTES

    return [
        SizeRule(re.compile(r"/report/photos"), MAX_PHOTOS * MAX_BYTES + _MULTIPART_ROOM),
        SizeRule(
            re.compile(r"(/api/v1)?/org/responsibilities/import"),
            MAX_IMPORT_BYTES + _MULTIPART_ROOM,
        ),
        SizeRule(
            re.compile(r"(/api/v1)?/data/datasets/[^/]+/imports"),
            UPLOAD_LIMIT_BYTES + _MULTIPART_ROOM,
        ),
    ]


# Public POSTs counted per client address (sign-in is counted in its routes, where the
# account name is known).
_RATE_LIMITED_PATHS = [
    PathRule("report_address", re.compile(r"/report(/.*)?")),
    PathRule("report_address", re.compile(r"/api/v1/cases")),
    PathRule("open311_address", re.compile(r"/open311/.*")),
]


def _install_hardening(app: FastAPI, settings: Settings) -> None:
    """Rate limits, body size limits and security headers (docs/security.md)."""
    app.state.rate_limiter = RateLimiter(settings)
    app.add_middleware(
        RequestSizeLimitMiddleware,
        default_max_bytes=settings.request_max_bytes,
        rules=_upload_size_rules(),
        refuse=refusal_response,
    )
    app.add_middleware(
        RateLimitMiddleware,
        limiter=app.state.rate_limiter,
        rules=_RATE_LIMITED_PATHS,
        refuse=refusal_response,
    )
    # The headers go around the whole stack, Starlette's own 500 handler included, so that
    # error pages carry them too; user middleware would sit inside that handler.
    build_stack = app.build_middleware_stack

    def build_with_headers() -> Any:
        return SecurityHeadersMiddleware(build_stack(), settings)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
