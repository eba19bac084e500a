"""CSRF: every state-changing form carries the token, and every route guard checks it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gongzhi.security.csrf import submitted_csrf_token
from tests.arch.test_routes_declare_permissions import _all_routes, _app

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "gongzhi"
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.IGNORECASE | re.DOTALL)
POST = re.compile(r"""method\s*=\s*["']?post""", re.IGNORECASE)


def test_every_post_form_includes_csrf_input() -> None:
    offenders = []
    templates = list(PACKAGE.glob("*/templates/**/*.html"))
    assert templates
    for path in templates:
        for attrs, body in FORM.findall(path.read_text(encoding="utf-8")):
            if POST.search(attrs) and "csrf_input()" not in body:
                offenders.append(f"{path.relative_to(PACKAGE)}: <form{attrs}>")
    assert not offenders, "POST forms without {{ csrf_input() }}: " + "; ".join(offenders)


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_every_route_reads_the_submitted_csrf_token() -> None:
    # The guard hands the token to authenticate(); a route without it would let a forged
    # cross-site POST ride on the session cookie.
    missing = [
        f"{sorted(route.methods)} {route.path}"
        for route in _all_routes(_app().routes)
        if isinstance(route, APIRoute) and submitted_csrf_token not in set(_calls(route.dependant))
    ]
    assert not missing, "routes that never read the CSRF token: " + ", ".join(missing)
