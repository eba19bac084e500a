"""Security headers on every response (pages, API, static files, error pages).

The Content-Security-Policy allows scripts, styles, fonts and connections from this origin
only, and no inline script or style: the templates carry no ``<script>`` bodies, ``style="…"``
attributes or ``on…=`` handlers, htmx is told not to inject its indicator ``<style>`` (the
``htmx-config`` meta tag in web/base.html; the rules are in gongzhi.css), and ECharts and
Leaflet set element styles through the CSSOM, which CSP does not restrict. Images may also be
``data:``/``blob:`` URLs (Leaflet's and ECharts' own) and come from the configured map-tile host.

A header the route already set is left as it is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongzhi.config import Settings
from gongzhi.security.auth import SESSION_COOKIE


def tile_source(url_template: str) -> str | None:
    """The CSP source for a Leaflet tile URL template: its scheme and host, with a
    ``{s}``-style subdomain placeholder turned into a ``*.`` wildcard."""
    if not url_template.strip():
        return None
    parts = urlsplit(url_template.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"map_tile_url {url_template!r} is not an http(s) URL template")
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{" in host:
        labels = host.split(".")
        first_fixed = max(i for i, label in enumerate(labels) if "{" in label) + 1
        host = "*." + ".".join(labels[first_fixed:])
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings) -> str:
    img = ["'self'", "data:", "blob:"]
    tiles = tile_source(settings.map_tile_url)
    if tiles:
        img.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": img,
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


# Powerful browser features: the report form may ask for the device's position (on a tap);
# nothing uses the camera API (photos come through <input type=file>, which needs no
# permission), the microphone, payments or USB.
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"


def static_headers(settings: Settings) -> list[tuple[str, str]]:
    return [
        ("content-security-policy", content_security_policy(settings)),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("permissions-policy", PERMISSIONS_POLICY),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        # For browsers older than CSP frame-ancestors.
        ("x-frame-options", "DENY"),
    ]


def _carries_credentials(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    if headers.get("authorization"):
        return True
    cookie = headers.get("cookie", "")
    return any(part.strip().startswith(SESSION_COOKIE + "=") for part in cookie.split(";"))


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response. ``Cache-Control: no-store`` goes on every
    API response and on every response to a request that carries a session cookie or a
    bearer token (pages with personal data must not stay in a shared computer's cache);
    static files keep their own caching."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = static_headers(settings)
        self.hsts = (
            f"max-age={settings.hsts_max_age_seconds}; includeSubDomains"
            if settings.hsts_max_age_seconds > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_static = path.startswith("/static/")
        no_store = not is_static and (path.startswith("/api/") or _carries_credentials(scope))
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    headers.setdefault(name, value)
                if https and self.hsts:
                    headers.setdefault("strict-transport-security", self.hsts)
                if no_store and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
