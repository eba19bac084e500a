"""``gongzhi audit ...``: verify the log, run the sequencer, export checkpoints for a witness,
prune payloads past the retention."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit import log
from gongzhi.audit.models import AuditCheckpoint
from gongzhi.audit.verify import verify_log
from gongzhi.clikit import cli_actor, fail
from gongzhi.clikit import unit_of_work as _unit_of_work
from gongzhi.config import get_settings
from gongzhi.db import make_engine, make_session_factory, session_scope, utcnow
from gongzhi.errors import DomainError

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@contextmanager
def _read_snapshot() -> Iterator[Session]:
    """One read-only transaction over one snapshot of the database (REPEATABLE READ on
    PostgreSQL; on SQLite a deferred transaction reads one WAL snapshot and blocks no
    writer), so entries sequenced meanwhile cannot look like tampering."""
    engine = make_engine(get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine), write=False) as db:
            if db.get_bind().dialect.name == "postgresql":
                db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield db
    finally:
        engine.dispose()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class _ProgressReporter:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def start(self, phase: str, total: int | None) -> None:
        if self.task is not None:
            task = self.progress.tasks[-1]
            self.progress.update(self.task, completed=task.total or task.completed)
        self.task = self.progress.add_task(phase, total=total)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)


@app.command("verify")
def verify(
    max_problems: int = typer.Option(100, help="Stop listing problems after this many."),
) -> None:
    """Recompute every entry from its stored event, rebuild the tree, check every checkpoint's
    signature and root; name the first entry edited, deleted or reordered. Exit code 1 on any
    problem."""
    settings = get_settings()
    with _read_snapshot() as db, _progress() as progress:
        report = verify_log(
            db, settings, reporter=_ProgressReporter(progress), max_problems=max_problems
        )
    console.print(
        f"{report.entries} entries ({report.pruned} pruned), {report.subtrees} subtrees, "
        f"{report.checkpoints} checkpoints checked; {report.unsequenced} events not yet "
        "sequenced"
    )
    if report.ok:
        console.print("[green]the audit log verifies[/green]")
        return
    first = report.first
    assert first is not None
    where = []
    if first.leaf_index is not None:
        where.append(f"entry {first.leaf_index}")
    if first.event_id is not None:
        where.append(f"event #{first.event_id}")
    err.print(
        f"[bold red]tampering detected[/bold red]: first bad {' / '.join(where) or 'item'} "
        f"({first.kind}): {first.message}"
    )
    for problem in report.problems:
        err.print(f"  - {problem.kind}: {problem.message}")
    if report.more_problems:
        err.print(f"  … and {report.more_problems} more")
    raise typer.Exit(code=1)


@app.command("sequence")
def sequence(
    checkpoint: bool = typer.Option(
        False, help="Sign a checkpoint of the resulting tree even if none is due."
    ),
) -> None:
    """Number every event not yet in the log now (the job does it every few seconds), then
    sign a checkpoint if one is due (or asked for)."""
    settings = get_settings()
    with _unit_of_work() as db:
        pending = log.pending_count(db)
    total_sequenced = 0
    size = 0
    try:
        with _progress() as progress:
            task = progress.add_task("sequencing", total=pending)
            while True:
                with _unit_of_work() as db:
                    result, signed = log.sequence_and_checkpoint(db, settings, utcnow())
                    if checkpoint and result.sequenced == 0:
                        signed = log.sign_checkpoint(db, settings, utcnow()) or signed
                size = result.tree_size
                total_sequenced += result.sequenced
                progress.advance(task, result.sequenced)
                if signed is not None:
                    console.print(f"signed checkpoint of size {signed.tree_size}")
                if result.sequenced == 0:
                    break
    except DomainError as exc:
        raise fail(exc, err) from None
    console.print(f"sequenced {total_sequenced} events; the log holds {size} entries")


@app.command("export-checkpoints")
def export_checkpoints(
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="File to write (default: stdout)."
    ),
    fmt: str = typer.Option(
        "jsonl", "--format", help="jsonl (one JSON object a line) or notes (the signed notes)."
    ),
    since: int = typer.Option(0, help="Only checkpoints with a tree size above this."),
) -> None:
    """Write the signed checkpoints for an outside witness to keep (see docs/audit.md)."""
    if fmt not in ("jsonl", "notes"):
        raise typer.BadParameter("use jsonl or notes", param_hint="--format")
    with _read_snapshot() as db:
        rows = db.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tree_size > since)
            .order_by(AuditCheckpoint.tree_size)
        ).all()
        lines = [_export_line(cp, fmt) for cp in rows]
    text = ("\n" if fmt == "notes" else "").join(lines)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(lines)} checkpoints to {output}")


def _export_line(cp: AuditCheckpoint, fmt: str) -> str:
    if fmt == "notes":
        return cp.note
    return (
        json.dumps(
            {
                "tree_size": cp.tree_size,
                "root_hash": base64.b64encode(cp.root_hash).decode(),
                "signed_at": cp.signed_at.isoformat(),
                "public_key": cp.public_key.hex(),
                "note": cp.note,
            },
            ensure_ascii=False,
        )
        + "\n"
    )


@app.command("prune")
def prune() -> None:
    """Empty the payload of events older than GONGZHI_AUDIT_RETENTION_DAYS (at least 180);
    their leaf hashes stay, so the log still verifies."""
    settings = get_settings()
    with _unit_of_work() as db:
        pruned = log.prune(db, settings, utcnow(), actor=cli_actor("audit"))
    console.print(
        f"pruned the payload of {pruned} events older than {settings.audit_retention_days} days"
    )
