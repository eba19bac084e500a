"""Several delivery runs at once (workers, or the web process and a worker) send each
message exactly once. PostgreSQL only: the runs need their own connections and committed
rows; SQLite has a single writer anyway."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.db import session_scope
from gongzhi.notify.delivery import deliver_pending
from gongzhi.notify.models import Notification
from gongzhi.notify.services import enqueue
from gongzhi.notify.sms import FakeSmsGateway

# Rows of this test are due in the distant past, so the runs take only them, never rows
# another test or the seed may have committed.
DUE = datetime(2000, 1, 1, tzinfo=UTC)
KIND = "test.concurrent"


class SlowGateway(FakeSmsGateway):
    def send(self, phone: str, text: str) -> str:
        time.sleep(0.003)  # long enough for the runs to overlap
        return super().send(phone, text)


@pytest.mark.usefixtures("seeded")
def test_three_concurrent_runs_send_each_message_exactly_once(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (set GONGZHI_TEST_DATABASE_URL)")

    def factory() -> Session:
        return Session(bind=engine, expire_on_commit=False)

    phones = [f"139{i:08d}" for i in range(60)]
    with session_scope(factory) as db:
        for phone in phones:
            enqueue(
                db, recipient_phone=phone, kind=KIND, subject="测试", body=phone, channels=("sms",)
            )
        db.flush()
        db.execute(
            update(Notification).where(Notification.kind == KIND).values(next_attempt_at=DUE)
        )
    gateway = SlowGateway()
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    per_run: list[int] = []

    def run() -> None:
        try:
            start.wait()
            sent = 0
            while True:
                with session_scope(factory) as db:
                    report = deliver_pending(db, gateway, DUE + timedelta(seconds=1), limit=7)
                if report.total == 0:
                    break
                sent += report.sent
            per_run.append(sent)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        counts = Counter(m.phone for m in gateway.sent)
        assert sorted(counts) == sorted(phones)
        assert set(counts.values()) == {1}, [p for p, n in counts.items() if n > 1]
        assert sum(per_run) == len(phones)
        with session_scope(factory) as db:
            statuses = db.scalars(select(Notification.status).where(Notification.kind == KIND))
            assert set(statuses) == {"sent"}
    finally:
        with session_scope(factory) as db:
            db.execute(delete(Notification).where(Notification.kind == KIND))
