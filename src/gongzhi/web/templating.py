"""One Jinja environment for every domain's ``templates/`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gongzhi.web.i18n import bilingual_filter, date_filter, datetime_filter, i18n_context
from gongzhi.web.prefs import shell_context

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS_WITH_TEMPLATES = ("web", "security", "regions", "org", "audit", "cases", "notify")


def _template_dirs() -> list[str]:
    return [
        str(PACKAGE_DIR / d / "templates")
        for d in DOMAINS_WITH_TEMPLATES
        if (PACKAGE_DIR / d / "templates").is_dir()
    ]


env = Environment(
    loader=FileSystemLoader(_template_dirs()),
    autoescape=select_autoescape(["html", "xml"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# The fallback for templates rendered outside a request; per-request translations come from
# the context (web.i18n.i18n_context) and are never installed here, since env is shared.
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
env.filters["datetime"] = datetime_filter
env.filters["date"] = date_filter
env.filters["bilingual"] = bilingual_filter

# Hooks other modules fill in (csrf_input by security). Each takes the request and returns a
# dict merged into every page's context.
context_processors: list[Any] = [i18n_context, shell_context]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    ctx: dict[str, Any] = {"request": request}
    for processor in context_processors:
        ctx.update(processor(request))
    ctx.update(context or {})
    html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    # The page depends on the language and display cookies and on Accept-Language.
    response.headers["Content-Language"] = str(ctx.get("lang", "zh-CN"))
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response
