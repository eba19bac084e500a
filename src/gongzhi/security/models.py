"""Accounts, role grants, browser sessions and API tokens.

Secrets are never stored in the clear: passwords as argon2 hashes, session and API tokens as
SHA-256 of a random 32-byte value (the value itself lives only in the cookie or the client),
the TOTP secret sealed (SM4-GCM bound to the account's row, like personal data): unlike the
others it must be read back to check a code, and whoever reads it can make the codes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongzhi.crypto.fields import SealedField, row_key_column, sealed_column
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow

ACCOUNT_KINDS = ("staff", "citizen")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # "staff" | "citizen"
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an administrator resets the password: the owner must choose a new one.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The row's binding for its sealed values (crypto.fields); unique through
    # ux_account_row_key, an index because migration 0023 adds it in place on SQLite.
    row_key: Mapped[bytes] = row_key_column(unique=False)
    # The base32 TOTP secret, sealed; read and written as ``totp_secret``. No blind index:
    # nothing looks an account up by its secret.
    totp_secret_sealed: Mapped[bytes | None] = sealed_column()
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last accepted TOTP time step: a code is good once, never replayed in its window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str | None] = mapped_column(String(10))
    # A citizen's own record in the people register, linked once they prove their ID number
    # (privacy.services.link_person); what "who used my data" lists besides their cases.
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id"), unique=True, index=True
    )

    totp_secret = SealedField("totp_secret")

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="account",
        foreign_keys="RoleGrant.account_id",
        cascade="all, delete-orphan",
        order_by="RoleGrant.id",
    )

    __table_args__ = (Index("ux_account_row_key", "row_key", unique=True),)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.username}>"


class RoleGrant(Base):
    """A role held over one region's whole subtree."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str] = mapped_column(String(15), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    account: Mapped[Account] = relationship(back_populates="grants", foreign_keys=[account_id])

    __table_args__ = (UniqueConstraint("account_id", "role", "region_code"),)


class WebSession(Base):
    """A signed-in browser. Only the hash of the cookie's token is kept."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Synchroniser token for unsafe requests; useless without the session cookie itself.
    csrf_token: Mapped[str] = mapped_column(String(64))
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(300))

    account: Mapped[Account] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API (``gz_...``). Only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
