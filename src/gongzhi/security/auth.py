"""Authentication: who is behind a request (session cookie for pages, bearer token for the API).

Grants are read from the database on every request, so a role removed a moment ago no longer
counts, for sessions and tokens already issued alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from gongzhi.config import Settings
from gongzhi.security import clock, csrf
from gongzhi.security.models import Account, ApiToken, RoleGrant, WebSession
from gongzhi.security.permissions import ADMIN_ROLES, Role
from gongzhi.security.principal import Grant, Principal
from gongzhi.security.services import (
    TOKEN_PREFIX,
    end_session,
    password_change_due,
    token_hash,
)

SESSION_COOKIE = "gz_session"
# Last-seen times are written at most this often (idle time-out precision vs. writes).
TOUCH_EVERY = timedelta(seconds=30)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def load_grants(db: Session, account_id: int) -> tuple[Grant, ...]:
    rows = db.execute(
        select(RoleGrant.role, RoleGrant.region_code)
        .where(RoleGrant.account_id == account_id)
        .order_by(RoleGrant.id)
    )
    grants = []
    for role, region in rows:
        try:
            grants.append(Grant(Role(role), region))
        except ValueError:  # a role this version no longer knows grants nothing
            continue
    return tuple(grants)


@dataclass
class SessionState:
    """A live browser session, whether or not it may act yet."""

    session: WebSession
    account: Account
    grants: tuple[Grant, ...]
    mfa_required: bool
    password_due: bool

    @property
    def needs_enrolment(self) -> bool:
        return self.mfa_required and self.account.totp_confirmed_at is None

    @property
    def needs_mfa(self) -> bool:
        return self.mfa_required and not self.session.mfa_passed

    @property
    def complete(self) -> bool:
        """Every step of signing in is done: the session may act as its account."""
        return not self.needs_mfa and not self.password_due

    def next_step(self) -> str | None:
        if self.needs_enrolment:
            return "/login/totp/setup"
        if self.needs_mfa:
            return "/login/totp"
        if self.password_due:
            return "/account/password"
        return None


_UNSET = object()


def load_session(request: Request, db: Session) -> SessionState | None:
    """The request's browser session if it is live (not revoked, not idle or past its
    absolute limit, account active and not locked); cached for the request."""
    cached = getattr(request.state, "gz_session_state", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    state = _load_session(request, db)
    request.state.gz_session_state = state
    if state is not None:
        request.state.csrf_token = state.session.csrf_token
    return state


def _load_session(request: Request, db: Session) -> SessionState | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    session = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if session is None or session.revoked_at is not None:
        return None
    settings = _settings(request)
    now = clock.now()
    if now >= session.expires_at:
        end_session(db, session, reason="absolute_timeout")
        return None
    if now - session.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        end_session(db, session, reason="idle_timeout")
        return None
    account = session.account
    if not account.active or (account.locked_until is not None and account.locked_until > now):
        end_session(db, session, reason="account_unavailable")
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
    grants = load_grants(db, account.id)
    mfa_required = account.totp_confirmed_at is not None or any(
        g.role in ADMIN_ROLES for g in grants
    )
    return SessionState(
        session=session,
        account=account,
        grants=grants,
        mfa_required=mfa_required,
        password_due=password_change_due(account, settings),
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _principal(account: Account, grants: tuple[Grant, ...], **kw: object) -> Principal:
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=grants,
        locale=account.locale,
        **kw,  # type: ignore[arg-type]
    )


# The token, its account and the account's grants in one statement (one row per grant; a
# single row with no role when there are none), read past the ORM: a token is checked on
# every API request, and three ORM loads (the token, its account, the grants) cost more
# than the request's own work on a small endpoint.
_TOKEN_CHECK = (
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.created_at,
        Account.id,
        Account.username,
        Account.display_name,
        Account.kind,
        Account.locale,
        Account.active,
        Account.totp_confirmed_at,
        RoleGrant.role,
        RoleGrant.region_code,
    )
    .join(Account, Account.id == ApiToken.account_id)
    .outerjoin(RoleGrant, RoleGrant.account_id == Account.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .order_by(RoleGrant.id)
)


def authenticate_token(db: Session, value: str) -> Principal | None:
    if not value.startswith(TOKEN_PREFIX):
        return None
    rows = db.connection().execute(_TOKEN_CHECK, {"token_hash": token_hash(value)}).all()
    if not rows:
        return None
    head: tuple[Any, ...] = tuple(rows[0])
    token_id, revoked_at, expires_at, last_used_at, created_at = head[:5]
    account_id, username, display_name, kind, locale, active, totp_confirmed_at = head[5:12]
    now = clock.now()
    if revoked_at is not None:
        return None
    if expires_at is not None and now >= expires_at:
        return None
    if not active:
        return None
    grants = []
    for row in rows:
        if row[12] is None:  # the outer join's row of an account without grants
            continue
        try:
            grants.append(Grant(Role(row[12]), row[13]))
        except ValueError:  # a role this version no longer knows grants nothing
            continue
    if any(g.role in ADMIN_ROLES for g in grants) and not _issued_with_second_factor(
        created_at, totp_confirmed_at
    ):
        # An administrator's token counts only if it was issued against a TOTP code: not one
        # issued before the account had a second factor (e.g. before it became an
        # administrator), nor any while it has none.
        return None
    if last_used_at is None or now - last_used_at >= TOUCH_EVERY:
        db.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
        loaded = db.identity_map.get(identity_key(ApiToken, token_id))
        if loaded is not None:
            set_committed_value(loaded, "last_used_at", now)
    return Principal(
        account_id=account_id,
        username=username,
        display_name=display_name,
        kind=kind,
        grants=tuple(grants),
        locale=locale,
        via="token",
        mfa_passed=True,
    )


def _issued_with_second_factor(created_at: datetime, confirmed: datetime | None) -> bool:
    # Once a second factor is confirmed, every token is issued only against a code
    # (POST /api/v1/auth/tokens); resetting the factor revokes every token.
    return confirmed is not None and created_at >= confirmed


def authenticate(request: Request, db: Session) -> Principal | None:
    """Return the signed-in principal, or None.

    A bearer token, when present, is the only credential considered. A session counts only
    once every sign-in step is done (second factor, forced password change); an unsafe
    request on a session must carry the session's CSRF token (403 otherwise).
    """
    bearer = _bearer(request)
    if bearer is not None:
        return authenticate_token(db, bearer)
    state = load_session(request, db)
    if state is None or not state.complete:
        return None
    csrf.check_session_token(request, state.session.csrf_token)
    return _principal(
        state.account,
        state.grants,
        via="session",
        session_id=state.session.id,
        mfa_passed=state.session.mfa_passed,
    )
