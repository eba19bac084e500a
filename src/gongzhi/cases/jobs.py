"""Periodic jobs of the cases domain."""

from __future__ import annotations

from datetime import timedelta

from gongzhi.cases.services import SweepReport, sweep_clocks
from gongzhi.jobs import JobContext, job


@job("cases.sweep_deadlines", every=timedelta(minutes=1))
def sweep_deadlines(ctx: JobContext) -> SweepReport:
    """Warn before case deadlines and escalate overdue ones (催办 → 督办 → the level above)."""
    return sweep_clocks(ctx.db, actor=ctx.actor, now=ctx.now, settings=ctx.settings)
