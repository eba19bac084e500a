"""Personal data encrypted at rest, field by field, at the model layer.

A model declares, for each personal field, a sealed column, optionally a blind-index column,
and a :class:`SealedField` under the plain name; it also carries a random ``row_key``::

    class CaseContact(Base):
        row_key: Mapped[bytes] = row_key_column()
        phone_sealed: Mapped[bytes | None] = sealed_column()
        phone_index: Mapped[bytes | None] = index_column()
        phone = SealedField("phone", index="phone", normalize=normalize_phone)

Callers keep writing ``contact.phone = "13812341999"`` and reading the plain value; the
database holds only the SM4-GCM ciphertext and the HMAC-SM3 index. Lookups go through the
index: ``select(CaseContact).where(CaseContact.phone.matches("13812341999"))``.

**Binding.** Each value is sealed with associated data naming the table, the column and the
row, and the provider adds the key version, so a ciphertext copied to another column or another
row does not open. The row is named by ``row_key``, 16 random bytes assigned when the first
sealed value is set (or at INSERT) and never changed, unique per table. A random key was chosen
over the primary key because it is known before the INSERT: SQLite has no sequences, and a
bulk load of a million people would otherwise need a second UPDATE pass over every row. The
residual: someone who can write the database could move a row key *together with* all of a
row's ciphertexts to another row (the unique constraint forbids a copy, not a swap) — that
moves a whole person's data, which the audit log's record of each row's changes exposes.

**Index purposes.** The index key is derived per purpose (``phone``, ``id_number``), not per
column, so the same phone number has the same index in the case contacts and in the people
table (linking records of one person needs it), but never the same as an ID number's index.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import LargeBinary
from sqlalchemy.orm import MappedColumn, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from gongzhi.crypto.provider import CryptoProvider

ROW_KEY_BYTES = 16
INDEX_BYTES = 32  # HMAC-SM3 output
AD_PREFIX = b"gongzhi-field/1"
SEP = b"\x1f"


def new_row_key() -> bytes:
    return os.urandom(ROW_KEY_BYTES)


def row_key_column(*, unique: bool = True) -> MappedColumn[Any]:
    """The row's binding for its sealed values: random, set once, unique.

    ``unique=False`` leaves the uniqueness to a unique index the table declares itself: a
    table that gained its row key in place on SQLite (which cannot add a constraint to an
    existing table) has an index, not a constraint."""
    return mapped_column(LargeBinary(ROW_KEY_BYTES), default=new_row_key, unique=unique)


def sealed_column(name: str | None = None) -> MappedColumn[Any]:
    if name is None:
        return mapped_column(LargeBinary, nullable=True)
    return mapped_column(name, LargeBinary, nullable=True)


def index_column(*, unique: bool = False) -> MappedColumn[Any]:
    return mapped_column(LargeBinary(INDEX_BYTES), nullable=True, index=not unique, unique=unique)


# --- normalisers: what counts as "the same value" for the index ---------------------------------
_NON_DIGITS = re.compile(r"\D")


def normalize_phone(value: str) -> str:
    """Digits only, without the +86/0086 country code: "138 1234 1999" = "+8613812341999"."""
    digits = _NON_DIGITS.sub("", value)
    for prefix in ("0086", "86"):
        if len(digits) > 11 and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def normalize_text(value: str) -> str:
    return value.strip()


# --- the provider the model layer uses -----------------------------------------------------------
_override: CryptoProvider | None = None
_override_lock = threading.Lock()


def current_provider() -> CryptoProvider:
    """The provider for model fields: the one installed by :func:`use_provider`, else the one
    of the process settings (``GONGZHI_*``)."""
    if _override is not None:
        return _override
    from gongzhi.config import get_settings
    from gongzhi.crypto import get_provider

    return get_provider(get_settings())


@contextmanager
def use_provider(provider: CryptoProvider) -> Iterator[None]:
    """Within the block, model fields seal and open with ``provider`` (tests, benchmarks)."""
    global _override
    with _override_lock:
        previous, _override = _override, provider
    try:
        yield
    finally:
        with _override_lock:
            _override = previous


# --- the field ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SealedColumnInfo:
    """What rotation and the plaintext scan need to know about one sealed column."""

    model: type
    field: SealedField
    table: str
    column: str


REGISTRY: list[SealedColumnInfo] = []


def associated_data(table: str, column: str, row_key: bytes) -> bytes:
    return SEP.join((AD_PREFIX, table.encode(), column.encode(), row_key))


class SealedField:
    """The plain-value view of a sealed column (and its blind index, if it has one).

    ``column`` names the value in the associated data and prefixes the model attributes
    ``<column>_sealed`` and ``<column>_index``; ``index`` is the blind-index purpose.
    """

    def __init__(
        self,
        column: str,
        *,
        index: str | None = None,
        normalize: Callable[[str], str] = normalize_text,
    ) -> None:
        self.column = column
        self.index_purpose = index
        self.normalize = normalize
        self.sealed_attr = f"{column}_sealed"
        self.index_attr = f"{column}_index"
        self._cache_key = f"_sealed_cache_{column}"
        self.table = ""
        self.owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.table = owner.__dict__.get("__tablename__", "")
        self.owner = owner
        if not self.table:
            raise TypeError(f"{owner.__name__}.{name}: SealedField needs __tablename__")
        REGISTRY.append(SealedColumnInfo(owner, self, self.table, self.column))

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> SealedField: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> str | None: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> SealedField | str | None:
        if obj is None:
            return self
        sealed = getattr(obj, self.sealed_attr)
        if sealed is None:
            return None
        cached = obj.__dict__.get(self._cache_key)
        if cached is not None and cached[0] == sealed:
            return str(cached[1])
        plain = self.open(sealed, row_key=obj.row_key)  # type: ignore[attr-defined]
        obj.__dict__[self._cache_key] = (sealed, plain)
        return plain

    def __set__(self, obj: object, value: str | None) -> None:
        if value is None:
            setattr(obj, self.sealed_attr, None)
            if self.index_purpose:
                setattr(obj, self.index_attr, None)
            obj.__dict__.pop(self._cache_key, None)
            return
        if not isinstance(value, str):
            raise TypeError(f"{self.table}.{self.column} takes text, not {type(value).__name__}")
        row_key = getattr(obj, "row_key", None)
        if row_key is None:
            row_key = new_row_key()
            obj.row_key = row_key  # type: ignore[attr-defined]
        sealed = self.seal(value, row_key=row_key)
        setattr(obj, self.sealed_attr, sealed)
        if self.index_purpose:
            setattr(obj, self.index_attr, self.index_of(value))
        obj.__dict__[self._cache_key] = (sealed, value)

    # --- the parts, for bulk paths that bypass the ORM (imports, rotation, benchmarks) ------
    def seal(
        self,
        value: str,
        *,
        row_key: bytes,
        provider: CryptoProvider | None = None,
        key_version: int | None = None,
    ) -> bytes:
        return (provider or current_provider()).seal(
            value.encode("utf-8"),
            associated_data=associated_data(self.table, self.column, row_key),
            key_version=key_version,
        )

    def open(self, sealed: bytes, *, row_key: bytes, provider: CryptoProvider | None = None) -> str:
        plain = (provider or current_provider()).open(
            bytes(sealed), associated_data=associated_data(self.table, self.column, row_key)
        )
        return plain.decode("utf-8")

    def index_of(self, value: str, *, provider: CryptoProvider | None = None) -> bytes:
        if not self.index_purpose:
            raise TypeError(f"{self.table}.{self.column} has no blind index")
        normalized = self.normalize(value)
        return (provider or current_provider()).blind_index(
            self.index_purpose, normalized.encode("utf-8")
        )

    def matches(self, value: str) -> ColumnElement[bool]:
        """SQL condition: this field equals ``value`` (through the blind index)."""
        if self.owner is None:
            raise TypeError("SealedField is not attached to a model")
        column = getattr(self.owner, self.index_attr)
        condition: ColumnElement[bool] = column == self.index_of(value)
        return condition

    def values_for(
        self, value: str | None, *, row_key: bytes, provider: CryptoProvider | None = None
    ) -> dict[str, bytes | None]:
        """The column values for ``value`` (bulk INSERT through Core)."""
        if value is None:
            out: dict[str, bytes | None] = {self.sealed_attr: None}
            if self.index_purpose:
                out[self.index_attr] = None
            return out
        out = {self.sealed_attr: self.seal(value, row_key=row_key, provider=provider)}
        if self.index_purpose:
            out[self.index_attr] = self.index_of(value, provider=provider)
        return out


def sealed_fields(model: type) -> list[SealedField]:
    return [info.field for info in REGISTRY if info.model is model]
