"""``gongzhi data findings ...``: run the findings' rules over the current master index and
show what stands (docs/data.md, "Findings"). Every build of the index runs the rules too."""

from __future__ import annotations

from collections import Counter

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from gongzhi.clikit import cli_actor
from gongzhi.clikit import unit_of_work as _unit_of_work
from gongzhi.data.findings import run_findings
from gongzhi.data.findings_models import KIND_NAMES, STATUS_NAMES, Finding, FindingStatus

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)

STATUS_EN = {
    FindingStatus.OPEN: "open",
    FindingStatus.CONFIRMED: "confirmed",
    FindingStatus.DISMISSED: "dismissed",
    FindingStatus.TURNED_INTO_CASE: "case",
    FindingStatus.RESOLVED_BY_DATA: "resolved",
}


@app.callback()
def findings() -> None:
    """Contradictions between departments found over the master index."""


@app.command("run")
def run() -> None:
    """Run the rules over the current person and legal-entity builds of the master index."""
    with console.status("比对规则 / running the rules"), _unit_of_work() as db:
        summary = run_findings(db, actor=cli_actor("data-findings"))
        rows = db.execute(
            select(Finding.kind, Finding.status, func.count()).group_by(
                Finding.kind, Finding.status
            )
        ).all()
    if not summary.evaluated:
        console.print(
            "没有主索引：先运行 gongzhi data link / no master index: run gongzhi data link"
        )
        return
    counts: Counter[tuple[str, str]] = Counter({(k, s): n for k, s, n in rows})
    table = Table(
        "类型 kind",
        "本次发现 found",
        *(f"{STATUS_NAMES[s]} {STATUS_EN[s]}" for s in FindingStatus),
        title="比对发现 / findings",
    )
    for kind, name in KIND_NAMES.items():
        table.add_row(
            f"{name} {kind.value}",
            str(summary.found.get(kind.value, 0)),
            *(str(counts[(kind.value, s.value)]) for s in FindingStatus),
        )
    console.print(table)
    console.print(
        f"[green]{summary.new}[/green] new, {summary.seen_again} found again, "
        f"{summary.reopened} reopened, {summary.resolved} resolved by the data"
    )
