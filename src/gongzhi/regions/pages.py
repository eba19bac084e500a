"""Staff pages of the regions domain: browse the tree, search it, add grid cells."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongzhi.regions import queries, services
from gongzhi.regions.codes import LEVEL_NAMES
from gongzhi.regions.models import LEVEL_VILLAGE, URBAN_RURAL_CLASSES
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_
from gongzhi.web.templating import render

router = APIRouter(tags=["regions"], include_in_schema=False)

LEVEL_LABELS = {
    1: N_("省级"),
    2: N_("地级"),
    3: N_("县级"),
    4: N_("乡级"),
    5: N_("村级"),
    6: N_("网格"),
}


def _common() -> dict[str, Any]:
    return {
        "level_labels": LEVEL_LABELS,
        "level_names": LEVEL_NAMES,
        "urban_rural_classes": URBAN_RURAL_CLASSES,
    }


@router.get("/regions", response_class=HTMLResponse)
def regions_home(
    request: Request,
    db: DB,
    q: Annotated[str, Query(max_length=50)] = "",
    principal: Principal = require(Permission.REGION_READ),
) -> HTMLResponse:
    """Start from the regions the principal works in, or search by name."""
    scopes = [
        r
        for code in principal.regions_for(Permission.REGION_READ)
        if (r := queries.get(db, code)) is not None
    ]
    results = queries.search(db, q, limit=50) if q.strip() else []
    return render(
        request,
        "regions/index.html",
        {"scopes": scopes, "q": q, "results": results, **_common()},
    )


@router.get("/regions/{code}", response_class=HTMLResponse)
def region_page(
    request: Request,
    code: str,
    db: DB,
    principal: Principal = require(Permission.REGION_READ),
) -> HTMLResponse:
    region = queries.get_or_404(db, code)
    return render(
        request,
        "regions/region.html",
        {
            "region": region,
            "path": queries.ancestors(db, code),
            "children": queries.children(db, code),
            "can_add_grid": region.level == LEVEL_VILLAGE
            and principal.can(Permission.GRID_MANAGE, code),
            **_common(),
        },
    )


@router.post("/regions/{code}/grids")
def region_grid_add(
    code: str,
    db: DB,
    name: Annotated[str, Form(max_length=100)],
    principal: Principal = require(Permission.GRID_MANAGE),
) -> Response:
    queries.access_for_grid_management(db, principal, code)
    services.create_grid_cell(db, village_code=code, name=name, actor=principal)
    return RedirectResponse(f"/regions/{code}", status_code=303)
