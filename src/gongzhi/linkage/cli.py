"""``gongzhi linkage``: generate the demo county's department datasets, and link records."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()


def _villages(from_db: bool) -> list[Any]:
    """The county's real villages from the regions table when it is loaded, else the
    generator's own."""
    from gongzhi.linkage.synthetic import default_villages, villages_from_db

    if from_db:
        try:
            from gongzhi.clikit import unit_of_work

            with unit_of_work() as db:
                villages = villages_from_db(db)
            if villages:
                return villages
        except Exception as exc:  # no database or no regions table: the generator's villages
            console.print(
                f"[dim]regions not available ({type(exc).__name__}); generated villages[/dim]"
            )
    return default_villages()


def _read_csv(path: Path) -> list[dict[str, str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=encoding, newline="") as handle:
                return list(csv.DictReader(handle))
        except UnicodeDecodeError:
            continue
    raise typer.BadParameter(f"{path} is neither UTF-8 nor GB18030")


@app.command("generate")
def generate_command(
    out: Path = typer.Option(..., help="Directory for the CSV files (created if missing)."),
    persons: int = typer.Option(2000, min=10, help="Population size."),
    seed: int = typer.Option(5, help="Random seed (the same seed gives the same data)."),
    villages_from_db: bool = typer.Option(True, help="Use the regions table's villages."),
) -> None:
    """Write the synthetic department datasets (公安户籍, 民政低保, 防返贫监测, 市场监管) with
    their truth column, and the planted contradictions as JSON."""
    from gongzhi.linkage.synthetic import DATASET_LABELS, generate

    data = generate(persons, seed=seed, villages=_villages(villages_from_db))
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in data.datasets.items():
        path = out / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["record_id"])
            writer.writeheader()
            writer.writerows(rows)
        console.print(f"{DATASET_LABELS[name]} {path}: {len(rows)} records")
    (out / "contradictions.json").write_text(
        json.dumps(data.contradictions, ensure_ascii=False, indent=1), "utf-8"
    )
    console.print(
        f"{len(data.contradictions)} planted contradictions in {out / 'contradictions.json'}"
    )


@app.command("run")
def run_command(
    csv_files: list[Path] = typer.Argument(
        None, help="Person (or entity) record CSVs; without them a synthetic county is linked."
    ),
    persons: int = typer.Option(2000, min=10, help="Population of the synthetic county."),
    seed: int = typer.Option(5, help="Random seed of the synthetic county."),
    entities: bool = typer.Option(False, help="Link legal entities instead of persons."),
    backend: str = typer.Option(
        "", help="duckdb or spark (default: GONGZHI_LINKAGE_BACKEND, else duckdb)."
    ),
    threshold: float = typer.Option(0.95, min=0.0, max=1.0, help="Cluster match probability."),
    checksum_aware: bool = typer.Option(
        True, help="Checksum-aware ID comparison (--no-checksum-aware to see the difference)."
    ),
    model: Path | None = typer.Option(None, help="A saved model (JSON): skip training."),
    save_model: Path | None = typer.Option(None, help="Save the trained model here (JSON)."),
    out: Path | None = typer.Option(None, help="Write record_id,cluster_id here (CSV)."),
    villages_from_db: bool = typer.Option(True, help="Use the regions table's villages."),
) -> None:
    """Train, predict and cluster; print the linkage quality when the records carry a
    ``true_id`` column (synthetic data always does)."""
    from gongzhi.linkage.backends import LinkageSettings
    from gongzhi.linkage.engine import LinkageRun
    from gongzhi.linkage.quality import bcubed_scores, cluster_scores, pair_scores
    from gongzhi.linkage.standardise import (
        VillageDirectory,
        standardise_entities,
        standardise_persons,
    )
    from gongzhi.linkage.synthetic import LEGAL_ENTITIES, generate

    settings = LinkageSettings()
    chosen = backend or settings.backend
    if chosen not in ("duckdb", "spark"):
        raise typer.BadParameter("--backend is duckdb or spark")
    villages = _villages(villages_from_db)
    if csv_files:
        records: list[dict[str, str]] = [row for path in csv_files for row in _read_csv(path)]
        source = "CSV"
    else:
        data = generate(persons, seed=seed, villages=villages)
        records = data.datasets[LEGAL_ENTITIES] if entities else data.person_records
        source = f"synthetic county ({persons} persons, seed {seed})"
    console.print(f"{len(records)} records from {source}, backend {chosen}")

    started = time.perf_counter()
    directory = VillageDirectory(villages)
    standardise = standardise_entities if entities else standardise_persons
    table = standardise(records, resolve_address=directory.resolve)

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("standardised", total=6)

        def report(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        run = LinkageRun(
            table,
            kind="entity" if entities else "person",
            backend=chosen,  # type: ignore[arg-type]
            checksum_aware=checksum_aware,
            model=model,
            settings=settings,
            progress=report,
        )
        clusters = run.run(threshold)
    elapsed = time.perf_counter() - started
    for warning in run.warnings:
        console.print(f"[yellow]{warning.splitlines()[0]}[/yellow]")

    cluster_ids = [str(c) for c in clusters["cluster_id"].to_pylist()]
    record_ids = clusters["record_id"].to_pylist()
    console.print(
        f"{len(record_ids)} records → {len(set(cluster_ids))} clusters in {elapsed:.1f} s"
    )
    if save_model:
        run.save_model(save_model)
        console.print(f"model saved to {save_model}")
    if out:
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "cluster_id"])
            writer.writerows(zip(record_ids, cluster_ids, strict=True))
        console.print(f"clusters written to {out}")

    truth = dict(zip(table["record_id"].to_pylist(), table["true_id"].to_pylist(), strict=True))
    if all(truth.values()):
        cluster_of = dict(zip(record_ids, cluster_ids, strict=True))
        quality = Table("measure", "precision", "recall", "F1", title="linkage quality vs truth")
        for label, scores in (
            ("cluster (pairwise)", cluster_scores(cluster_of, truth)),
            ("B-cubed", bcubed_scores(cluster_of, truth)),
            ("links ≥ threshold", pair_scores(run.predicted_pairs(threshold), truth)),
        ):
            quality.add_row(
                label, f"{scores.precision:.4f}", f"{scores.recall:.4f}", f"{scores.f1:.4f}"
            )
        console.print(quality)
