"""``gongzhi accounts``: create accounts, grant and revoke roles, unlock, reset TOTP, list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.clikit import cli_actor, fail, unit_of_work
from gongzhi.errors import DomainError
from gongzhi.security import clock, services
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _actor(command: str) -> SystemActor:
    return cli_actor(f"accounts.{command}")


@contextmanager
def _db() -> Iterator[Session]:
    try:
        with unit_of_work() as db:
            yield db
    except DomainError as exc:
        raise fail(exc, err) from exc


def _account(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    if account is None:
        err.print(f"[red]no account named {username!r}[/red]")
        raise typer.Exit(1)
    return account


def _parse_grant(value: str) -> tuple[Role, str]:
    role, sep, region = value.partition("@")
    if not sep:
        raise typer.BadParameter(f"{value!r}: expected ROLE@REGION, e.g. dispatcher@330523000000")
    try:
        return Role(role.strip()), region.strip()
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise typer.BadParameter(f"unknown role {role!r} (one of: {roles})") from exc


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Sign-in name."),
    name: str = typer.Option(..., "--name", help="Display name, e.g. 张丽."),
    kind: str = typer.Option("staff", "--kind", help="staff or citizen."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="Initial password (prompted when omitted).",
    ),
    role: list[str] = typer.Option(
        [], "--role", help="ROLE@REGION, e.g. township_clerk@330523103000 (repeatable)."
    ),
    must_change: bool = typer.Option(
        True, "--must-change/--no-must-change", help="Force a new password at first sign-in."
    ),
) -> None:
    """Create an account (and grant roles)."""
    grants = [_parse_grant(r) for r in role]
    actor = _actor("create")
    with _db() as db:
        account = services.create_account(
            db,
            username=username,
            display_name=name,
            kind=kind,
            password=password,
            actor=actor,
            must_change_password=must_change,
        )
        for r, region in grants:
            services.grant_role(db, account, role=r, region_code=region, actor=actor)
    console.print(f"created [bold]{username}[/bold] ({kind}) with {len(grants)} role(s)")


@app.command("grant")
def grant(
    username: str,
    role: str = typer.Argument(..., help="ROLE@REGION"),
) -> None:
    """Grant a role over a region's subtree."""
    r, region = _parse_grant(role)
    with _db() as db:
        services.grant_role(
            db, _account(db, username), role=r, region_code=region, actor=_actor("grant")
        )
    console.print(f"granted {r.value}@{region} to {username}")


@app.command("revoke")
def revoke(
    username: str,
    role: str = typer.Argument(..., help="ROLE@REGION"),
    reason: str = typer.Option(None, "--reason"),
) -> None:
    """Remove a role grant (takes effect on the account's next request)."""
    r, region = _parse_grant(role)
    with _db() as db:
        services.revoke_role(
            db,
            _account(db, username),
            role=r,
            region_code=region,
            actor=_actor("revoke"),
            reason=reason,
        )
    console.print(f"revoked {r.value}@{region} from {username}")


@app.command("unlock")
def unlock(username: str, reason: str = typer.Option(None, "--reason")) -> None:
    """Lift a lock-out after repeated failed sign-ins."""
    with _db() as db:
        services.unlock_account(db, _account(db, username), actor=_actor("unlock"), reason=reason)
    console.print(f"unlocked {username}")


@app.command("reset-totp")
def reset_totp(username: str, reason: str = typer.Option(None, "--reason")) -> None:
    """Remove the second factor (lost phone); signs the account out everywhere."""
    with _db() as db:
        services.reset_totp(db, _account(db, username), actor=_actor("reset-totp"), reason=reason)
    console.print(f"second factor of {username} reset; it must enrol again at next sign-in")


@app.command("reset-password")
def reset_password(
    username: str,
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True
    ),
) -> None:
    """Set a temporary password; the owner must change it at next sign-in."""
    with _db() as db:
        services.change_password(
            db,
            _account(db, username),
            current_password=None,
            new_password=password,
            actor=_actor("reset-password"),
        )
    console.print(f"password of {username} reset")


@app.command("list")
def list_accounts() -> None:
    """Accounts with their roles, lock and second-factor state."""
    table = Table("username", "name", "kind", "roles", "active", "locked", "TOTP", "last sign-in")
    now = clock.now()
    with _db() as db:
        for a in db.scalars(select(Account).order_by(Account.username)):
            roles = ", ".join(f"{r}@{c}" for r, c in services.account_roles(db, a.id))
            locked = a.locked_until is not None and a.locked_until > now
            table.add_row(
                a.username,
                a.display_name,
                a.kind,
                roles or "—",
                "yes" if a.active else "no",
                "yes" if locked else "",
                "yes" if a.totp_confirmed_at else "",
                a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at else "",
            )
    console.print(table)
