"""``gongzhi data ...``: the catalogue, standard schemas, imports and version comparison."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from gongzhi.clikit import cli_actor, fail
from gongzhi.clikit import unit_of_work as _unit_of_work
from gongzhi.config import get_settings
from gongzhi.crypto import get_provider
from gongzhi.data import findings_cli, queries, services
from gongzhi.data.models import (
    OPEN_TYPE_LABELS,
    SHARING_TYPE_LABELS,
    UPDATE_CYCLE_LABELS,
    Dataset,
    ImportJob,
    OpenType,
    SharingType,
    UpdateCycle,
)
from gongzhi.data.quality import DIMENSION_LABELS, DIMENSIONS
from gongzhi.data.reading import sha256_of
from gongzhi.data.schemas import standard_schemas
from gongzhi.errors import DomainError, Invalid, NotFound

app = typer.Typer(no_args_is_help=True)
app.add_typer(findings_cli.app, name="findings", help="Contradictions between departments.")
console = Console()
err = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    return fail(exc, err)


def _dataset(db: object, code: str) -> Dataset:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    dataset = db.scalar(select(Dataset).where(Dataset.code == code))
    if dataset is None:
        raise NotFound(f"没有这个数据集 / no such dataset: {code}", code="not_found")
    return dataset


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@app.command("schemas")
def schemas() -> None:
    """List the standard Table Schemas shipped with the platform."""
    table = Table("名称 name", "标题 title", "主键 key", "字段 fields")
    for name, descriptor in standard_schemas().items():
        table.add_row(
            name,
            descriptor.get("title", ""),
            ", ".join(descriptor.get("primaryKey", [])),
            str(len(descriptor["fields"])),
        )
    console.print(table)


@app.command("create")
def create(
    code: str = typer.Argument(..., help="Dataset code, e.g. mz-dibao."),
    name: str = typer.Option(..., help="Dataset name (资源名称)."),
    department: str = typer.Option(..., help="Provider department code."),
    schema: str = typer.Option(..., help="A standard schema name or a Table Schema JSON file."),
    abstract: str = typer.Option("", help="Abstract (摘要)."),
    sharing: str = typer.Option(
        SharingType.CONDITIONAL.value, help="unconditional|conditional|none"
    ),
    condition: str = typer.Option("", help="Sharing condition (for conditional sharing)."),
    open_type: str = typer.Option(OpenType.CLOSED.value, "--open", help="open|conditional|closed"),
    cycle: str = typer.Option(UpdateCycle.MONTHLY.value, help="Update cycle, e.g. monthly."),
    max_rejected: float = typer.Option(0.1, help="Refuse a file rejecting more than this share."),
) -> None:
    """Add a dataset to the catalogue."""
    path = Path(schema)
    spec = services.DatasetSpec(
        code=code,
        name=name,
        department_code=department,
        abstract=abstract,
        sharing_type=sharing,
        sharing_condition=condition,
        open_type=open_type,
        update_cycle=cycle,
        max_rejected_ratio=max_rejected,
    )
    if path.suffix == ".json" and path.is_file():
        try:
            spec.table_schema = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _fail(Invalid(f"表结构文件不是 JSON / not JSON: {exc}")) from None
    else:
        spec.standard = schema
    try:
        with _unit_of_work() as db:
            dataset = services.create_dataset(db, spec, actor=cli_actor("data"))
            console.print(f"[green]created[/green] {dataset.code} {dataset.name}")
    except DomainError as exc:
        raise _fail(exc) from None


@app.command("list")
def list_datasets() -> None:
    """List the catalogue with each dataset's current version and overall quality."""
    from sqlalchemy import select

    with _unit_of_work() as db:
        datasets = list(db.scalars(select(Dataset).order_by(Dataset.code)))
        current = queries.current_versions(db, datasets)
        table = Table(
            "编码 code", "名称 name", "提供部门", "共享", "开放", "更新周期", "版本", "质量"
        )
        for d in datasets:
            v = current.get(d.id)
            table.add_row(
                d.code,
                d.name,
                d.department.display_name,
                SHARING_TYPE_LABELS[SharingType(d.sharing_type)],
                OPEN_TYPE_LABELS[OpenType(d.open_type)],
                UPDATE_CYCLE_LABELS[UpdateCycle(d.update_cycle)],
                str(v.number) if v else "—",
                _score(v.quality["dataset"]["overall"]) if v else "—",
            )
    console.print(table)


