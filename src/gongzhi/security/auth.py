"""Authentication: who is behind a request (session cookie for pages, bearer token for the API)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from gongzhi.security.principal import Principal


def authenticate(request: Request, db: Session) -> Principal | None:
    """Return the signed-in principal, or None. (Filled in by the accounts work.)"""
    return None
