"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gongzhi.security.deps import DB, public

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[public()])
def readyz(db: DB) -> JSONResponse:
    """The database answers and its schema is at the migrations' head."""
    from gongzhi.migrations.runner import current_revision, head_revision

    try:
        db.execute(text("SELECT 1"))
        current = current_revision(db.connection())
    except Exception as exc:  # readiness must answer, not crash
        return JSONResponse({"status": "unavailable", "database": str(exc)[:200]}, 503)
    head = head_revision()
    ready = current == head
    return JSONResponse(
        {"status": "ok" if ready else "migrations_pending", "revision": current, "head": head},
        status_code=200 if ready else 503,
    )
