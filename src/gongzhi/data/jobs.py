"""Periodic work of the data hub: overdue sharing requests are escalated to the data
authority (docs/sharing.md, "Deadlines")."""

from __future__ import annotations

from datetime import timedelta

from gongzhi.data.sharing.services import escalate_overdue
from gongzhi.jobs import JobContext, job


@job("data.sharing_deadlines", every=timedelta(minutes=5))
def sharing_deadlines(ctx: JobContext) -> int:
    return escalate_overdue(ctx.db, now=ctx.now, actor=ctx.actor)
