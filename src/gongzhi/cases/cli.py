from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


# -- Open311 API keys (one per partner channel) --------------------------------------------


def _open311_unit_of_work():
    # clikit's unit of work, behind a name the tests replace with their own session
    from gongzhi.clikit import unit_of_work

    return unit_of_work()


def _open311_console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=200)


@app.command("open311-key-issue")
def open311_key_issue(
    name: str = typer.Argument(..., help="The partner, e.g. 浙里办."),
    channel: str = typer.Option("", help="Channel label (default: the name)."),
) -> None:
    """Issue an Open311 API key for a partner channel; the key is shown this once only."""
    from gongzhi.cases.open311 import issue_api_key
    from gongzhi.clikit import cli_actor, fail
    from gongzhi.errors import DomainError

    try:
        with _open311_unit_of_work() as db:
            key, row = issue_api_key(
                db, name=name, channel=channel or None, actor=cli_actor("cases")
            )
            key_id, key_channel = row.id, row.channel
    except DomainError as exc:
        raise fail(exc, _open311_console(stderr=True)) from None
    console = _open311_console()
    console.print(
        f"issued key {key_id} for {name} (channel {key_channel}); keep it, it is not shown again:"
    )
    console.print(key, markup=False, highlight=False, soft_wrap=True)


@app.command("open311-key-revoke")
def open311_key_revoke(
    key_id: int = typer.Argument(..., help="The key's id (see open311-key-list)."),
    reason: str = typer.Option("", help="Why (kept in the audit log)."),
) -> None:
    """Revoke an Open311 API key; requests with it are refused from now on."""
    from gongzhi.cases.open311 import revoke_api_key
    from gongzhi.clikit import cli_actor, fail
    from gongzhi.errors import DomainError

    try:
        with _open311_unit_of_work() as db:
            row = revoke_api_key(db, key_id, actor=cli_actor("cases"), reason=reason or None)
            label = f"{row.id} ({row.name})"
    except DomainError as exc:
        raise fail(exc, _open311_console(stderr=True)) from None
    _open311_console().print(f"revoked key {label}")


@app.command("open311-key-list")
def open311_key_list() -> None:
    """List the Open311 API keys (never the keys themselves)."""
    from rich.table import Table

    from gongzhi.cases.open311 import list_api_keys

    table = Table("id", "name", "channel", "created", "by", "revoked", title="Open311 API keys")
    with _open311_unit_of_work() as db:
        for row in list_api_keys(db):
            revoked = row.revoked_at.isoformat(timespec="minutes") if row.revoked_at else ""
            table.add_row(
                str(row.id),
                row.name,
                row.channel,
                row.created_at.isoformat(timespec="minutes"),
                row.created_by,
                revoked,
            )
    _open311_console().print(table)
