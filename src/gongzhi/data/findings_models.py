"""Findings: contradictions between departments found over the master index (docs/data.md,
"Findings").

A finding names its kind, the master entity it is about and the dataset rows involved, by
reference only: the rows' personal fields stay sealed in the dataset rows, and the
explanation says which datasets say what without a personal value. Its ``fingerprint``
(kind + the identities of what it is about, hashed) is stable across rebuilds of the master
index, so a rerun of the rules finds the same finding again instead of adding a second one,
and a dismissed finding stays dismissed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.web.i18n import N_


class FindingKind(StrEnum):
    # A household on one benefits list (低保 / 防返贫监测) and missing from the other.
    ELIGIBLE_MISSING = "eligible_missing_from_list"
    # Deceased per the household registry, still on a benefits list.
    DECEASED_ON_LIST = "deceased_on_list"
    # One person, two places: the datasets' region codes do not fit into each other.
    TWO_ADDRESSES = "two_addresses"
    # One legal entity registered with different address, legal representative or capital.
    ENTITY_CONFLICT = "entity_conflicting_registration"


KIND_NAMES = {
    FindingKind.ELIGIBLE_MISSING: N_("应享未享：只在一个名单上"),
    FindingKind.DECEASED_ON_LIST: N_("已死亡仍在保"),
    FindingKind.TWO_ADDRESSES: N_("一人两地"),
    FindingKind.ENTITY_CONFLICT: N_("法人登记信息不一致"),
}


class FindingStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    TURNED_INTO_CASE = "turned_into_case"
    # The contradiction is gone from the data (a later version or build no longer shows it).
    RESOLVED_BY_DATA = "resolved_by_data"


STATUS_NAMES = {
    FindingStatus.OPEN: N_("待处理"),
    FindingStatus.CONFIRMED: N_("已确认"),
    FindingStatus.DISMISSED: N_("已排除"),
    FindingStatus.TURNED_INTO_CASE: N_("已转核查案件"),
    FindingStatus.RESOLVED_BY_DATA: N_("数据已一致"),
}


class Finding(Base):
    __tablename__ = "data_finding"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    # sha256 hex of the kind and the sorted identities of what the finding is about.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default=FindingStatus.OPEN.value)
    # person / entity: which build of the master index it came from.
    index_kind: Mapped[str] = mapped_column(String(10))
    # The build that found (or last found) it; builds are replaced, so a plain number.
    build_id: Mapped[int | None] = mapped_column(BigInteger)
    # The master entity it is about, refreshed on every run (a rebuild replaces entities).
    subject_entity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("data_master_entity.id", ondelete="SET NULL"), index=True
    )
    # The subject's region (village or township code), for the case and for scoping.
    region_code: Mapped[str | None] = mapped_column(String(15))
    # [{"dataset": code, "dataset_id", "row_id", "record_key", "role"}]: references only.
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Which datasets say what, bilingual, without a personal value.
    explanation: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a run no longer found the contradiction (None while it is in the data).
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    decided_by_label: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("service_case.id"))
    case_number: Mapped[str | None] = mapped_column(String(40))

    @property
    def number(self) -> str:
        """The finding's number as staff quote it (in a case's description, on the phone)."""
        return f"F{self.id:06d}"
