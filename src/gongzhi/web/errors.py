"""Error pages for what DomainError does not cover: unknown paths (404), wrong methods (405)
and unexpected failures (500). Pages are in the reader's language; JSON callers get
``{"error": {"code", "message"}}``. A 500 never shows internals (the traceback goes to the log)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gongzhi.web.templating import render

log = logging.getLogger("gongzhi.web")

_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "internal"}
_MESSAGES = {
    404: "找不到这个页面 / Not found",
    405: "不支持这种操作 / Method not allowed",
    500: "系统出错了 / Internal error",
}

_FALLBACK_500 = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>500</title>'
    '<h1>系统出错了 / Internal error</h1><p><a href="/">返回首页 / Home</a></p></html>'
)


def _error_response(
    request: Request, status_code: int, headers: Mapping[str, str] | None
) -> Response:
    from gongzhi.app import wants_json

    code = _CODES.get(status_code, "error")
    message = _MESSAGES.get(status_code, "出错了 / Error")
    if wants_json(request):
        body = {"error": {"code": code, "message": message}}
        return JSONResponse(body, status_code=status_code, headers=headers)
    response = render(
        request,
        "web/error.html",
        # The page's heading already says what happened, in the reader's language.
        {"status_code": status_code, "code": code, "message": None},
        status_code=status_code,
    )
    if headers:
        response.headers.update(headers)
    return response


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(request, exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        try:
            return _error_response(request, 500, None)
        except Exception:  # the error page itself failed: still show nothing internal
            log.exception("error page failed")
            return HTMLResponse(_FALLBACK_500, status_code=500)
