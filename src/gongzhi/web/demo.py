"""``gongzhi demo``: build a fresh demo database for 安吉县 and print the logins."""

from __future__ import annotations

import typer

app = typer.Typer()


@app.command("demo")
def demo() -> None:
    """Build the demo county (安吉县, 330523) in a fresh database."""
    raise typer.Exit(1)
