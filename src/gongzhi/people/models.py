"""The person table: one row per natural person, keyed by the citizen ID number.

The ID number, name and phone are sealed (SM4-GCM, bound to the row); the ID number and the
phone have HMAC-SM3 blind indexes, the ID number's unique (one row per person). Birth date,
sex and household region are kept plain: they are what statistics group by, and the ID
number's index cannot be recovered from them without the index key.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.crypto.fields import (
    SealedField,
    index_column,
    normalize_id_number,
    normalize_phone,
    row_key_column,
    sealed_column,
)
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (Index("ix_person_household_region_code", "household_region_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    row_key: Mapped[bytes] = row_key_column()
    id_number_sealed: Mapped[bytes | None] = sealed_column()
    id_number_index: Mapped[bytes | None] = index_column(unique=True)
    name_sealed: Mapped[bytes | None] = sealed_column()
    phone_sealed: Mapped[bytes | None] = sealed_column()
    phone_index: Mapped[bytes | None] = index_column()
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    # 户籍地: 12-digit statistical division code (the ID number's first six digits name the
    # county that issued it, which need not be where the person is registered today).
    household_region_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    id_number = SealedField("id_number", index="id_number", normalize=normalize_id_number)
    name = SealedField("name")
    phone = SealedField("phone", index="phone", normalize=normalize_phone)
