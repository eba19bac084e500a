from __future__ import annotations

from typing import Any

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


# -- the category classifier -----------------------------------------------------------------


def _classifier_unit_of_work():
    # clikit's unit of work, behind a name the tests replace with their own session
    from gongzhi.clikit import unit_of_work

    return unit_of_work()


def _classifier_console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=200)


def _percent(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "—"


def _measured(metrics: dict[str, Any]) -> str:
    if not metrics.get("n_test"):
        return "not measured (no labelled cases)"
    return (
        f"top-1 {_percent(metrics.get('top1'))}, top-3 {_percent(metrics.get('top3'))} "
        f"on {metrics['n_test']} {metrics.get('evaluated_on', 'cases')}"
    )


@app.command("retrain")
def retrain(
    min_examples: int = typer.Option(
        0, help="Cases needed to train on them rather than cold-start (0: the default)."
    ),
    synthetic: int = typer.Option(
        0, help="Train on this many synthetic requests per matter instead of the cases (demo)."
    ),
) -> None:
    """Train the category classifier on the labelled cases (or cold-start it from the
    responsibility list when there are too few), report its held-out accuracy and store it."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gongzhi.cases import classify
    from gongzhi.cases.synthetic import requests_per_matter
    from gongzhi.clikit import cli_actor

    examples = None
    if synthetic > 0:
        examples = [(r.text, r.matter_code) for r in requests_per_matter(synthetic, seed=1)]
    console = _classifier_console()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_step(description: str) -> None:
            progress.update(task, description=description)

        with _classifier_unit_of_work() as db:
            row = classify.retrain(
                db,
                actor=cli_actor("cases"),
                examples=examples,
                source="synthetic" if examples is not None else "cases",
                min_examples=min_examples or classify.MIN_TRAINED_EXAMPLES,
                on_step=on_step,
            )
            model_id, kind, metrics = row.id, row.kind, dict(row.metrics)
        progress.update(task, description="done")
    console.print(
        f"stored classifier model {model_id} ({kind}): "
        f"{metrics.get('n_cases', 0)} labelled cases, {metrics.get('n_matters', 0)} matters, "
        f"{_measured(metrics)}, fitted in {metrics.get('train_seconds', 0):.1f} s"
    )
    for threshold, figures in (metrics.get("thresholds") or {}).items():
        console.print(
            f"  best score ≥ {threshold}: {_percent(figures.get('coverage'))} of requests, "
            f"{_percent(figures.get('precision'))} of them right"
        )


@app.command("classifier-report")
def classifier_report() -> None:
    """Show the classifier model in use (the newest) and its measured accuracy."""
    from rich.table import Table

    from gongzhi.cases import classify

    console = _classifier_console()
    with _classifier_unit_of_work() as db:
        row = classify.latest_model(db)
        if row is None:
            console.print(
                "no stored classifier model: suggestions come from the responsibility list "
                "(cold start); run `gongzhi cases retrain`"
            )
            return
        table = Table("", "", title=f"classifier model {row.id}", show_header=False)
        m = dict(row.metrics)
        table.add_row("created", row.created_at.isoformat(timespec="seconds"))
        table.add_row("kind", row.kind)
        table.add_row("examples", str(row.n_examples))
        table.add_row("labelled cases", str(m.get("n_cases", 0)))
        table.add_row("matters", str(m.get("n_matters", "")))
        table.add_row("top-1 accuracy", _percent(m.get("top1")))
        table.add_row("top-3 accuracy", _percent(m.get("top3")))
        if "cold_start_top1" in m:
            table.add_row(
                "cold start, same cases",
                f"top-1 {_percent(m['cold_start_top1'])}, top-3 {_percent(m['cold_start_top3'])}",
            )
        table.add_row("measured", _measured(m))
        for threshold, figures in (m.get("thresholds") or {}).items():
            table.add_row(
                f"score ≥ {threshold}",
                f"{_percent(figures.get('coverage'))} of requests, "
                f"{_percent(figures.get('precision'))} of them right",
            )
        table.add_row("fit time", f"{m.get('train_seconds', 0):.1f} s")
        table.add_row("scikit-learn", str(m.get("sklearn", "")))
        if m.get("source"):
            table.add_row("source", str(m["source"]))
    console.print(table)


# -- the indicators' daily roll-up -------------------------------------------------------------


def _rollup_session_factory():
    # A session factory on the configured database, behind a name the tests replace
    from gongzhi.config import get_settings
    from gongzhi.db import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().database_url))


def _rollup_date(value: str, option: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value}", param_hint=option) from None


@app.command("rollup")
def rollup(
    start: str = typer.Option("", "--from", help="First local day (default: the first case's)."),
    end: str = typer.Option("", "--to", help="Last local day, inclusive (default: yesterday)."),
) -> None:
    """Build (or rebuild) the daily roll-up of the case indicators over the cases' history:
    every finished local day from --from to --to, one committed day at a time."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from gongzhi.cases.rollup import build_day, days_to_build
    from gongzhi.config import get_settings
    from gongzhi.db import session_scope

    settings = get_settings()
    first, last = _rollup_date(start, "--from"), _rollup_date(end, "--to")
    console = Console(width=200)
    factory = _rollup_session_factory()
    with session_scope(factory, write=False) as db:
        days = days_to_build(db, settings=settings, first=first, last=last)
    if not days:
        console.print("no finished day to roll up (no cases yet, or --from after yesterday)")
        return
    rows = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rolling up", total=len(days))
        for day in days:
            # One day per unit of work: a long build never holds the write lock for long.
            with session_scope(factory) as db:
                rows += build_day(db, day, settings=settings)
            progress.update(task, advance=1, description=f"rolled up {day.isoformat()}")
    console.print(
        f"rolled up {len(days)} day(s), {days[0].isoformat()} … {days[-1].isoformat()}: "
        f"{rows} row(s)"
    )
