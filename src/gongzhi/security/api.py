"""JSON API of the security domain: who am I, API tokens, accounts and role grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from gongzhi.errors import Forbidden, NotFound
from gongzhi.security import ratelimit, services
from gongzhi.security.deps import DB, public, require
from gongzhi.security.models import Account, ApiToken
from gongzhi.security.permissions import Permission, Role
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["security"])

# Database ids in paths: anything beyond a 64-bit key cannot exist (and would not bind).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp_code: str | None = Field(default=None, max_length=12)
    name: str = Field(default="api", max_length=100)
    expires_days: int | None = Field(default=90, ge=1, le=365)


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedToken(TokenOut):
    token: str  # shown once; only its hash is kept


class GrantIn(BaseModel):
    role: Role
    region_code: str = Field(min_length=12, max_length=15)


class AccountIn(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    kind: str = Field(pattern="^(staff|citizen)$")
    password: str = Field(max_length=256)
    grants: list[GrantIn] = Field(default_factory=list)


def _token_out(t: ApiToken) -> dict[str, Any]:
    return TokenOut.model_validate(t, from_attributes=True).model_dump(mode="json")


def _account_out(db: DB, a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "kind": a.kind,
        "active": a.active,
        "locked": a.locked_until is not None and a.locked_until > services.clock.now(),
        "totp": a.totp_confirmed_at is not None,
        "roles": [{"role": r, "region_code": c} for r, c in services.account_roles(db, a.id)],
    }


def _unauthorised(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/me")
def me(request: Request, principal: Principal = require(Permission.OWN_ACCOUNT)) -> dict[str, Any]:
    """The signed-in account and its current role grants."""
    body: dict[str, Any] = {
        "id": principal.account_id,
        "username": principal.username,
        "display_name": principal.display_name,
        "kind": principal.kind,
        "roles": [{"role": g.role.value, "region_code": g.region_code} for g in principal.grants],
        "via": principal.via,
        "mfa_passed": principal.mfa_passed,
    }
    if principal.via == "session":
        # For scripts in the page (htmx) that send X-CSRF-Token.
        body["csrf_token"] = getattr(request.state, "csrf_token", None)
    return body


@router.post("/auth/tokens", status_code=201, response_model=None)
def create_token(
    body: TokenRequest, request: Request, db: DB, _: Principal | None = public()
) -> JSONResponse | dict[str, Any]:
    """Exchange a username, password (and TOTP code where required) for a bearer token.

    Attempts are rate-limited per client address and per account name (429, Retry-After)."""
    ratelimit.enforce(request, ratelimit.login_checks(request, body.username))
    settings = request.app.state.settings
    result = services.check_credentials(
        db, username=body.username, password=body.password, channel="api", settings=settings
    )
    # Failures return (not raise) so the failure count and lock-out commit.
    if not result.ok or result.account is None:
        return _unauthorised("bad_credentials", services.GENERIC_LOGIN_ERROR)
    account = result.account
    if services.requires_mfa(db, account):
        if account.totp_confirmed_at is None:
            raise Forbidden(
                "请先在网页上设置两步验证 / Set up the second factor on the web first",
                code="totp_enrolment_required",
            )
        if not body.totp_code:
            return _unauthorised("totp_required", "需要动态口令 / A TOTP code is required")
        if not services.verify_totp_with_lockout(db, account, body.totp_code, settings=settings):
            return _unauthorised("bad_credentials", services.GENERIC_LOGIN_ERROR)
    if services.password_change_due(account, settings):
        raise Forbidden(
            "密码已过期，请先在网页上修改 / Password expired; change it on the web first",
            code="password_change_required",
        )
    token, secret = services.issue_api_token(
        db,
        account,
        name=body.name,
        expires_days=body.expires_days,
        actor=services.AccountActor.of(account),
    )
    return {**_token_out(token), "token": secret}


@router.get("/auth/tokens")
def list_tokens(
    db: DB, principal: Principal = require(Permission.OWN_ACCOUNT)
) -> list[dict[str, Any]]:
    """The signed-in account's API tokens (never the secrets)."""
    rows = db.scalars(
        select(ApiToken)
        .where(ApiToken.account_id == principal.account_id)
        .order_by(ApiToken.id.desc())
    )
    return [_token_out(t) for t in rows]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: RowId, db: DB, principal: Principal = require(Permission.OWN_ACCOUNT)
) -> None:
    """Revoke one of the signed-in account's tokens; it stops working at once."""
    token = db.get(ApiToken, token_id)
    if token is None or token.account_id != principal.account_id:
        raise NotFound("没有这个令牌 / no such token")
    services.revoke_api_token(db, token, actor=principal)


# --- administration -----------------------------------------------------------------------


def _load_account(db: DB, account_id: int) -> Account:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound("没有这个账号 / no such account")
    return account


@router.get("/accounts")
def list_accounts(
    db: DB, principal: Principal = require(Permission.ACCOUNT_MANAGE)
) -> list[dict[str, Any]]:
    rows = db.scalars(select(Account).order_by(Account.username))
    return [_account_out(db, a) for a in rows]


@router.post("/accounts", status_code=201)
def create_account(
    body: AccountIn, db: DB, principal: Principal = require(Permission.ACCOUNT_MANAGE)
) -> dict[str, Any]:
    """Create an account; it must change its password at first sign-in."""
    account = services.create_account(
        db,
        username=body.username,
        display_name=body.display_name,
        kind=body.kind,
        password=body.password,
        actor=principal,
        must_change_password=True,
    )
    for g in body.grants:
        _check_grant_allowed(principal, account, g.region_code)
        services.grant_role(db, account, role=g.role, region_code=g.region_code, actor=principal)
    return _account_out(db, account)


def _check_grant_allowed(principal: Principal, account: Account, region_code: str) -> None:
    if not principal.can(Permission.ROLE_GRANT, region_code):
        raise Forbidden("不能在该区域授权 / not allowed to grant roles in this region")
    if account.id == principal.account_id:
        # Separation of duties: nobody changes their own roles.
        raise Forbidden("不能修改自己的角色 / you cannot change your own roles")


@router.post("/accounts/{account_id}/roles", status_code=201)
def grant(
    account_id: RowId, body: GrantIn, db: DB, principal: Principal = require(Permission.ROLE_GRANT)
) -> dict[str, Any]:
    account = _load_account(db, account_id)
    _check_grant_allowed(principal, account, body.region_code)
    services.grant_role(db, account, role=body.role, region_code=body.region_code, actor=principal)
    return _account_out(db, account)


@router.delete("/accounts/{account_id}/roles/{role}/{region_code}")
def revoke(
    account_id: RowId,
    role: Role,
    region_code: str,
    db: DB,
    principal: Principal = require(Permission.ROLE_GRANT),
) -> dict[str, Any]:
    """Remove a grant; it stops counting on the account's very next request."""
    account = _load_account(db, account_id)
    _check_grant_allowed(principal, account, region_code)
    services.revoke_role(db, account, role=role, region_code=region_code, actor=principal)
    return _account_out(db, account)


@router.post("/accounts/{account_id}/unlock")
def unlock(
    account_id: RowId, db: DB, principal: Principal = require(Permission.ACCOUNT_MANAGE)
) -> dict[str, Any]:
    account = _load_account(db, account_id)
    services.unlock_account(db, account, actor=principal)
    return _account_out(db, account)
