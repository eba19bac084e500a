"""JSON API of the regions domain (``/api/v1/regions``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from gongzhi.errors import Invalid
from gongzhi.regions import queries, services
from gongzhi.regions.codes import is_valid_code
from gongzhi.regions.models import Region
from gongzhi.regions.schemas import GridIn, RegionOut
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])


def _out(region: Region) -> dict[str, Any]:
    return RegionOut.model_validate(region).model_dump(mode="json")


# Fixed paths first: /search and /resolve must not be taken for a region code.
@router.get("/search")
def search_regions(
    db: DB,
    q: str = Query(min_length=1, max_length=50),
    within: str | None = Query(default=None, pattern=r"^\d{12}$"),
    limit: int = Query(default=20, ge=1, le=100),
    principal: Principal = require(Permission.REGION_READ),
) -> list[dict[str, Any]]:
    """Regions whose name or short name starts with ``q``."""
    if within is not None and not is_valid_code(within):
        raise Invalid(f"无效的区划代码 / invalid region code {within!r}", code="invalid_region")
    return [_out(r) for r in queries.search(db, q, within=within, limit=limit)]


@router.get("/resolve")
def resolve_address(
    request: Request,
    db: DB,
    q: str = Query(min_length=1, max_length=500),
    principal: Principal = require(Permission.ADDRESS_RESOLVE),
) -> dict[str, Any]:
    """The deepest region a free-text address names, with the unparsed remainder."""
    from gongzhi.regions.resolver import get_resolver

    home = request.app.state.settings.home_region
    return dict(get_resolver(db, home_region=home).resolve(q).to_json())


@router.get("/{code}")
def get_region(
    code: str, db: DB, principal: Principal = require(Permission.REGION_READ)
) -> dict[str, Any]:
    region = queries.get_or_404(db, code)
    body = _out(region)
    body["path"] = [{"code": r.code, "name": r.name} for r in queries.ancestors(db, code)]
    return body


@router.get("/{code}/children")
def region_children(
    code: str, db: DB, principal: Principal = require(Permission.REGION_READ)
) -> list[dict[str, Any]]:
    queries.get_or_404(db, code)
    return [_out(r) for r in queries.children(db, code)]


@router.get("/{code}/ancestors")
def region_ancestors(
    code: str, db: DB, principal: Principal = require(Permission.REGION_READ)
) -> list[dict[str, Any]]:
    queries.get_or_404(db, code)
    return [_out(r) for r in queries.ancestors(db, code)]


@router.post("/{village_code}/grids", status_code=201)
def add_grid_cell(
    village_code: str,
    body: GridIn,
    db: DB,
    principal: Principal = require(Permission.GRID_MANAGE),
) -> JSONResponse:
    """Add a grid cell (网格) under a village/community the caller manages."""
    queries.access_for_grid_management(db, principal, village_code)
    grid = services.create_grid_cell(db, village_code=village_code, name=body.name, actor=principal)
    return JSONResponse(_out(grid), status_code=201)


@router.patch("/{code}")
def rename_grid_cell(
    code: str,
    body: GridIn,
    db: DB,
    principal: Principal = require(Permission.GRID_MANAGE),
) -> dict[str, Any]:
    """Rename a grid cell (the divisions themselves change only by import)."""
    queries.access_for_grid_management(db, principal, code)
    return _out(services.rename_grid_cell(db, code=code, name=body.name, actor=principal))
