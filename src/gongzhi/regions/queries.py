"""Reads of the region tree. Subtrees are primary-key ranges and ancestors are computed codes
looked up by primary key: no query here scans the table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gongzhi.errors import Forbidden, NotFound
from gongzhi.regions import codes
from gongzhi.regions.models import Region
from gongzhi.regions.names import PLACEHOLDER_NAMES
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# Above every character a region name can contain: `name >= q AND name < q + MAX` is a
# prefix match that an ordinary B-tree index answers (LIKE 'q%' needs special operator
# classes on PostgreSQL and case-sensitive LIKE on SQLite).
_PREFIX_END = "\U0010ffff"


def get(db: Session, code: str) -> Region | None:
    return db.get(Region, code)


def get_or_404(db: Session, code: str) -> Region:
    region = db.get(Region, code) if codes.is_valid_code(code) else None
    if region is None:
        raise NotFound(f"地区 {code} 不存在 / region {code} not found", code="region_not_found")
    return region


def access_for_grid_management(db: Session, principal: Principal, code: str) -> Region:
    """The region (a village for new grid cells, or a grid cell) if the principal manages
    grid cells there.

    Regions are visible to all staff, so one outside the principal's scope is refused
    (Forbidden) rather than hidden; an unknown code is NotFound."""
    region = get_or_404(db, code)
    if not principal.can(Permission.GRID_MANAGE, code):
        raise Forbidden("无权管理该地区的网格 / not allowed in this region", code="forbidden")
    return region


def children(db: Session, code: str) -> Sequence[Region]:
    return db.scalars(select(Region).where(Region.parent_code == code).order_by(Region.code)).all()


def subtree_statement(code: str, *, max_level: int | None = None) -> Select[Region]:
    """The region and all its descendants, as a primary-key range."""
    low, high = codes.subtree_bounds(code)
    stmt = select(Region).where(Region.code.between(low, high))
    if max_level is not None:
        stmt = stmt.where(Region.level <= max_level)
    return stmt.order_by(Region.code)


def subtree(db: Session, code: str, *, max_level: int | None = None) -> Sequence[Region]:
    return db.scalars(subtree_statement(code, max_level=max_level)).all()


def subtree_count(db: Session, code: str, *, level: int | None = None) -> int:
    low, high = codes.subtree_bounds(code)
    stmt = select(func.count()).select_from(Region).where(Region.code.between(low, high))
    if level is not None:
        stmt = stmt.where(Region.level == level)
    return db.scalar(stmt) or 0


def ancestors_statement(code: str) -> Select[Region]:
    return select(Region).where(Region.code.in_(codes.ancestor_codes(code))).order_by(Region.code)


def ancestors(db: Session, code: str) -> list[Region]:
    """The stored ancestors, province first (the code itself excluded).

    Computed codes that are absent are skipped: under 东莞/中山/儋州 the township's arithmetic
    county code does not exist, the city is its parent.
    """
    found = {r.code: r for r in db.scalars(ancestors_statement(code))}
    return [found[c] for c in codes.ancestor_codes(code) if c in found]


def path(db: Session, code: str) -> list[Region]:
    """Province → … → the region itself."""
    return [*ancestors(db, code), get_or_404(db, code)]


def path_names(db: Session, code: str, *, skip_placeholders: bool = True) -> list[str]:
    """Names province → … → the region. The statistical table's placeholder levels
    (市辖区 under a municipality, 省直辖县级行政区划) are nobody's address and are left out."""
    return [
        r.name
        for r in path(db, code)
        if not (skip_placeholders and r.level == 2 and r.name in PLACEHOLDER_NAMES)
    ]


def search_statement(
    q: str, *, within: str | None = None, max_level: int | None = None, limit: int = 20
) -> Select[Region]:
    end = q + _PREFIX_END
    stmt = select(Region).where(
        or_(
            Region.name.between(q, end),
            Region.short_name.between(q, end),
        )
    )
    if within is not None:
        low, high = codes.subtree_bounds(within)
        stmt = stmt.where(Region.code.between(low, high))
    if max_level is not None:
        stmt = stmt.where(Region.level <= max_level)
    return stmt.order_by(Region.level, Region.code).limit(limit)


def search(
    db: Session,
    q: str,
    *,
    within: str | None = None,
    max_level: int | None = None,
    limit: int = 20,
) -> Sequence[Region]:
    """Regions whose name or short name starts with ``q``, higher levels first."""
    q = q.strip()
    if not q:
        return []
    return db.scalars(search_statement(q, within=within, max_level=max_level, limit=limit)).all()
