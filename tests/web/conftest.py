"""Helpers for the web shell's route tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gongzhi.security.permissions import Role
from gongzhi.security.principal import Grant, Principal

COUNTY = "330523000000"  # 安吉县
VILLAGE = "330523103202"  # 玉华村


def make_principal(
    role: Role, region: str = COUNTY, *, name: str = "测试用户", locale: str | None = None
) -> Principal:
    kind = "citizen" if role == Role.CITIZEN else "staff"
    return Principal(
        account_id=1,
        username=role.value,
        display_name=name,
        kind=kind,
        grants=(Grant(role, region),),
        locale=locale,
    )


@pytest.fixture
def sign_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Principal | None], None]]:
    """Make every request of the test come from the given principal (the route guards ask
    ``security.auth.authenticate``); the real sign-in is covered in tests/security."""

    def _as(principal: Principal | None) -> None:
        monkeypatch.setattr(
            "gongzhi.security.auth.authenticate", lambda request, db: principal, raising=True
        )

    yield _as
