"""Tables of the daily roll-up of the case indicators (``cases/rollup.py`` keeps them).

``case_indicator_day`` says which local days are rolled up and how fresh each one is;
``case_indicator_rollup`` holds, per rolled day, the numerators and denominators of every
indicator in two grains: per department and township (``grain="department"``, for
``by=department``) and per village (``grain="place"``, for ``by=township`` and
``by=urban_rural``). The roll-up is derived data: it can be dropped and rebuilt from the case
tables at any time (``gongzhi cases rollup``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.cases.models import Case
from gongzhi.db import Base, BigIntPK, UTCDateTime

GRAIN_DEPARTMENT = "department"
GRAIN_PLACE = "place"
# The month layer: per local month (``day`` = its first day) the sums of its days' rows of
# the grain, kept while every day of the month is rolled up; ``MONTH_BUILT`` marks a month
# whose sums are there (a month may have no other row).
GRAIN_DEPARTMENT_MONTH = "dept_month"
GRAIN_PLACE_MONTH = "place_month"
MONTH_BUILT = "month_built"

# Which cases changed since a day was rolled up is found through ``service_case.updated_at``
# (every case service stamps it); this index makes that a short range scan.
Index("ix_service_case_updated_at", Case.updated_at)


class CaseIndicatorDay(Base):
    """One rolled-up local day ``[starts_at, ends_at)``.

    ``checked_at``: every case change stamped (``updated_at``) before ``checked_at`` minus
    ``rollup.CHANGE_MARGIN`` is reflected in this day's counts. A later change of a case
    whose indicator events may fall on this day makes the day unusable until it is rolled
    up again (see ``cases/rollup.py``)."""

    __tablename__ = "case_indicator_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseIndicatorRollup(Base):
    """The counts of one day for one key.

    ``grain="department"``: ``department_id`` is the department each count belongs to under
    ``by=department`` (the assignment's department for dispatches and returns, the case's
    lead for the rest; NULL: no lead), ``region_code`` the township of the case's place (its
    own code when placed above township level; NULL: unplaced). ``grain="place"``:
    ``department_id`` is NULL and ``region_code`` is the case's village (the first twelve
    digits of its place)."""

    __tablename__ = "case_indicator_rollup"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(
        Date, ForeignKey("case_indicator_day.day", ondelete="CASCADE")
    )
    grain: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(BigInteger)
    region_code: Mapped[str | None] = mapped_column(String(15))
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    responded: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[int] = mapped_column(Integer, default=0)
    reworked: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_case_indicator_rollup_grain_day", "grain", "day"),)
