"""Route guards. Every route declares exactly one of these (tests/arch walks them all).

@router.get("/things")
def list_things(principal: Principal = require(Permission.THING_READ), db: DB): ...

@router.get("/login")
def login_page(principal: Principal | None = public()): ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gongzhi.db import get_db
from gongzhi.errors import Forbidden, Unauthenticated
from gongzhi.security.csrf import submitted_csrf_token
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# The request's database session; the edge commits it before the response is sent.
DB = Annotated[Session, Depends(get_db, scope="function")]
# The CSRF token an unsafe request carries, read before authentication checks it.
CsrfToken = Annotated[str | None, Depends(submitted_csrf_token)]


class RouteAccess:
    """Marker base: the architecture test accepts a route only if it depends on one."""


class Require(RouteAccess):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, db: DB, csrf_token: CsrfToken) -> Principal:
        from gongzhi.security.auth import authenticate

        request.state.csrf_submitted = csrf_token
        principal = authenticate(request, db)
        if principal is None:
            raise Unauthenticated("请先登录 / Please sign in")
        # Recorded before the check so a 403 page still shows who is signed in.
        request.state.principal = principal
        if not principal.can(self.permission):
            raise Forbidden("没有权限 / Not allowed", code="forbidden")
        return principal


class Public(RouteAccess):
    """Explicitly public; the principal is passed along when someone is signed in."""

    def __call__(self, request: Request, db: DB, csrf_token: CsrfToken) -> Principal | None:
        from gongzhi.security.auth import authenticate

        request.state.csrf_submitted = csrf_token
        principal = authenticate(request, db)
        request.state.principal = principal
        return principal


def require(permission: Permission) -> Any:
    return Depends(Require(permission))


def public() -> Any:
    return Depends(Public())
