"""A process killed between an action and its commit leaves neither the change nor its audit
event: both are in one transaction, and the audit write is part of the action's service."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gongzhi.audit.models import AuditEvent
from gongzhi.org.models import Department

CHILD = r"""
import os, sys
from sqlalchemy import func, select
from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.org import services
from gongzhi.org.models import Department

url, mode, code = sys.argv[1:4]
engine = make_engine(url)
with session_scope(make_session_factory(engine)) as db:
    dept = services.create_department(
        db, code=code, name="进程被杀测试局", kind="functional", level="county",
        region_code="330523000000", actor=SystemActor("test:killed"),
    )
    db.flush()
    events = db.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "department", AuditEvent.object_id == str(dept.id)
        )
    )
    print(f"flushed {dept.id} {events}", flush=True)
    if mode == "exit":
        os._exit(0)
    sys.stdin.readline()  # the parent kills this process while it waits here
"""


@pytest.mark.parametrize("mode", ["exit", "sigkill"])
def test_killed_before_commit_leaves_neither_change_nor_event(
    engine: Engine, seeded: None, settings: object, mode: str
) -> None:
    code = f"KILL-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(engine.url.render_as_string(hide_password=False)),
            mode,
            code,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("flushed "), child.stderr.read() if child.stderr else line
    _, dept_id, events_seen = line.split()
    assert events_seen == "1"  # inside its transaction the child saw its change and its event
    if mode == "sigkill":
        child.kill()
    child.wait(timeout=30)
    assert child.returncode in (0, -9)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(Department.code == code)) == 0
        assert (
            conn.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.object_type == "department", AuditEvent.object_id == dept_id)
            )
            == 0
        )
