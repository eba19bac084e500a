"""``gongzhi org ...``: departments, the responsibility list and the work calendar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from gongzhi.clikit import cli_actor, fail
from gongzhi.clikit import unit_of_work as _unit_of_work
from gongzhi.config import get_settings
from gongzhi.errors import DomainError, Invalid
from gongzhi.org import queries, services
from gongzhi.org.calendar import is_official_year
from gongzhi.org.models import DEPARTMENT_KIND_LABELS, ORG_LEVEL_LABELS, DepartmentKind, OrgLevel

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    return fail(exc, err)


@app.command("import-responsibilities")
def import_responsibilities(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file."),
) -> None:
    """Replace the responsibility list (权责清单) with FILE; all rows valid or nothing imported."""
    try:
        with _unit_of_work() as db:
            result = services.import_responsibilities(
                db, file.read_bytes(), filename=file.name, actor=cli_actor("org")
            )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(
        f"[green]imported[/green] {file.name}: created {len(result.created)}, "
        f"updated {len(result.updated)}, deactivated {len(result.deactivated)}, "
        f"unchanged {result.unchanged} (version {result.version[:12]})"
    )


@app.command("import-heads")
def import_heads(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file."),
) -> None:
    """Name department heads from FILE (columns code and head, the head's username; an empty
    head names nobody). All rows valid or nothing changed."""
    try:
        with _unit_of_work() as db:
            changed = services.import_department_heads(
                db, file.read_bytes(), filename=file.name, actor=cli_actor("org")
            )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"[green]imported[/green] {file.name}: {len(changed)} heads changed")


@app.command("export-responsibilities")
def export_responsibilities(
    file: Path = typer.Argument(..., dir_okay=False, help="CSV file to write (UTF-8 with BOM)."),
) -> None:
    """Write the responsibility list as CSV in the import format (edit it, import it again)."""
    with _unit_of_work() as db:
        text = queries.export_responsibilities(db)
    # The BOM lets spreadsheet programs on Windows open the file as UTF-8.
    file.write_text(text, encoding="utf-8-sig", newline="")
    console.print(f"wrote {file} ({text.count(chr(10)) - 1} matters)")


@app.command("departments")
def departments(
    region: str | None = typer.Option(None, help="Only departments serving this region code."),
    include_inactive: bool = typer.Option(False, help="Show deactivated departments too."),
) -> None:
    """List departments."""
    with _unit_of_work() as db:
        rows = queries.list_departments(db, region_code=region, include_inactive=include_inactive)
        table = Table("编码 code", "名称 name", "类型 kind", "层级 level", "辖区 region", "在用")
        for d in rows:
            table.add_row(
                d.code,
                d.name,
                DEPARTMENT_KIND_LABELS.get(DepartmentKind(d.kind), d.kind),
                ORG_LEVEL_LABELS.get(OrgLevel(d.level), d.level),
                d.region_code,
                "✓" if d.active else "✗",
            )
    console.print(table)


@app.command("calendar-override")
def calendar_override(
    day: str = typer.Argument(..., help="Date, e.g. 2027-02-08."),
    workday: bool = typer.Option(..., "--workday/--holiday", help="Make DAY a workday or off."),
    note: str = typer.Option("", help="Why (e.g. 2027 春节调休)."),
    region: str | None = typer.Option(None, help="Only in this region's subtree."),
) -> None:
    """Declare a date a workday or a day off (local override of the official calendar)."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise _fail(Invalid(f"日期格式应为 YYYY-MM-DD / bad date: {day}")) from None
    try:
        with _unit_of_work() as db:
            services.set_calendar_override(
                db,
                day=parsed,
                is_workday=workday,
                note=note,
                region_code=region,
                actor=cli_actor("org"),
            )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"{parsed}: {'workday 上班' if workday else 'day off 放假'} {note}".rstrip())


@app.command("add-working-time")
def add_working_time(
    start: str = typer.Argument(..., help="ISO moment; without a zone it is local time."),
    hours: float | None = typer.Option(None, help="Office hours to add."),
    days: int | None = typer.Option(None, help="Working days to add."),
    region: str | None = typer.Option(None, help="Apply this region's overrides too."),
) -> None:
    """Show the deadline START + HOURS office hours (or DAYS working days)."""
    if (hours is None) == (days is None):
        raise _fail(Invalid("请给出 --hours 或 --days 之一 / give exactly one of --hours, --days"))
    tz = ZoneInfo(get_settings().timezone)
    try:
        begin = datetime.fromisoformat(start)
    except ValueError:
        raise _fail(Invalid(f"时间格式无效 / bad moment: {start}")) from None
    if begin.tzinfo is None:
        begin = begin.replace(tzinfo=tz)
    try:
        with _unit_of_work() as db:
            calendar = queries.calendar_for(db, get_settings(), region)
        if hours is not None:
            due = calendar.add_working_hours(begin, hours)
        else:
            assert days is not None
            due = calendar.add_working_days(begin, days)
    except (DomainError, ValueError) as exc:
        message = exc if isinstance(exc, DomainError) else Invalid(str(exc))
        raise _fail(message) from None
    local = due.astimezone(tz)
    console.print(f"{local:%Y-%m-%d %H:%M} ({tz.key})  {due.isoformat()}")
    if not all(is_official_year(y) for y in range(begin.year, local.year + 1)):
        err.print(
            "[yellow]注意：期间含尚无国务院放假安排的年份，仅按周末和本地调整计算 / "
            "warning: part of the period has no official holiday data[/yellow]"
        )
