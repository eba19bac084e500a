"""Background jobs: periodic work such as outbox delivery and deadline sweeps.

A domain registers a job in its ``<domain>/jobs.py``::

    @job("notify.deliver", every=timedelta(seconds=10))
    def deliver(ctx: JobContext) -> None:
        deliver_pending(ctx.db, get_gateway(ctx.settings), ctx.now, actor=ctx.actor)

The same jobs run in a scheduler thread inside the web process (the embedded default,
setting ``run_jobs_in_process``) or in ``gongzhi worker`` processes. Each run of a job is one
unit of work (``session_scope``): committed when the job returns, rolled back when it raises.
Several processes may run the same job at the same moment, so a job must claim what it works
on (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a compare-and-set on a status) and
make every step idempotent. See docs/development/jobs.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.db import session_scope, utcnow

log = logging.getLogger("gongzhi.jobs")

# Domains whose ``jobs`` module is imported (if it exists) to register their jobs.
JOB_DOMAINS = ("notify", "cases", "org", "regions", "security", "audit", "data")


@dataclass(frozen=True)
class JobContext:
    db: Session
    now: datetime
    settings: Settings
    actor: SystemActor


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    func: Callable[[JobContext], Any]


REGISTRY: dict[str, Job] = {}


def job(name: str, *, every: timedelta) -> Callable[[Callable[[JobContext], Any]], Any]:
    """Register a periodic job under a stable dotted name (``domain.what``)."""
    if every <= timedelta(0):
        raise ValueError("a job's period must be positive")

    def register(func: Callable[[JobContext], Any]) -> Callable[[JobContext], Any]:
        existing = REGISTRY.get(name)
        # The same module imported twice (e.g. reloaded) re-registers; two jobs may not share
        # a name.
        if existing is not None and _qualified(existing.func) != _qualified(func):
            raise ValueError(f"job {name!r} is already registered")
        REGISTRY[name] = Job(name, every, func)
        return func

    return register


def configure_logging() -> None:
    """Make the jobs' log lines visible (the logging SMS gateway writes there) unless the
    process already configured logging; uvicorn only configures its own loggers."""
    platform = logging.getLogger("gongzhi")
    if logging.getLogger().handlers or platform.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    platform.addHandler(handler)
    if platform.level == logging.NOTSET:
        platform.setLevel(logging.INFO)


def _qualified(func: Callable[..., Any]) -> tuple[str, str]:
    return func.__module__, func.__qualname__


def load_jobs() -> dict[str, Job]:
    """Import every domain's ``jobs`` module and return the registry."""
    import gongzhi.models  # noqa: F401  (every table, so that any job's flush can resolve keys)

    for domain in JOB_DOMAINS:
        module = f"gongzhi.{domain}.jobs"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(REGISTRY)


def run_job(
    job_: Job, session_factory: Any, settings: Settings, now: datetime | None = None
) -> Any:
    """One run of one job in its own unit of work; returns what the job returned."""
    with session_scope(session_factory) as db:
        ctx = JobContext(
            db=db, now=now or utcnow(), settings=settings, actor=SystemActor(f"job:{job_.name}")
        )
        return job_.func(ctx)


@dataclass
class JobState:
    next_due: datetime
    runs: int = 0
    failures: int = 0
    last_finished: datetime | None = None
    last_error: str | None = None
    last_result: Any = None


