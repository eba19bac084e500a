"""Sign-in, second factor, sign-out and the own-account pages.

Signing in is a short sequence of steps on one server-side session: password, then the TOTP
code (administrators always, others once they set it up), then a forced password change when
the password has expired. Until the last step is done the session is not a principal for
any route but these pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from gongzhi.errors import Invalid
from gongzhi.security import csrf, ratelimit, services
from gongzhi.security.auth import SESSION_COOKIE, SessionState, load_session
from gongzhi.security.deps import DB, public, require
from gongzhi.security.models import ApiToken
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.security.totp import provisioning_svg, provisioning_uri
from gongzhi.web.prefs import safe_next
from gongzhi.web.templating import context_processors, render

router = APIRouter(tags=["security"], include_in_schema=False)

if csrf.csrf_processor not in context_processors:
    context_processors.append(csrf.csrf_processor)


def home_for(kind: str) -> str:
    return "/citizen" if kind == "citizen" else "/staff"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with_next(path: str, next_url: str | None) -> str:
    return f"{path}?next={quote(next_url, safe='')}" if next_url else path


def _after_login(state: SessionState, next_url: str | None) -> RedirectResponse:
    step = state.next_step()
    if step is not None:
        return _redirect(_with_next(step, next_url))
    return _redirect(safe_next(next_url, home_for(state.account.kind)))


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def _clear_session_cookie(request: Request, response: Response) -> None:
    settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )


def _refused(request: Request, username: str) -> ratelimit.RateLimited | None:
    """Count a sign-in attempt (per client address and per account name)."""
    try:
        ratelimit.enforce(request, ratelimit.login_checks(request, username))
    except ratelimit.RateLimited as exc:
        return exc
    return None


# --- password step ------------------------------------------------------------------------


def _login_form(
    request: Request,
    *,
    username: str = "",
    next_url: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    nonce = csrf.new_login_nonce()
    request.state.login_nonce = nonce
    response = render(
        request,
        "security/login.html",
        {
            "username": username,
            "next": safe_next(next_url, ""),
            "errors": errors or [],
            "max_failures": settings.login_max_failures,
        },
        status_code=status_code,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        nonce,
        max_age=csrf.LOGIN_TOKEN_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/login",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
def login_page(
    request: Request, db: DB, next: str | None = None, principal: Principal | None = public()
) -> Response:
    if principal is not None:
        return _redirect(safe_next(next, home_for(principal.kind)))
    return _login_form(request, next_url=next)


@router.post("/login")
def login(
    request: Request,
    db: DB,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
    _: Principal | None = public(),
) -> Response:
    settings = request.app.state.settings
    refused = _refused(request, username)
    if refused is not None:
        response = _login_form(
            request, username=username, next_url=next, errors=[refused.message], status_code=429
        )
        response.headers.update(refused.headers)
        return response
    secret = settings.secret_key.get_secret_value()
    if not csrf.login_token_valid(secret, request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        return _login_form(
            request,
            username=username,
            next_url=next,
            errors=["页面已过期，请重新登录 / The page expired; please sign in again"],
            status_code=400,
        )
    result = services.check_credentials(
        db, username=username, password=password, channel="web", settings=settings
    )
    if not result.ok or result.account is None:
        return _login_form(
            request,
            username=username,
            next_url=next,
            errors=[services.GENERIC_LOGIN_ERROR],
            status_code=401,
        )
    old = load_session(request, db)
    if old is not None:  # never carry a session over from before the sign-in
        services.end_session(db, old.session, reason="new_login")
    session, token = services.start_session(
        db, result.account, user_agent=request.headers.get("user-agent"), settings=settings
    )
    request.state.gz_session_state = None  # the old cached state is gone
    state = SessionState(
        session=session,
        account=result.account,
        grants=(),
        mfa_required=services.requires_mfa(db, result.account),
        password_due=services.password_change_due(result.account, settings),
    )
    response = _after_login(state, next or None)
    _set_session_cookie(request, response, token)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


# --- second factor ------------------------------------------------------------------------


def _pending(request: Request, db: DB) -> SessionState | None:
    return load_session(request, db)


@router.get("/login/totp")
def totp_page(
    request: Request, db: DB, next: str | None = None, _: Principal | None = public()
) -> Response:
    state = _pending(request, db)
    if state is None:
        return _redirect(_with_next("/login", next))
    if not state.needs_mfa or state.needs_enrolment:
        return _after_login(state, next)
    return render(request, "security/totp.html", {"next": safe_next(next, ""), "errors": []})


@router.post("/login/totp")
def totp_submit(
    request: Request,
    db: DB,
    code: str = Form(""),
    next: str = Form(""),
    _: Principal | None = public(),
) -> Response:
    state = _pending(request, db)
    if state is None:
        return _redirect("/login")
    csrf.check_session_token(request, state.session.csrf_token)
    if not state.needs_mfa or state.needs_enrolment:
        return _after_login(state, next or None)
    refused = _refused(request, state.account.username)
    if refused is not None:
        page = render(
            request,
            "security/totp.html",
            {"next": safe_next(next, ""), "errors": [refused.message]},
            status_code=429,
        )
        page.headers.update(refused.headers)
        return page
    settings = request.app.state.settings
    if not services.pass_mfa(db, state.session, state.account, code, settings=settings):
        if state.session.revoked_at is not None:  # locked out by this failure
            response = _login_form(
                request, next_url=next, errors=[services.GENERIC_LOGIN_ERROR], status_code=401
            )
            _clear_session_cookie(request, response)
            return response
        return render(
            request,
            "security/totp.html",
            {
                "next": safe_next(next, ""),
                "errors": ["动态口令不正确或已使用过 / The code is wrong or was already used"],
            },
            status_code=401,
        )
    return _after_login(state, next or None)


@router.get("/login/totp/setup")
def totp_setup_page(
    request: Request, db: DB, next: str | None = None, _: Principal | None = public()
) -> Response:
    state = _pending(request, db)
    if state is None:
        return _redirect(_with_next("/login", next))
    account = state.account
    if account.totp_confirmed_at is not None or not (state.mfa_required or state.complete):
        return _after_login(state, next)
    if account.totp_secret is None:
        services.begin_totp_enrolment(db, account, actor=services.AccountActor.of(account))
    return _setup_form(request, state, next, errors=[])


def _setup_form(
    request: Request,
    state: SessionState,
    next_url: str | None,
    errors: list[str],
    status_code: int | None = None,
) -> Response:
    account = state.account
    assert account.totp_secret is not None
    uri = provisioning_uri(account.totp_secret, account.username)
    secret = account.totp_secret
    response = render(
        request,
        "security/totp_setup.html",
        {
            "next": safe_next(next_url, ""),
            "errors": errors,
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "qr_svg": provisioning_svg(uri),
            "required": state.mfa_required,
        },
        status_code=status_code or (422 if errors else 200),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/login/totp/setup")
def totp_setup_submit(
    request: Request,
    db: DB,
    code: str = Form(""),
    next: str = Form(""),
    _: Principal | None = public(),
) -> Response:
    state = _pending(request, db)
    if state is None:
        return _redirect("/login")
    csrf.check_session_token(request, state.session.csrf_token)
    account = state.account
    if account.totp_confirmed_at is not None or account.totp_secret is None:
        return _after_login(state, next or None)
    refused = _refused(request, account.username)
    if refused is not None:
        response = _setup_form(request, state, next, [refused.message], status_code=429)
        response.headers.update(refused.headers)
        return response
    if not services.confirm_totp(db, account, code, actor=services.AccountActor.of(account)):
        return _setup_form(
            request, state, next, ["动态口令不正确 / The code is wrong; try the current one"]
        )
    # Confirming the code proves the second factor for this session too.
    services.mark_mfa_passed(db, state.session, account)
    state.mfa_required = True
    return _after_login(state, next or None)


# --- sign out -----------------------------------------------------------------------------


@router.post("/logout")
def logout(request: Request, db: DB, _: Principal | None = public()) -> Response:
    state = load_session(request, db)
    if state is not None:
        csrf.check_session_token(request, state.session.csrf_token)
        services.end_session(db, state.session, reason="logout")
    response = _redirect("/login")
    _clear_session_cookie(request, response)
    return response


# --- own account --------------------------------------------------------------------------


@router.get("/account")
def account_page(
    request: Request, db: DB, principal: Principal = require(Permission.OWN_ACCOUNT)
) -> Response:
    state = load_session(request, db)
    tokens = list(
        db.scalars(
            select(ApiToken)
            .where(ApiToken.account_id == principal.account_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc())
        )
    )
    account = state.account if state else None
    return render(
        request,
        "security/account.html",
        {
            "account": account,
            "tokens": tokens,
            "totp_on": bool(account and account.totp_confirmed_at),
        },
    )


def _password_form(
    request: Request,
    state: SessionState,
    next_url: str | None,
    errors: list[str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "security/password.html",
        {
            "next": safe_next(next_url, ""),
            "errors": errors,
            "forced": state.password_due,
            "min_length": request.app.state.settings.password_min_length,
        },
        status_code=status_code,
    )


@router.get("/account/password")
def password_page(
    request: Request, db: DB, next: str | None = None, _: Principal | None = public()
) -> Response:
    state = load_session(request, db)
    if state is None:
        return _redirect(_with_next("/login", "/account/password"))
    if state.needs_mfa:
        return _after_login(state, next)
    return _password_form(request, state, next, [])


@router.post("/account/password")
def password_submit(
    request: Request,
    db: DB,
    current_password: str = Form(""),
    new_password: str = Form(""),
    new_password_again: str = Form(""),
    next: str = Form(""),
    _: Principal | None = public(),
) -> Response:
    state = load_session(request, db)
    if state is None:
        return _redirect("/login")
    csrf.check_session_token(request, state.session.csrf_token)
    if state.needs_mfa:
        return _after_login(state, next or None)
    if new_password != new_password_again:
        return _password_form(
            request, state, next, ["两次输入的新密码不一致 / The new passwords differ"], 422
        )
    try:
        services.change_password(
            db,
            state.account,
            current_password=current_password,
            new_password=new_password,
            actor=services.AccountActor.of(state.account),
            settings=request.app.state.settings,
        )
    except Invalid as exc:
        errors: list[Any] = exc.details if isinstance(exc.details, list) else [exc.message]
        return _password_form(request, state, next, errors, 422)
    services.end_other_sessions(db, state.account, keep=state.session)
    state.password_due = False
    return _after_login(state, next or None)
