"""Reader preferences kept in cookies: language, elderly mode (长辈模式) and text size.

They work without JavaScript: each switch is a plain link to ``GET /prefs`` that sets the
cookie and redirects back to a local page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request

from gongzhi.crypto.identifiers import mask_identifiers

ELDERLY_COOKIE = "elderly"
SIZE_COOKIE = "textsize"
TEXT_SIZES = ("m", "l", "xl")  # standard, large, extra large
COOKIE_MAX_AGE = 365 * 24 * 3600


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to; anything that could leave the site becomes ``default``."""
    if not target or any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def is_elderly(request: Request) -> bool:
    return request.cookies.get(ELDERLY_COOKIE) == "1"


def text_size(request: Request) -> str:
    size = request.cookies.get(SIZE_COOKIE, "m")
    return size if size in TEXT_SIZES else "m"


def current_target(request: Request) -> str:
    """This page as a ``next`` value (path and query), URL-encoded for a query string."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.url.path == "/prefs":  # never bounce back into the switch itself
        target = safe_next(request.query_params.get("next"))
    if mask_identifiers(unquote(target)) != unquote(target):
        # An ID or mobile number in the address (a mistyped link, a probe) is not repeated
        # in the page's own links: the switches lead home instead.
        target = "/"
    return quote(target, safe="")


def shell_context(request: Request) -> dict[str, Any]:
    """Context processor: what the base layout needs on every page."""
    settings = getattr(request.app.state, "settings", None)
    elderly = is_elderly(request)
    size = text_size(request)
    classes = ["elderly"] if elderly else []
    if size != "m":
        classes.append(f"size-{size}")
    return {
        "principal": getattr(request.state, "principal", None),
        "elderly": elderly,
        "text_size": size,
        "text_sizes": TEXT_SIZES,
        "html_class": " ".join(classes),
        "here": current_target(request),
        "hotline": getattr(settings, "hotline", "12345"),
    }
