"""Helpers shared by the cases tests: actors, a held clock, one-call intake, signed-in
clients."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.cases import services
from gongzhi.cases.models import Case, Channel
from gongzhi.security.auth import load_grants
from gongzhi.security.models import Account
from gongzhi.security.principal import Principal

ACTOR = SystemActor("test")
YUHUA_ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"  # 330523103202
DIPU_ADDRESS = "浙江省湖州市安吉县递铺街道"  # 330523001000
COUNTY_ADDRESS = "浙江省湖州市安吉县"  # 330523000000


def principal(db: Session, username: str) -> Principal:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None, username
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=load_grants(db, account.id),
    )


def submit(db: Session, **kw: Any) -> Case:
    kw.setdefault("channel", Channel.WEB)
    kw.setdefault("description", "路边井盖不见了，很危险")
    kw.setdefault("actor", ACTOR)
    return services.submit_case(db, **kw)


def actions(db: Session, number: str) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "service_case", AuditEvent.object_id == number)
            .order_by(AuditEvent.id)
        )
    )


@contextmanager
def statements_run(db: Session) -> Iterator[list[str]]:
    """The SQL statements sent to the database (by any session on its engine) while the
    block runs."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


class HeldClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def held_clock(monkeypatch: pytest.MonkeyPatch) -> HeldClock:
    """The cases services' clock, held at a Wednesday morning (Asia/Shanghai) in 2026."""
    clock = HeldClock(datetime(2026, 9, 16, 1, 0, tzinfo=UTC))  # Wed 09:00 local
    monkeypatch.setattr(services, "utcnow", clock)
    return clock


@pytest.fixture
def no_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """Intake without category suggestions, so routing tests do not depend on the model."""
    module = types.ModuleType("gongzhi.cases.classify")
    module.suggest = lambda db, text, limit=3: []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gongzhi.cases.classify", module)


class JsonClient:
    """A signed-in client of the JSON API: POSTs send a JSON body and the CSRF header."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(url, json=body or {}, headers={"X-CSRF-Token": self.csrf})


class FormClient:
    """A signed-in browser-like client: forms POST with the page's CSRF token, and redirects
    are returned rather than followed."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None) -> Any:
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=body, follow_redirects=False)


SignedInClient = TypeVar("SignedInClient", JsonClient, FormClient)


@contextmanager
def signed_in_clients(
    app: Any, kind: type[SignedInClient]
) -> Iterator[Callable[[str], SignedInClient]]:
    """``make(who)``: a client of its own signed in through the real /login as a security
    persona, or as a staff account of the cases seed (the staff password) for any other name.
    The clients are closed at the end."""
    from tests.cases.fixtures import login_staff
    from tests.security.fixtures import PERSONAS, login_as

    clients: list[TestClient] = []

    def make(who: str) -> SignedInClient:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        csrf = login_as(client, who) if who in PERSONAS else login_staff(client, who)
        return kind(client, csrf)

    yield make
    for client in clients:
        client.close()
