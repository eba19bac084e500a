"""The interactive API reference at /api/docs: Swagger UI served from this origin.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script,
which the Content-Security-Policy (security/headers.py) forbids. This page loads the
npm-installed copy (``make assets`` puts it in static/vendor/swagger-ui) and a small script
file instead.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import escape

from gongzhi.security.deps import public

router = APIRouter(include_in_schema=False)

OPENAPI_URL = "/api/openapi.json"

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>共治 API / Gongzhi API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
  <div id="swagger-ui" data-openapi="{openapi}"></div>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/api/docs", response_class=HTMLResponse, dependencies=[public()])
def api_docs() -> HTMLResponse:
    return HTMLResponse(_PAGE.replace("{openapi}", str(escape(OPENAPI_URL))))
