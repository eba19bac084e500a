"""The region tree: provinces down to villages/communities (12-digit statistical codes) and the
grid cells (网格, 15 digits) that hang under villages.

The code is the primary key and is hierarchical, so a subtree is a key range and the
ancestors are computed prefixes; neither needs a scan (see ``codes.py`` and ``queries.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.db import Base, UTCDateTime, utcnow

# 城乡分类代码 (statistical urban-rural classification): 1xx urban, 2xx rural.
URBAN_RURAL_CLASSES: dict[str, str] = {
    "111": "主城区",
    "112": "城乡结合区",
    "121": "镇中心区",
    "122": "镇乡结合区",
    "123": "特殊区域",
    "210": "乡中心区",
    "220": "村庄",
}

# Names compare by code point on PostgreSQL whatever the database's default collation, so a
# prefix search is an index range there as on SQLite (see queries.search).
NameString = String(100).with_variant(String(100, collation="C"), "postgresql")

LEVEL_PROVINCE, LEVEL_CITY, LEVEL_COUNTY, LEVEL_TOWNSHIP, LEVEL_VILLAGE, LEVEL_GRID = range(1, 7)


class Region(Base):
    __tablename__ = "region"
    # SQLite: keep rows in the primary-key B-tree itself; every lookup is by code.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    # Full official name, e.g. 递铺街道 / 古城村村民委员会.
    name: Mapped[str] = mapped_column(NameString, index=True)
    # Name without the administrative suffix (递铺 / 古城村), for display and matching.
    short_name: Mapped[str] = mapped_column(NameString, index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 1 province, 2 city, 3 county, 4 township, 5 village/community, 6 grid cell.
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("region.code"), index=True
    )
    urban_rural_code: Mapped[str | None] = mapped_column(String(3))
    # None above village level and where the class is unknown.
    is_urban: Mapped[bool | None] = mapped_column(Boolean)
    # True when is_urban was guessed from the name (居委会/社区 vs 村委会), not given by an import.
    urban_rural_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the resolver's cache asks for max(updated_at) to notice changed regions.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