@dataclass
class Scheduler:
    """Runs due jobs one after another in a single thread until stopped.

    A job that raises is logged and tried again at its next period; it never stops the
    scheduler. Stopping waits for the job in progress to finish its unit of work.
    """

    session_factory: Any
    settings: Settings
    jobs: Iterable[Job] | None = None
    clock: Callable[[], datetime] = utcnow
    on_run: Callable[[Job, JobState], None] | None = None
    state: dict[str, JobState] = field(init=False, default_factory=dict)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        jobs = list(self.jobs) if self.jobs is not None else list(load_jobs().values())
        self.jobs = jobs
        now = self.clock()
        self._by_name = {j.name: j for j in jobs}
        # Every job runs once right away, then at its period.
        self.state = {j.name: JobState(next_due=now) for j in jobs}

    def run_due(self) -> list[str]:
        """Run every job that is due now; return their names."""
        ran = []
        for name, st in self.state.items():
            if self._stop.is_set():
                break
            now = self.clock()
            if st.next_due > now:
                continue
            job_ = self._by_name[name]
            started = time.monotonic()
            try:
                st.last_result = run_job(job_, self.session_factory, self.settings, now)
                st.last_error = None
            except Exception as exc:  # a failing job is retried next period
                st.failures += 1
                st.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s failed", name)
            st.runs += 1
            st.last_finished = self.clock()
            st.next_due = now + job_.every
            log.debug("job %s ran in %.3f s", name, time.monotonic() - started)
            ran.append(name)
            if self.on_run is not None:
                self.on_run(job_, st)
        return ran

    def seconds_to_next(self) -> float:
        if not self.state:
            return 60.0
        soonest = min(st.next_due for st in self.state.values())
        return max(0.0, (soonest - self.clock()).total_seconds())

    def run_forever(self, *, max_wait: float = 1.0) -> None:
        """Loop until :meth:`stop`; wakes at least every ``max_wait`` seconds."""
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(min(max_wait, self.seconds_to_next()))

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread (the web process's in-process scheduler)."""
        configure_logging()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="gongzhi-jobs", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Ask the loop to stop and wait for the job in progress; True once it has stopped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


def run_worker(console: Any, *, once: bool = False, only: list[str] | None = None) -> None:
    """``gongzhi worker``: run the jobs in this process until Ctrl-C (or one round)."""
    import typer

    from gongzhi.config import get_settings
    from gongzhi.db import make_engine, make_session_factory

    configure_logging()
    settings = get_settings()
    registry = load_jobs()
    unknown = sorted(set(only or ()) - set(registry))
    if unknown:
        raise typer.BadParameter(
            f"unknown job(s): {', '.join(unknown)}; known: {', '.join(registry)}",
            param_hint="--job",
        )
    jobs = [j for j in registry.values() if not only or j.name in only]
    engine = make_engine(settings.database_url)
    try:
        scheduler = Scheduler(make_session_factory(engine), settings, jobs)
        names = ", ".join(f"{j.name} (every {j.every.total_seconds():g} s)" for j in jobs)
        console.print(f"jobs: {names or 'none'}")
        if once:
            scheduler.run_due()
            _print_summary(console, scheduler)
            return
        previous = _stop_on_signals(scheduler, console)
        try:
            with console.status("starting") as status:

                def show(job_: Job, st: JobState) -> None:
                    outcome = "failed" if st.last_error else "ok"
                    status.update(
                        f"[bold]{job_.name}[/bold] {outcome} at "
                        f"{st.last_finished:%H:%M:%S} (run {st.runs}); Ctrl-C stops"
                    )

                scheduler.on_run = show
                scheduler.run_forever()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        console.print("worker stopped")
        _print_summary(console, scheduler)
    finally:
        engine.dispose()


def _stop_on_signals(scheduler: Scheduler, console: Any) -> dict[int, Any]:
    """Ctrl-C (or SIGTERM) lets the job in progress finish its unit of work, then stops;
    a second Ctrl-C interrupts at once (an interrupted unit of work is rolled back)."""

    def handle(signum: int, _frame: Any) -> None:
        if scheduler.stopping:
            raise KeyboardInterrupt
        console.print("stopping after the job in progress (Ctrl-C again to interrupt)")
        scheduler.stop(timeout=0)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handle)
    return previous


def _print_summary(console: Any, scheduler: Scheduler) -> None:
    for name, st in scheduler.state.items():
        tail = f", last error: {st.last_error}" if st.last_error else ""
        console.print(f"{name}: {st.runs} run(s), {st.failures} failure(s){tail}")
