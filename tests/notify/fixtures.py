"""Helpers of the notify tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.security.models import Account


def account_id(db: Session, username: str) -> int:
    found = db.scalar(select(Account.id).where(Account.username == username))
    assert found is not None, username
    return int(found)
