"""Deny by default: every route must declare a permission or be explicitly public."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Mount

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.security.deps import Public, Require, RouteAccess

# Mounted sub-applications that are public by design (static files only).
PUBLIC_MOUNTS = {"/static"}
FASTAPI_OWN_ROUTES = {"/api/docs", "/api/openapi.json", "/api/docs/oauth2-redirect"}


def _guards(dependant: Dependant) -> list[RouteAccess]:
    found: list[RouteAccess] = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, RouteAccess):
            found.append(dep.call)
        found.extend(_guards(dep))
    return found


def _app():  # type: ignore[no-untyped-def]
    return create_app(Settings(env="test", database_url="sqlite://"), session_factory=object)


def _all_routes(routes):  # type: ignore[no-untyped-def]
    """Flatten included routers (FastAPI keeps them as lazy branches)."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _all_routes(original.routes)
        else:
            yield route


def test_every_route_declares_exactly_one_guard() -> None:
    app = _app()
    missing, doubled = [], []
    for route in _all_routes(app.routes):
        if isinstance(route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"unexpected mount {route.path}"
            continue
        if not isinstance(route, APIRoute):
            # FastAPI's own docs/openapi routes
            assert route.path in FASTAPI_OWN_ROUTES, route
            continue
        guards = _guards(route.dependant)
        if not guards:
            missing.append(f"{sorted(route.methods)} {route.path}")
        elif len({type(g) for g in guards}) > 1 or len(guards) > 1:
            doubled.append(f"{sorted(route.methods)} {route.path}: {guards}")
    assert not missing, "routes without a permission or public(): " + ", ".join(missing)
    assert not doubled, "routes with more than one guard: " + ", ".join(doubled)


def test_guard_kinds_are_known() -> None:
    app = _app()
    for route in _all_routes(app.routes):
        if isinstance(route, APIRoute):
            for guard in _guards(route.dependant):
                assert isinstance(guard, Require | Public)
