"""One Jinja environment for every domain's ``templates/`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS_WITH_TEMPLATES = ("web", "security", "regions", "org", "audit")


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
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

# Hooks other modules fill in (csrf_input by security, translations by web.i18n).
context_processors: list[Any] = []


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    ctx: dict[str, Any] = {"request": request}
    for processor in context_processors:
        ctx.update(processor(request))
    ctx.update(context or {})
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
