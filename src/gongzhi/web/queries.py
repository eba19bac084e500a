"""Reads the shell needs from other domains (region names for the staff home)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.regions.models import Region


def region_names(db: Session, codes: Iterable[str]) -> dict[str, str]:
    """Names of the given regions by code; unknown codes are left out."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = db.execute(select(Region.code, Region.name).where(Region.code.in_(wanted)))
    return {code: name for code, name in rows}
