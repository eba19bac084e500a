"""Tables of the master index: the persons and legal entities found by linking the current
versions of the department datasets (docs/data.md, "Master index").

One *build* per kind (person / entity) is current; a rebuild deletes the previous build of
its kind and writes the new one in the same transaction, so readers see either the old
index or the new one. Nothing here holds a personal value: entities point at dataset rows
(whose personal fields stay sealed there), and a pair keeps only the comparison levels and
match weights (its explanation), never the values compared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String
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
