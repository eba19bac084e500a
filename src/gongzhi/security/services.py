"""Every state change of accounts, roles, sessions and tokens. Services never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.config import Settings, get_settings
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.regions.codes import is_valid_code
from gongzhi.security import clock, passwords
from gongzhi.security.models import ACCOUNT_KINDS, Account, ApiToken, RoleGrant, WebSession
from gongzhi.security.permissions import ADMIN_ROLES, Role

TOKEN_PREFIX = "gz_"


@dataclass(frozen=True)
class AccountActor:
    """An account acting on its own behalf before it is a full principal (signing in)."""

    account_id: int
    username: str
    display_name: str

    @classmethod
    def of(cls, account: Account) -> AccountActor:
        return cls(account.id, account.username, account.display_name)

    @property
    def audit_id(self) -> int | None:
        return self.account_id

    @property
    def audit_label(self) -> str:
        return f"{self.username} ({self.display_name})"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


# --- accounts -----------------------------------------------------------------------------


def _account_snapshot(a: Account) -> dict[str, object]:
    return {
        "username": a.username,
        "display_name": a.display_name,
        "kind": a.kind,
        "active": a.active,
        "locale": a.locale,
    }


def create_account(
    db: Session,
    *,
    username: str,
    display_name: str,
    kind: str,
    password: str,
    actor: Actor,
    locale: str | None = None,
    must_change_password: bool = False,
    settings: Settings | None = None,
) -> Account:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise Invalid("用户名无效 / invalid username", code="invalid_username")
    if kind not in ACCOUNT_KINDS:
        raise Invalid(f"kind must be one of {ACCOUNT_KINDS}", code="invalid_kind")
    if not display_name.strip():
        raise Invalid("姓名不能为空 / display name is required", code="invalid_display_name")
    if db.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict("用户名已存在 / username already taken", code="username_taken")
    passwords.check_policy(password, username=username, settings=_settings(settings))
    now = clock.now()
    account = Account(
        username=username,
        display_name=display_name.strip(),
        kind=kind,
        password_hash=passwords.hash_password(password),
        active=True,
        created_at=now,
        password_changed_at=now,
        password_must_change=must_change_password,
        failed_login_count=0,
        locale=locale,
    )
    db.add(account)
    db.flush()
    record(
        db,
        actor=actor,
        action="security.account.created",
        object_type="account",
        object_id=account.id,
        new=_account_snapshot(account),
    )
    return account


def set_active(db: Session, account: Account, *, active: bool, actor: Actor, reason: str) -> None:
    if account.active == active:
        return
    account.active = active
    if not active:
        _revoke_all_credentials(db, account)
    record(
        db,
        actor=actor,
        action="security.account.activated" if active else "security.account.deactivated",
        object_type="account",
        object_id=account.id,
        old={"active": not active},
        new={"active": active},
        reason=reason,
    )


def _validate_role_scope(role: Role, region_code: str) -> None:
    if not is_valid_code(region_code):
        raise Invalid(
            f"无效的区划代码 / invalid region code {region_code!r}", code="invalid_region"
        )


def _check_separation(account: Account, role: Role, actor: Actor) -> None:
    """三员分立: an administrator role is the account's only role (two administrators'
    powers, or an administrator's and a business role's, are never one person's), and no
    one grants a role to their own account."""
    if actor.audit_id is not None and actor.audit_id == account.id:
        raise Conflict(
            "不能给自己的账号授予角色 / you cannot grant a role to your own account",
            code="separation_of_duties",
        )
    held = {Role(g.role) for g in account.grants} - {role}
    if held and (role in ADMIN_ROLES or held & ADMIN_ROLES):
        raise Conflict(
            "系统管理员、安全管理员、审计管理员不能与其他角色兼任 / an administrator role "
            "cannot be held together with any other role (separation of duties)",
            code="separation_of_duties",
        )


def grant_role(
    db: Session, account: Account, *, role: Role | str, region_code: str, actor: Actor
) -> RoleGrant:
    role = Role(role)
    _validate_role_scope(role, region_code)
    if role == Role.CITIZEN and account.kind != "citizen":
        raise Invalid("公众角色只能授予公众账号 / citizen role is for citizen accounts")
    if role != Role.CITIZEN and account.kind != "staff":
        raise Invalid("工作人员角色只能授予工作人员账号 / staff roles are for staff accounts")
    _check_separation(account, role, actor)
    existing = db.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id,
            RoleGrant.role == role.value,
            RoleGrant.region_code == region_code,
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        account_id=account.id,
        role=role.value,
        region_code=region_code,
        granted_at=clock.now(),
        granted_by_id=actor.audit_id,
    )
    db.add(grant)
    db.flush()
    db.expire(account, ["grants"])
    record(
        db,
        actor=actor,
        action="security.role.granted",
        object_type="account",
        object_id=account.id,
        new={"role": role.value, "region_code": region_code},
        region_code=region_code,
    )
    return grant


def revoke_role(
    db: Session,
    account: Account,
    *,
    role: Role | str,
    region_code: str,
    actor: Actor,
    reason: str | None = None,
) -> None:
    role = Role(role)
    grant = db.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id,
            RoleGrant.role == role.value,
            RoleGrant.region_code == region_code,
        )
    )
    if grant is None:
        raise NotFound("没有这项授权 / no such grant", code="grant_not_found")
    db.delete(grant)
    db.flush()
    db.expire(account, ["grants"])
    # Every browser session and API token of the account ends with the grant: whatever was
    # opened or cached under the old rights, the account signs in again under the new ones.
    ended = _revoke_all_credentials(db, account)
    record(
        db,
        actor=actor,
        action="security.role.revoked",
        object_type="account",
        object_id=account.id,
        old={"role": role.value, "region_code": region_code},
        new={"sessions_ended": ended[0], "tokens_revoked": ended[1]},
        reason=reason,
        region_code=region_code,
    )


def account_roles(db: Session, account_id: int) -> list[tuple[str, str]]:
    return [
        (g.role, g.region_code)
        for g in db.scalars(
            select(RoleGrant).where(RoleGrant.account_id == account_id).order_by(RoleGrant.id)
        )
    ]


def requires_mfa(db: Session, account: Account) -> bool:
    """Administrators always; anyone else once they have confirmed a second factor."""
    if account.totp_confirmed_at is not None:
        return True
    admin_values = {r.value for r in ADMIN_ROLES}
    return any(role in admin_values for role, _ in account_roles(db, account.id))


# --- passwords ----------------------------------------------------------------------------


def change_password(
    db: Session,
    account: Account,
    *,
    current_password: str | None,
    new_password: str,
    actor: Actor,
    settings: Settings | None = None,
) -> None:
    """The owner changes their password (current one required); an administrator resets it
    (``current_password=None``), after which the owner must change it at next sign-in."""
    settings = _settings(settings)
    if current_password is not None and not passwords.verify_password(
        account.password_hash, current_password
    ):
        raise Invalid("当前密码不正确 / current password is wrong", code="wrong_password")
    passwords.check_policy(new_password, username=account.username, settings=settings)
    if passwords.verify_password(account.password_hash, new_password):
        raise Invalid("新密码不能与旧密码相同 / choose a different password", code="same_password")
    reset = current_password is None
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = clock.now()
    account.password_must_change = reset
    record(
        db,
        actor=actor,
        action="security.password.reset" if reset else "security.password.changed",
        object_type="account",
        object_id=account.id,
    )


def password_change_due(account: Account, settings: Settings | None = None) -> bool:
    return account.password_must_change or passwords.is_expired(
        account.password_changed_at, now=clock.now(), settings=_settings(settings)
    )


# --- signing in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    reason: str  # "ok" | "bad_credentials" | "locked" | "inactive"

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


GENERIC_LOGIN_ERROR = (
    "用户名或密码错误，或账号暂时不可用 / Wrong username or password, or the account is unavailable"
)


def check_credentials(
    db: Session, *, username: str, password: str, channel: str, settings: Settings | None = None
) -> LoginResult:
    """Verify a username and password, counting failures and locking the account.

    Returns a result instead of raising so that the caller's transaction still commits the
    failure count, the lock and their audit events. Callers show one generic message for
    every failure, so nobody learns whether a username exists or is locked.
    """
    settings = _settings(settings)
    now = clock.now()
    account = db.scalar(select(Account).where(Account.username == username.strip()))
    if account is None:
        passwords.burn_time(password)
        _login_failed(db, None, username, "unknown_user", channel)
        return LoginResult(None, "bad_credentials")
    if account.locked_until is not None and account.locked_until > now:
        passwords.burn_time(password)
        _login_failed(db, account, username, "locked", channel)
        return LoginResult(account, "locked")
    if not passwords.verify_password(account.password_hash, password):
        _login_failed(db, account, username, "bad_password", channel)
        register_failure(db, account, settings=settings)
        return LoginResult(account, "bad_credentials")
    if not account.active:
        _login_failed(db, account, username, "inactive", channel)
        return LoginResult(account, "inactive")
    account.failed_login_count = 0
    account.locked_until = None
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return LoginResult(account, "ok")


def register_failure(db: Session, account: Account, *, settings: Settings | None = None) -> None:
    """Count a wrong password or second-factor code; lock the account at the limit."""
    settings = _settings(settings)
    account.failed_login_count = (account.failed_login_count or 0) + 1
    if account.failed_login_count < settings.login_max_failures:
        return
    account.locked_until = clock.now() + timedelta(minutes=settings.login_lockout_minutes)
    account.failed_login_count = 0
    _revoke_all_credentials(db, account, sessions_only=True)
    record(
        db,
        actor=AccountActor.of(account),
        action="security.account.locked",
        object_type="account",
        object_id=account.id,
        new={"locked_until": account.locked_until},
        reason=f"{settings.login_max_failures} failed sign-in attempts",
    )


def _login_failed(
    db: Session, account: Account | None, username: str, why: str, channel: str
) -> None:
    actor = AccountActor.of(account) if account else _Anonymous()
    record(
        db,
        actor=actor,
        action="security.login.failed",
        object_type="account",
        object_id=account.id if account else None,
        new={"username": username[:64], "channel": channel},
        reason=why,
    )


@dataclass(frozen=True)
class _Anonymous:
    @property
    def audit_id(self) -> int | None:
        return None

    @property
    def audit_label(self) -> str:
        return "anonymous"


def unlock_account(
    db: Session, account: Account, *, actor: Actor, reason: str | None = None
) -> None:
    old = {"locked_until": account.locked_until, "failed_login_count": account.failed_login_count}
    account.locked_until = None
    account.failed_login_count = 0
    record(
        db,
        actor=actor,
        action="security.account.unlocked",
        object_type="account",
        object_id=account.id,
        old=old,
        new={"locked_until": None, "failed_login_count": 0},
        reason=reason,
    )


# --- browser sessions ---------------------------------------------------------------------


def start_session(
    db: Session,
    account: Account,
    *,
    user_agent: str | None,
    settings: Settings | None = None,
) -> tuple[WebSession, str]:
    """A new session after a correct password; returns it and the cookie's token."""
    settings = _settings(settings)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    session = WebSession(
        token_hash=token_hash(token),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        csrf_token=secrets.token_urlsafe(32),
        mfa_passed=False,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.add(session)
    account.last_login_at = now
    db.flush()
    record(
        db,
        actor=AccountActor.of(account),
        action="security.login.succeeded",
        object_type="web_session",
        object_id=session.id,
        new={"channel": "web"},
    )
    return session, token


def end_session(db: Session, session: WebSession, *, reason: str = "logout") -> None:
    if session.revoked_at is not None:
        return
    session.revoked_at = clock.now()
    record(
        db,
        actor=AccountActor.of(session.account),
        action="security.session.ended",
        object_type="web_session",
        object_id=session.id,
        reason=reason,
    )


def end_other_sessions(db: Session, account: Account, *, keep: WebSession) -> None:
    """After a password change, every other browser must sign in again."""
    for s in db.scalars(
        select(WebSession).where(
            WebSession.account_id == account.id,
            WebSession.revoked_at.is_(None),
            WebSession.id != keep.id,
        )
    ):
        end_session(db, s, reason="password_changed")


def _revoke_all_credentials(
    db: Session, account: Account, *, sessions_only: bool = False
) -> tuple[int, int]:
    """End the account's live sessions (and tokens); returns how many of each."""
    now = clock.now()
    sessions = tokens = 0
    for s in db.scalars(
        select(WebSession).where(
            WebSession.account_id == account.id, WebSession.revoked_at.is_(None)
        )
    ):
        s.revoked_at = now
        sessions += 1
    if sessions_only:
        return sessions, tokens
    for t in db.scalars(
        select(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
    ):
        t.revoked_at = now
        tokens += 1
    return sessions, tokens


# --- second factor (TOTP) -----------------------------------------------------------------


def begin_totp_enrolment(db: Session, account: Account, *, actor: Actor) -> str:
    """A fresh secret, not yet in force until confirmed with a code."""
    import pyotp

    if account.totp_confirmed_at is not None:
        raise Conflict("已启用动态口令 / second factor already set up", code="totp_exists")
    account.totp_secret = pyotp.random_base32()
    account.totp_last_step = None
    record(
        db,
        actor=actor,
        action="security.totp.enrolment_started",
        object_type="account",
        object_id=account.id,
    )
    return account.totp_secret


def verify_totp(db: Session, account: Account, code: str) -> bool:
    """Accept a code of the current step (±1 for clock drift), once only."""
    import pyotp

    if not account.totp_secret:
        return False
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(account.totp_secret)
    now = clock.now()
    step_now = totp.timecode(now)
    for step in (step_now, step_now - 1, step_now + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            if account.totp_last_step is not None and step <= account.totp_last_step:
                return False  # replayed (or older than a code already used)
            account.totp_last_step = step
            return True
    return False


def verify_totp_with_lockout(
    db: Session, account: Account, code: str, *, settings: Settings | None = None
) -> bool:
    """A sign-in's second factor: wrong codes count towards the lock-out like passwords."""
    if account.locked_until is not None and account.locked_until > clock.now():
        return False
    if verify_totp(db, account, code):
        return True
    record(
        db,
        actor=AccountActor.of(account),
        action="security.mfa.failed",
        object_type="account",
        object_id=account.id,
    )
    register_failure(db, account, settings=settings)
    return False


def confirm_totp(db: Session, account: Account, code: str, *, actor: Actor) -> bool:
    if account.totp_confirmed_at is not None or not verify_totp(db, account, code):
        return False
    account.totp_confirmed_at = clock.now()
    record(
        db,
        actor=actor,
        action="security.totp.confirmed",
        object_type="account",
        object_id=account.id,
    )
    return True


def pass_mfa(
    db: Session,
    session: WebSession,
    account: Account,
    code: str,
    *,
    settings: Settings | None = None,
) -> bool:
    if not verify_totp_with_lockout(db, account, code, settings=settings):
        return False
    mark_mfa_passed(db, session, account)
    return True


def mark_mfa_passed(db: Session, session: WebSession, account: Account) -> None:
    session.mfa_passed = True
    # A new anti-forgery token once the session gains its full rights.
    session.csrf_token = secrets.token_urlsafe(32)
    record(
        db,
        actor=AccountActor.of(account),
        action="security.mfa.passed",
        object_type="web_session",
        object_id=session.id,
    )


def reset_totp(db: Session, account: Account, *, actor: Actor, reason: str | None = None) -> None:
    account.totp_secret = None
    account.totp_confirmed_at = None
    account.totp_last_step = None
    _revoke_all_credentials(db, account)
    record(
        db,
        actor=actor,
        action="security.totp.reset",
        object_type="account",
        object_id=account.id,
        reason=reason,
    )


# --- API tokens ---------------------------------------------------------------------------


def issue_api_token(
    db: Session,
    account: Account,
    *,
    name: str,
    expires_days: int | None,
    actor: Actor,
) -> tuple[ApiToken, str]:
    name = name.strip()[:100] or "api"
    now = clock.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=token_hash(secret),
        name=name,
        account_id=account.id,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    db.add(token)
    db.flush()
    record(
        db,
        actor=actor,
        action="security.token.issued",
        object_type="api_token",
        object_id=token.id,
        new={"name": name, "account_id": account.id, "expires_at": token.expires_at},
    )
    return token, secret


def revoke_api_token(db: Session, token: ApiToken, *, actor: Actor) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    record(
        db,
        actor=actor,
        action="security.token.revoked",
        object_type="api_token",
        object_id=token.id,
        old={"revoked_at": None},
        new={"revoked_at": token.revoked_at},
    )


def touch(moment: datetime | None, now: datetime, *, every: timedelta) -> bool:
    """Whether a last-seen timestamp is stale enough to be worth a write."""
    return moment is None or now - moment >= every
