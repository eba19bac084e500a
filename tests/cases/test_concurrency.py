"""Two handlers sign the same case at the same moment, each in their own transaction:
exactly one wins, the other gets a conflict (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.cases import queries, services
from gongzhi.cases.models import CaseStatus
from gongzhi.db import session_scope
from gongzhi.errors import Conflict
from tests.cases.fixtures import ENFORCEMENT, SECOND_HANDLER
from tests.cases.helpers import ACTOR, YUHUA_ADDRESS, no_classifier, principal, submit  # noqa: F401


@pytest.fixture
def committed_case(engine: Engine, seeded: None, no_classifier: None) -> Iterator[str]:  # noqa: F811
    def factory() -> Session:
        return Session(bind=engine, expire_on_commit=False)

    with session_scope(factory) as db:
        case = submit(db, address_text=YUHUA_ADDRESS)
        services.dispatch_case(db, case, to=ENFORCEMENT, actor=ACTOR)
        number = case.number
    yield number
    # Committed for real: take it away again (its audit events stay, as they must).
    with session_scope(factory) as db:
        case = queries.case_by_number(db, number)
        if case is not None:
            db.delete(case)


def test_two_handlers_signing_at_once_exactly_one_wins(engine: Engine, committed_case: str) -> None:
    # PostgreSQL: both read 'dispatched' before either writes, and the conditional UPDATE
    # decides. SQLite: a writing unit of work takes the write lock at BEGIN, so the second
    # handler waits for the first to commit and then finds the case already signed.
    both_read_first = engine.dialect.name != "sqlite"
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def sign(username: str) -> None:
        try:
            with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
                actor = principal(db, username)
                case = queries.case_by_number(db, committed_case)
                assert case is not None
                _ = list(case.clocks), list(case.assignments)
                if both_read_first:
                    assert case.status == CaseStatus.DISPATCHED
                    barrier.wait(timeout=10)
                services.accept_case(db, case, actor=actor)
            results[username] = "won"
        except Conflict:
            results[username] = "conflict"
        except Exception as exc:  # pragma: no cover - shown in the assertion below
            results[username] = repr(exc)

    threads = [threading.Thread(target=sign, args=(u,)) for u in ("zhifa_chen", SECOND_HANDLER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == ["conflict", "won"], results

    with Session(bind=engine) as db:
        case = queries.case_by_number(db, committed_case)
        assert case is not None and case.status == CaseStatus.ACCEPTED
        winner = next(u for u, r in results.items() if r == "won")
        lead = next(a for a in case.assignments if a.active and a.role == "lead")
        assert lead.accepted_by_id == principal(db, winner).account_id
        assert [e.kind for e in case.events].count("accepted") == 1


@pytest.mark.usefixtures("seeded", "no_classifier")
def test_simultaneous_intakes_get_distinct_numbers(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    numbers: list[str] = []
    errors: list[str] = []

    def intake() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(3):
                with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
                    numbers.append(submit(db, address_text=YUHUA_ADDRESS).number)
        except Exception as exc:  # pragma: no cover - shown in the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=intake) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert len(numbers) == 12 and len(set(numbers)) == 12
    finally:
        with session_scope(lambda: Session(bind=engine, expire_on_commit=False)) as db:
            for number in numbers:
                case = queries.case_by_number(db, number)
                if case is not None:
                    db.delete(case)
