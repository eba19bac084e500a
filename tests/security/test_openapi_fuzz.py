"""schemathesis over /api/openapi.json, in process against the ASGI app: no operation answers
5xx to anything its schema allows (nor to schemathesis' edge cases), anonymously or with a
staff token; and with no credentials every operation that is not public answers 401 or 403,
never 2xx.

This does not find authorisation mistakes between signed-in users (the access tests do);
it finds crashes and unguarded operations. Examples per operation are kept low so that the
file runs in well under a minute; raise GONGZHI_FUZZ_EXAMPLES for a longer hunt.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.security.deps import Public
from gongzhi.security.models import Account
from gongzhi.security.services import issue_api_token
from tests.arch.test_routes_declare_permissions import _all_routes, _guards

EXAMPLES = int(os.environ.get("GONGZHI_FUZZ_EXAMPLES", "8"))


def _schema_app() -> FastAPI:
    # Only the OpenAPI document is read from this app; the tests call the fixture's app.
    return create_app(
        Settings(env="test", database_url="sqlite://", _env_file=None),  # type: ignore[call-arg]
        session_factory=object,
    )


def _public_operations(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in _all_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        if any(isinstance(g, Public) for g in _guards(route.dependant)):
            found.update((method, route.path) for method in route.methods)
    return found


_APP = _schema_app()
PUBLIC = _public_operations(_APP)
# Signed in, every operation's handler runs: the coverage phase (boundary values, missing
# and malformed parameters) is where crashes hide. Methods a path does not declare answer 405
# from the router for every path alike; sending each of them everywhere would double the run.
staff_schema = schemathesis.openapi.from_dict(_APP.openapi())
staff_schema.config.phases.coverage.unexpected_methods = set()
# Anonymous, a guarded handler never runs; random valid and invalid requests are enough to
# show that no guard is missing and that the public operations hold up.
anonymous_schema = schemathesis.openapi.from_dict(_APP.openapi())
anonymous_schema.config.phases.coverage.enabled = False

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _is_public(case: Any) -> bool:
    return (case.method.upper(), case.path) in PUBLIC


def test_the_schema_has_public_and_guarded_operations() -> None:
    operations = {(m.upper(), p) for p, ops in _APP.openapi()["paths"].items() for m in ops}
    assert len(operations) > 40
    assert ("POST", "/api/v1/auth/tokens") in PUBLIC
    assert ("GET", "/api/v1/accounts") not in PUBLIC
    assert operations & PUBLIC and operations - PUBLIC


@anonymous_schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous(case: Any, app: FastAPI) -> None:
    response = case.call(app=app)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if _is_public(case):
        return
    status = response.status_code
    where = f"{case.method} {case.formatted_path}"
    # A guarded operation never succeeds without credentials, whatever is sent.
    assert not 200 <= status < 400, f"{where} answered {status} anonymously: {response.text[:300]}"
    if _positive(case):
        # Anything its schema allows meets the guard first.
        assert status in (401, 403), f"{where} answered {status}: {response.text[:300]}"


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


@pytest.fixture
def staff_token(db: Session) -> str:
    account = db.scalar(select(Account).where(Account.username == "dispatcher"))
    assert account is not None
    _, secret = issue_api_token(
        db, account, name="fuzz", expires_days=1, actor=SystemActor("test-fuzz")
    )
    db.commit()
    return secret


@staff_schema.parametrize()
@FUZZ_SETTINGS
def test_with_a_staff_token(case: Any, app: FastAPI, staff_token: str) -> None:
    response = case.call(app=app, headers={"Authorization": f"Bearer {staff_token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
