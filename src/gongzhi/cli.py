"""The ``gongzhi`` command. Each domain adds its own sub-command group from ``<domain>/cli.py``."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from gongzhi.config import get_settings
from gongzhi.db import make_engine

app = typer.Typer(help="Gongzhi (共治): urban-rural co-governance platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from gongzhi.migrations.runner import current_revision, upgrade

    engine = make_engine(get_settings().database_url)
    with engine.begin() as conn:
        upgrade(conn, revision)
        console.print(f"database at revision [bold]{current_revision(conn)}[/bold]")
    engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's head."""
    from gongzhi.migrations.runner import current_revision, head_revision

    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        console.print(f"current: {current_revision(conn)}  head: {head_revision()}")
    engine.dispose()


@db_app.command("revision")
def db_revision(
    message: str = typer.Option(..., "-m", "--message", help="What the migration does."),
) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from gongzhi.migrations.runner import alembic_config

    command.revision(
        alembic_config(url=get_settings().database_url), message=message, autogenerate=True
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(int(os.environ.get("PORT", "8000")), help="Port (env PORT)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the platform (pages, JSON API, OpenAPI at /api/docs)."""
    import uvicorn

    uvicorn.run("gongzhi.app:create_app", factory=True, host=host, port=port, reload=reload)


@app.command()
def worker(
    once: bool = typer.Option(False, help="Run every job once and exit."),
    job: list[str] = typer.Option([], help="Run only this job (repeatable)."),
) -> None:
    """Run the background jobs (outbox delivery, deadline sweeps) until Ctrl-C."""
    from gongzhi.jobs import run_worker

    run_worker(console, once=once, only=job or None)


def _register_domains() -> None:
    from gongzhi.audit.cli import app as audit_app
    from gongzhi.cases.cli import app as cases_app
    from gongzhi.crypto.cli import app as keys_app
    from gongzhi.data.cli import app as data_app
    from gongzhi.demo import app as demo_app
    from gongzhi.org.cli import app as org_app
    from gongzhi.regions.cli import app as regions_app
    from gongzhi.security.cli import app as accounts_app

    app.add_typer(regions_app, name="regions", help="Administrative divisions and addresses.")
    app.add_typer(org_app, name="org", help="Departments, staff, responsibility list, calendar.")
    app.add_typer(accounts_app, name="accounts", help="Accounts, roles and second factors.")
    app.add_typer(cases_app, name="cases", help="Requests and events: intake, handling, clocks.")
    app.add_typer(data_app, name="data", help="Data hub: catalogue, schemas, imports, versions.")
    app.add_typer(audit_app, name="audit", help="The verifiable audit log: verify, checkpoints.")
    app.add_typer(keys_app, name="keys", help="Keys: the key file, status, data-key rotation.")
    from gongzhi.linkage.cli import app as linkage_app

    app.add_typer(linkage_app, name="linkage", help="Record linkage: master index, demo datasets.")
    app.registered_commands.extend(demo_app.registered_commands)


_register_domains()


def main() -> None:
    app()
