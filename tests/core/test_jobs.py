"""The job runner: registration, one unit of work per run, the scheduler thread, the worker
command, and a clean stop."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi import jobs
from gongzhi.config import Settings
from gongzhi.jobs import Job, JobContext, Scheduler, job, load_jobs, run_job
from gongzhi.notify.models import Notification
from gongzhi.notify.services import enqueue


def _factory(connection: Connection) -> Any:
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def test_domains_register_their_jobs() -> None:
    registry = load_jobs()
    assert registry["notify.deliver"].every == timedelta(seconds=10)


def test_a_name_belongs_to_one_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "REGISTRY", {})

    @job("test.once", every=timedelta(seconds=1))
    def first(ctx: JobContext) -> None: ...

    with pytest.raises(ValueError, match="already registered"):

        @job("test.once", every=timedelta(seconds=1))
        def second(ctx: JobContext) -> None: ...

    with pytest.raises(ValueError, match="positive"):
        job("test.never", every=timedelta(0))


def test_each_run_is_one_unit_of_work(
    db: Session, connection: Connection, settings: Settings
) -> None:
    def queue(ctx: JobContext, fail: bool) -> None:
        assert ctx.actor.audit_label.startswith("system:job:test.")
        enqueue(
            ctx.db,
            recipient_phone="13812341999",
            kind=f"test.job.{fail}",
            subject="s",
            body="b",
            channels=("sms",),
        )
        if fail:
            raise RuntimeError("the job failed half-way")

    ok = Job("test.ok", timedelta(seconds=1), lambda ctx: queue(ctx, False))
    bad = Job("test.bad", timedelta(seconds=1), lambda ctx: queue(ctx, True))
    run_job(ok, _factory(connection), settings)
    with pytest.raises(RuntimeError):
        run_job(bad, _factory(connection), settings)
    kinds = set(db.scalars(select(Notification.kind).where(Notification.kind.like("test.job.%"))))
    assert kinds == {"test.job.False"}


def test_scheduler_runs_due_jobs_at_their_period_and_survives_failures(
    connection: Connection, settings: Settings
) -> None:
    ticks: list[str] = []

    def boom(ctx: JobContext) -> None:
        raise RuntimeError("boom")

    now = [jobs.utcnow()]
    scheduler = Scheduler(
        _factory(connection),
        settings,
        [
            Job("test.tick", timedelta(seconds=10), lambda ctx: ticks.append("tick")),
            Job("test.boom", timedelta(seconds=5), boom),
        ],
        clock=lambda: now[0],
    )
    assert scheduler.run_due() == ["test.tick", "test.boom"]  # everything runs at start
    assert scheduler.run_due() == []
    assert scheduler.seconds_to_next() == 5
    now[0] += timedelta(seconds=5)
    assert scheduler.run_due() == ["test.boom"]
    now[0] += timedelta(seconds=5)
    assert scheduler.run_due() == ["test.tick", "test.boom"]
    assert ticks == ["tick", "tick"]
    boom_state = scheduler.state["test.boom"]
    assert (boom_state.runs, boom_state.failures) == (3, 3)
    assert boom_state.last_error == "RuntimeError: boom"
    assert scheduler.state["test.tick"].last_error is None


def test_scheduler_thread_runs_a_registered_job_and_stops_cleanly(
    engine: Any, settings: Settings, seeded: None
) -> None:
    # Its own connections: the thread must not share the test's connection.
    ran = threading.Event()
    runs: list[int] = []
    in_job = threading.Event()

    def work(ctx: JobContext) -> int:
        in_job.set()
        time.sleep(0.05)  # a stop request arrives while the job is running
        runs.append(1)
        ran.set()
        return len(runs)

    scheduler = Scheduler(
        lambda: Session(bind=engine),
        settings,
        [Job("test.work", timedelta(milliseconds=10), work)],
    )
    thread = scheduler.start()
    assert ran.wait(5)
    assert in_job.wait(5)
    assert scheduler.stop(timeout=5) is True
    assert not thread.is_alive()
    finished = len(runs)
    assert finished >= 1 and scheduler.state["test.work"].runs == finished
    time.sleep(0.05)
    assert len(runs) == finished  # nothing runs after stop


def test_the_app_starts_and_stops_the_in_process_scheduler(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, connection: Connection
) -> None:
    from fastapi.testclient import TestClient

    from gongzhi.app import create_app

    monkeypatch.setattr(jobs, "load_jobs", lambda: {})
    on = settings.model_copy(update={"run_jobs_in_process": True})
    assert settings.jobs_in_process is False and on.jobs_in_process is True

    def running() -> bool:
        return any(t.name == "gongzhi-jobs" for t in threading.enumerate())

    app = create_app(on, session_factory=_factory(connection))
    with TestClient(app):
        assert running()
    assert not running()


def test_worker_command_runs_jobs_once(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, seeded: None
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(
        jobs.REGISTRY,
        "test.worker",
        Job("test.worker", timedelta(seconds=1), lambda c: calls.append("x")),
    )
    monkeypatch.setattr("gongzhi.config.get_settings", lambda: settings)
    console = Console(width=200, record=True)
    jobs.run_worker(console, once=True, only=["test.worker"])
    assert calls == ["x"]
    out = console.export_text()
    assert "test.worker (every 1 s)" in out and "test.worker: 1 run(s), 0 failure(s)" in out
    with pytest.raises(typer.BadParameter, match="unknown job"):
        jobs.run_worker(console, once=True, only=["no.such"])


def test_worker_command_stops_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, seeded: None
) -> None:
    import os
    import signal

    calls: list[int] = []

    def work(ctx: JobContext) -> None:
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a job runs

    monkeypatch.setitem(
        jobs.REGISTRY, "test.ctrl_c", Job("test.ctrl_c", timedelta(milliseconds=10), work)
    )
    monkeypatch.setattr("gongzhi.config.get_settings", lambda: settings)
    before = signal.getsignal(signal.SIGINT)
    console = Console(width=200, record=True)
    jobs.run_worker(console, only=["test.ctrl_c"])
    assert len(calls) == 2  # the job in progress finished, no new run started
    assert "worker stopped" in console.export_text()
    assert signal.getsignal(signal.SIGINT) is before


def test_the_delivery_job_sends_what_was_committed(
    db: Session, connection: Connection, settings: Settings
) -> None:
    from gongzhi.notify.sms import get_gateway

    fake = settings.model_copy(update={"sms_gateway": "fake"})
    phone = "13700007777"
    with jobs.session_scope(_factory(connection)) as uow:
        enqueue(
            uow,
            recipient_phone=phone,
            kind="test.job",
            subject="主题",
            body="正文",
            channels=("sms",),
        )
    deliver = load_jobs()["notify.deliver"]
    report = run_job(deliver, _factory(connection), fake)
    assert report.sent >= 1
    assert get_gateway(fake).to(phone) == ["主题：正文"]
    run_job(deliver, _factory(connection), fake)
    assert get_gateway(fake).to(phone) == ["主题：正文"]  # sent once
