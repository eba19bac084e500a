"""Tables of the master index: the persons, their households and the legal entities found by
linking the current versions of the department datasets (docs/data.md, "Master index").

One *build* per kind (person / entity) is current; a rebuild deletes the previous build of
its kind and writes the new one in the same transaction, so readers see either the old
index or the new one. Nothing here holds a personal value: entities point at dataset rows
(whose personal fields stay sealed there), and a pair keeps only the comparison levels and
match weights (its explanation), never the values compared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow

KIND_PERSON = "person"
KIND_ENTITY = "entity"
KIND_LABELS = {KIND_PERSON: "自然人", KIND_ENTITY: "法人"}


class MasterIndexBuild(Base):
    """One linkage of the current dataset versions of one kind."""

    __tablename__ = "data_master_build"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10), unique=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    built_by_label: Mapped[str] = mapped_column(String(200))
    threshold: Mapped[float] = mapped_column(Float)
    # The trained Splink model (m, u, prior): labels and weights of each pair's levels are
    # read from it, and a later build may predict with it instead of training.
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"code", "version"}] of the dataset versions linked.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    record_count: Mapped[int] = mapped_column(Integer)
    entity_count: Mapped[int] = mapped_column(Integer)
    pair_count: Mapped[int] = mapped_column(Integer)


class MasterEntity(Base):
    """One person or legal entity: a cluster of dataset rows."""

    __tablename__ = "data_master_entity"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_build.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    record_count: Mapped[int] = mapped_column(Integer)
    dataset_count: Mapped[int] = mapped_column(Integer, index=True)


class MasterLink(Base):
    """A dataset row → its entity. A row belongs to exactly one entity (unique row_id)."""

    __tablename__ = "data_master_link"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_entity.id"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"))
    version_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset_version.id"))
    row_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset_row.id"), unique=True)
    # "<dataset code>:<row number>": the record id the linkage saw.
    record_key: Mapped[str] = mapped_column(String(80))
    # The best match probability to another row of the entity; None for a lone row.
    match_probability: Mapped[float | None] = mapped_column(Float)


class MasterPair(Base):
    """A scored pair of rows (match probability ≥ the review band's floor) and its
    explanation: per comparison, the level reached (gamma) and its match weight."""

    __tablename__ = "data_master_pair"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_build.id"), index=True
    )
    left_link_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_link.id"), index=True
    )
    right_link_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_link.id"), index=True
    )
    match_weight: Mapped[float] = mapped_column(Float)
    match_probability: Mapped[float] = mapped_column(Float)
    # {"<comparison>": [gamma, match weight]}
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)


class MasterHousehold(Base):
    """One household of the person build: the persons whose household-registry rows carry
    the same household number (户号) in the same registry dataset (docs/data.md, "Master
    index"). Written with the persons, in the build's transaction; replaced with it.

    A person belongs to one household: that of their first registry row in the build (by
    link). The household's lists and member count are those of its living members; a
    member registered deceased stays a member (shown as such) but counts for neither, as
    the registry cancels a deceased person's registration (their listing is the "deceased
    on a list" finding)."""

    __tablename__ = "data_master_household"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_build.id"), index=True
    )
    # The household registry the number belongs to (numbers are unique per registry only).
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"))
    # 户号: an internal (unsealed) field of the shipped registry schema.
    household_number: Mapped[str] = mapped_column(String(60))
    # The head's region (the registry row's, village or township), else the first member's.
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    # The living member registered as the head (与户主关系 = 户主), if any.
    head_entity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("data_master_entity.id")
    )
    member_count: Mapped[int] = mapped_column(Integer)  # living members
    deceased_count: Mapped[int] = mapped_column(Integer)
    # On the low-income (低保, support not stopped) and poverty-monitoring (防返贫) lists,
    # through a row linked to a living member.
    on_low_income: Mapped[bool] = mapped_column(Boolean)
    on_poverty: Mapped[bool] = mapped_column(Boolean)


class MasterHouseholdMember(Base):
    """A person entity → its household, through the registry row that places it there."""

    __tablename__ = "data_master_household_member"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_household.id"), index=True
    )
    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_master_entity.id"), unique=True
    )
    link_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_master_link.id"))
    deceased: Mapped[bool] = mapped_column(Boolean)
