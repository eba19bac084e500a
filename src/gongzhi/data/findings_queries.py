"""Reads of the findings: the list a data officer works through and one finding, within the
principal's region scope (a finding's region is its subject's; a finding without one is
seen by every holder of the permission)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from gongzhi.data.findings_models import Finding
from gongzhi.errors import NotFound
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal


def _scope(principal: Principal) -> Any:
    regions = principal.regions_for(Permission.DATA_FINDING_READ)
    if not regions:
        return false()
    return or_(
        Finding.region_code.is_(None),
        *(Finding.region_code.between(*subtree_bounds(region)) for region in regions),
    )


def list_findings(
    db: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Finding]]:
    where = [_scope(principal)]
    if kind:
        where.append(Finding.kind == kind)
    if status:
        where.append(Finding.status == status)
    total = db.scalar(select(func.count()).select_from(Finding).where(*where)) or 0
    rows = db.scalars(
        select(Finding).where(*where).order_by(Finding.id.desc()).limit(limit).offset(offset)
    ).all()
    return total, list(rows)


def counts_by_kind(db: Session, principal: Principal, *, status: str | None = None) -> Counter[str]:
    where = [_scope(principal)]
    if status:
        where.append(Finding.status == status)
    rows = db.execute(select(Finding.kind, func.count()).where(*where).group_by(Finding.kind)).all()
    return Counter({kind: n for kind, n in rows})


def access_finding(db: Session, principal: Principal, finding_id: int) -> Finding:
    """One finding in the principal's scope; NotFound otherwise (as for an unknown id)."""
    finding = db.scalar(select(Finding).where(Finding.id == finding_id, _scope(principal)))
    if finding is None:
        raise NotFound("没有这个比对发现 / no such finding", code="not_found")
    return finding
