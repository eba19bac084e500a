"""The shell's pages: the public landing page, the citizen and staff homes, reader prefs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from gongzhi.security.deps import DB, public, require
from gongzhi.security.permissions import Permission, Role
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import LANG_COOKIE, N_, normalise, translator
from gongzhi.web.prefs import COOKIE_MAX_AGE, ELDERLY_COOKIE, SIZE_COOKIE, TEXT_SIZES, safe_next
from gongzhi.web.queries import region_labels
from gongzhi.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)

ROLE_LABELS: dict[Role, str] = {
    Role.CITIZEN: N_("市民"),
    Role.GRID_WORKER: N_("网格员"),
    Role.TOWNSHIP_CLERK: N_("乡镇（街道）办事员"),
    Role.DEPARTMENT_HANDLER: N_("部门承办人"),
    Role.DISPATCHER: N_("指挥中心调度员"),
    Role.LEADER: N_("领导"),
    Role.DATA_OFFICER: N_("数据专员"),
    Role.DATA_STEWARD: N_("部门数据管理员"),
    Role.SYSTEM_ADMIN: N_("系统管理员"),
    Role.SECURITY_ADMIN: N_("安全管理员"),
    Role.AUDIT_ADMIN: N_("审计管理员"),
}


@dataclass(frozen=True)
class Tile:
    title: str
    description: str
    permission: Permission
    paths: tuple[str, ...]  # the first of these the application serves is linked


# Areas of the staff home; a tile shows only where its page exists and the principal holds
# the permission, so new areas appear here as they land.
STAFF_TILES: tuple[Tile, ...] = (
    Tile(N_("热线受理"), N_("替来电市民录入诉求"), Permission.CASE_TAKE_CALL, ("/cases/console",)),
    Tile(
        N_("待分拨"),
        N_("确定牵头部门、改派、审批延期、结案"),
        Permission.CASE_TRIAGE,
        ("/cases/triage",),
    ),
    Tile(
        N_("部门待办"), N_("签收、反馈、退单、申请延期"), Permission.CASE_HANDLE, ("/cases/inbox",)
    ),
    Tile(N_("网格核查"), N_("现场核查和巡查上报"), Permission.CASE_VERIFY, ("/cases/grid",)),
    Tile(N_("超时案件"), N_("所有超过时限的案件"), Permission.CASE_INDICATORS, ("/cases/overdue",)),
    Tile(
        N_("吹哨报到"),
        N_("各部门被召集、按时报到、迟到和未报到的次数"),
        Permission.CASE_INDICATORS,
        ("/cases/summons/stats",),
    ),
    Tile(
        N_("数据目录"),
        N_("各部门数据集、导入和质量评分"),
        Permission.DATA_CATALOGUE_READ,
        ("/data",),
    ),
    Tile(
        N_("比对发现"),
        N_("部门数据之间的矛盾：确认、排除或转为核查案件"),
        Permission.DATA_FINDING_READ,
        ("/data/findings",),
    ),
    Tile(
        N_("数据共享"),
        N_("部门间申请、审核、授权和调用共享数据"),
        Permission.DATA_SHARE_READ,
        ("/data/sharing",),
    ),
    Tile(
        N_("查询人员"),
        N_("按身份证号码查询辖区人员，说明目的后查看完整信息"),
        Permission.PERSON_LOOKUP,
        ("/privacy/people",),
    ),
    Tile(
        N_("个人信息请求"),
        N_("市民查阅、复制、更正、删除个人信息的请求和期限"),
        Permission.PRIVACY_REQUEST_HANDLE,
        ("/privacy/requests",),
    ),
    Tile(
        N_("依法调取"),
        N_("凭法律文书查看匿名反映人的联系方式"),
        Permission.ANONYMOUS_CONTACT_REVEAL,
        ("/privacy/legal-order",),
    ),
    Tile(
        N_("部门"),
        N_("县、乡两级部门及其管辖范围"),
        Permission.DEPARTMENT_READ,
        ("/org/departments", "/departments"),
    ),
    Tile(
        N_("权责清单"),
        N_("事项类别、牵头部门、协办部门和办理时限"),
        Permission.RESPONSIBILITY_READ,
        ("/org/responsibilities", "/org/responsibility", "/responsibilities"),
    ),
    Tile(
        N_("行政区划"),
        N_("省、市、县、乡、村五级区划和网格"),
        Permission.REGION_READ,
        ("/regions",),
    ),
    Tile(
        N_("工作日历"),
        N_("法定节假日、调休和本地调整"),
        Permission.CALENDAR_READ,
        ("/org/calendar", "/calendar"),
    ),
    Tile(
        N_("审计日志"),
        N_("谁在什么时候改了什么"),
        Permission.AUDIT_READ,
        ("/audit", "/audit/events"),
    ),
    Tile(
        N_("我的账户"),
        N_("密码和两步验证"),
        Permission.OWN_ACCOUNT,
        ("/account", "/security/account"),
    ),
)


def _flat_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            out.extend(_flat_routes(original.routes))
        else:
            out.append(route)
    return out


def _served_pages(app: FastAPI) -> set[str]:
    """Paths of the pages (GET, no parameters) the application serves."""
    cached: set[str] | None = getattr(app.state, "web_page_paths", None)
    if cached is None:
        cached = {
            r.path
            for r in _flat_routes(list(app.routes))
            if isinstance(r, APIRoute) and "GET" in (r.methods or ()) and "{" not in r.path
        }
        app.state.web_page_paths = cached
    return cached


def staff_tiles(request: Request, principal: Principal) -> list[dict[str, str]]:
    served = _served_pages(request.app)
    _ = translator(request)
    tiles = []
    for tile in STAFF_TILES:
        href = next((p for p in tile.paths if p in served), None)
        if href and principal.can(tile.permission):
            tiles.append({"title": _(tile.title), "description": _(tile.description), "href": href})
    return tiles


@router.get("/", response_class=HTMLResponse, dependencies=[public()])
def landing(request: Request) -> HTMLResponse:
    return render(request, "web/landing.html")


@router.get("/citizen", response_class=HTMLResponse)
def citizen_home(
    request: Request, principal: Principal = require(Permission.CITIZEN_HOME)
) -> HTMLResponse:
    return render(request, "web/citizen_home.html", {"requests": []})


@router.get("/staff", response_class=HTMLResponse)
def staff_home(
    request: Request, db: DB, principal: Principal = require(Permission.STAFF_HOME)
) -> HTMLResponse:
    _ = translator(request)
    names = region_labels(db, (g.region_code for g in principal.grants))
    grants: list[dict[str, Any]] = [
        {
            "role": _(ROLE_LABELS.get(g.role, str(g.role))),
            "region": names.get(g.region_code, g.region_code),
            "region_code": g.region_code,
        }
        for g in sorted(principal.grants, key=lambda g: (g.role, g.region_code))
    ]
    return render(
        request,
        "web/staff_home.html",
        {"grants": grants, "tiles": staff_tiles(request, principal)},
    )


@router.get("/prefs", dependencies=[public()])
def set_prefs(
    request: Request,
    lang: str | None = None,
    elderly: str | None = None,
    size: str | None = None,
    next: str | None = None,
) -> RedirectResponse:
    """Language, elderly mode and text size switches: set a cookie, go back (no JS needed)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    settings = request.app.state.settings
    cookie: dict[str, Any] = {
        "max_age": COOKIE_MAX_AGE,
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": settings.cookie_secure,
    }
    locale = normalise(lang)
    if locale:
        response.set_cookie(LANG_COOKIE, locale, **cookie)
    if elderly in ("0", "1"):
        response.set_cookie(ELDERLY_COOKIE, elderly, **cookie)
    if size in TEXT_SIZES:
        response.set_cookie(SIZE_COOKIE, size, **cookie)
    return response
