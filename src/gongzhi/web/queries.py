"""Reads the shell needs from other domains (region labels for the staff home)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from gongzhi.errors import NotFound
from gongzhi.regions import queries as regions


def region_labels(db: Session, codes: Iterable[str]) -> dict[str, str]:
    """A readable label per region code, from the county down (安吉县鄣吴镇玉华村); a province
    or city is named alone. Unknown codes are left out."""
    labels: dict[str, str] = {}
    for code in sorted(set(codes)):
        try:
            chain = regions.path(db, code)
        except NotFound:
            continue
        local = [r.name for r in chain if r.level >= 3] or [chain[-1].name]
        labels[code] = "".join(local)
    return labels
