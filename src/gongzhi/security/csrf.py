"""Cross-site request forgery protection for pages.

* Signed-in browsers: every unsafe request authenticated by the session cookie carries the
  session's synchroniser token (form field ``csrf_token`` or header ``X-CSRF-Token``);
  ``authenticate`` refuses it with 403 otherwise. Bearer-token requests are exempt: a
  cross-site page cannot make a browser send an ``Authorization`` header.
* The sign-in form, before any session exists: a double-submit token. ``GET /login`` sets a
  random nonce in the ``gz_login`` cookie and puts ``HMAC(secret_key, nonce|time)`` in the
  form; ``POST /login`` accepts it only with the matching cookie and within an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request
from markupsafe import Markup, escape

from gongzhi.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "gz_login"
LOGIN_TOKEN_MAX_AGE = 3600


async def submitted_csrf_token(request: Request) -> str | None:
    """The token an unsafe request carries (header first, then the form field).

    A route dependency so that the form is read asynchronously; FastAPI caches the parsed
    form, so the endpoint's own ``Form`` parameters still see it.
    """
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    return None


def submitted(request: Request) -> str | None:
    token = getattr(request.state, "csrf_submitted", None)
    return token or request.headers.get(HEADER)


def check_session_token(request: Request, expected: str) -> None:
    """Refuse an unsafe request whose token does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    given = submitted(request)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden(
            "请求校验失败，请刷新页面后重试 / The form has expired; reload the page and try again",
            code="csrf_failed",
        )


# --- the sign-in form's pre-session token --------------------------------------------------


def _sign(secret: str, nonce: str, issued: int) -> str:
    msg = f"login|{nonce}|{issued}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_token(secret: str, nonce: str, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return f"{issued}.{_sign(secret, nonce, issued)}"


def login_token_valid(secret: str, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token or "." not in token:
        return False
    issued_s, sig = token.split(".", 1)
    if not issued_s.isdigit():
        return False
    issued = int(issued_s)
    if not 0 <= time.time() - issued <= LOGIN_TOKEN_MAX_AGE:
        return False
    return hmac.compare_digest(sig, _sign(secret, nonce, issued))


# --- the template hook -------------------------------------------------------------------


def csrf_processor(request: Request) -> dict[str, object]:
    """Context processor: ``{{ csrf_input() }}`` renders the hidden token field and
    ``csrf_token`` is the bare value (for htmx's ``hx-headers``)."""
    # The sign-in form carries its pre-session token even if a half-finished session exists.
    nonce = getattr(request.state, "login_nonce", None)
    if nonce is not None:
        secret = request.app.state.settings.secret_key.get_secret_value()
        token: str | None = login_token(secret, nonce)
    else:
        token = getattr(request.state, "csrf_token", None)

    def csrf_input() -> Markup:
        if not token:
            return Markup("")
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))

    return {"csrf_input": csrf_input, "csrf_token": token or ""}