@app.command("import")
def import_(
    code: str = typer.Argument(..., help="Dataset code."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file."),
    as_of: str | None = typer.Option(None, help="The date the data describes (YYYY-MM-DD)."),
    issues_out: Path | None = typer.Option(
        None, "--issues-out", help="Write rejected rows and warnings to this CSV."
    ),
) -> None:
    """Import FILE as the next version of dataset CODE (streamed; any size)."""
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise _fail(Invalid(f"日期格式应为 YYYY-MM-DD / bad date: {as_of}")) from None
    settings = get_settings()
    actor = cli_actor("data")
    size = file.stat().st_size
    try:
        with _unit_of_work() as db:
            dataset = _dataset(db, code)
            job = services.start_import_job(
                db,
                dataset,
                filename=file.name,
                size=size,
                sha256=sha256_of(file),
                as_of=as_of_date,
                actor=actor,
            )
            job_id = job.id
    except DomainError as exc:
        raise _fail(exc) from None

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} 行 rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    failure: BaseException | None = None
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(file.name, total=size, rows=0)

        def on_progress(done: int, total: int, rows: int) -> None:
            if done >= 0:
                bar.update(task, completed=done, rows=rows)
            else:
                bar.update(task, rows=rows)

        try:
            with _unit_of_work() as db:
                running = db.get(ImportJob, job_id)
                assert running is not None
                outcome = services.import_version(
                    db,
                    running,
                    file,
                    provider=get_provider(settings),
                    actor=actor,
                    on_progress=on_progress,
                )
                version_number = outcome.version.number
                quality = outcome.quality
                kept = outcome.version.row_count
            bar.update(task, completed=size)
        except (Exception, KeyboardInterrupt) as exc:
            failure = exc
    if failure is not None:
        error = failure if isinstance(failure, Exception) else RuntimeError("interrupted")
        with _unit_of_work() as db:
            services.record_import_failure(db, job_id, error, actor=actor)
        _write_issues(job_id, issues_out)
        if isinstance(failure, DomainError):
            raise _fail(failure) from None
        raise failure
    counts = quality["counts"]
    console.print(
        f"[green]version {version_number}[/green] of {code}: {kept:,} rows kept, "
        f"{counts['rows_rejected']:,} rejected, {counts['warnings']:,} warnings (job {job_id})"
    )
    table = Table(*(DIMENSION_LABELS[d] + " " + d for d in (*DIMENSIONS, "overall")))
    table.add_row(*(_score(quality["dataset"][d]) for d in (*DIMENSIONS, "overall")))
    console.print(table)
    _write_issues(job_id, issues_out)


def _write_issues(job_id: int, target: Path | None) -> None:
    if target is None:
        return
    with _unit_of_work() as db:
        job = db.get(ImportJob, job_id)
        assert job is not None
        with target.open("w", encoding="utf-8", newline="") as handle:
            for chunk in queries.issues_csv(db, job):
                handle.write(chunk)
    console.print(f"issues written to {target}")


@app.command("versions")
def versions(code: str = typer.Argument(..., help="Dataset code.")) -> None:
    """List a dataset's versions with their scores."""
    try:
        with _unit_of_work() as db:
            dataset = _dataset(db, code)
            table = Table(
                "版本",
                "导入时间",
                "导入人",
                "文件",
                "行数",
                "拒收",
                *(DIMENSION_LABELS[d] for d in DIMENSIONS),
                "综合",
            )
            for v in queries.versions(db, dataset):
                q = v.quality["dataset"]
                table.add_row(
                    str(v.number),
                    f"{v.imported_at:%Y-%m-%d %H:%M}",
                    v.imported_by_label,
                    v.source_filename,
                    f"{v.row_count:,}",
                    f"{v.rows_rejected:,}",
                    *(_score(q[d]) for d in DIMENSIONS),
                    _score(q["overall"]),
                )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(table)


@app.command("compare")
def compare(
    code: str = typer.Argument(..., help="Dataset code."),
    old: int = typer.Argument(..., help="The earlier version number."),
    new: int = typer.Argument(..., help="The later version number."),
) -> None:
    """Rows added, removed and changed between two versions, and changes per field."""
    try:
        with _unit_of_work() as db:
            dataset = _dataset(db, code)
            result = queries.compare_versions(
                db, dataset, old, new, provider=get_provider(get_settings())
            )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(
        f"{code} v{old} → v{new}: +{result.added:,} added, −{result.removed:,} removed, "
        f"~{result.changed:,} changed, {result.unchanged:,} unchanged"
    )
    table = Table("字段 field", "变化行数 changed rows")
    for name, n in result.field_changes.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@app.command("link")
def link(
    kind: str = typer.Option("person", help="person or entity."),
    datasets: list[str] = typer.Option(
        None, "--dataset", help="Dataset codes to link (default: every dataset of the kind)."
    ),
    threshold: float = typer.Option(0.95, min=0.5, max=1.0, help="Cluster match probability."),
    truth: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="A truth JSON (the demo's) to measure quality."
    ),
) -> None:
    """Build the master index from the current versions (replaces the previous one)."""
    import json as _json

    from sqlalchemy import select

    from gongzhi.data.master_index import build_master_index
    from gongzhi.linkage.quality import bcubed_scores, cluster_scores

    if kind not in ("person", "entity"):
        raise typer.BadParameter("--kind is person or entity")
    truth_of = _json.loads(truth.read_text("utf-8"))["rows"] if truth else None
    settings = get_settings()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("主索引 / master index", total=7)

        def report(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        try:
            with _unit_of_work() as db:
                query = select(Dataset).order_by(Dataset.code)
                if datasets:
                    query = query.where(Dataset.code.in_(datasets))
                result = build_master_index(
                    db,
                    datasets=list(db.scalars(query)),
                    actor=cli_actor("data"),
                    provider=get_provider(settings),
                    kind=kind,
                    threshold=threshold,
                    truth=truth_of,
                    progress=report,
                )
        except DomainError as exc:
            raise _fail(exc) from None
    console.print(
        f"[green]{result.records:,}[/green] records → {result.entities:,} entities, "
        f"{result.pairs:,} scored pairs kept"
        + (f", {result.households:,} households" if result.households else "")
    )
    if truth_of:
        known = {k: truth_of[k] for k in result.cluster_of if k in truth_of}
        cluster_of = {k: result.cluster_of[k] for k in known}
        table = Table("measure", "precision", "recall", "F1", title="quality vs the truth")
        for label, scores in (
            ("cluster (pairwise)", cluster_scores(cluster_of, known)),
            ("B-cubed", bcubed_scores(cluster_of, known)),
        ):
            table.add_row(
                label, f"{scores.precision:.4f}", f"{scores.recall:.4f}", f"{scores.f1:.4f}"
            )
        console.print(table)
