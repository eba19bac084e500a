"""Periodic jobs of the cases domain."""

from __future__ import annotations

from datetime import timedelta

from gongzhi.cases.rollup import RefreshReport, refresh
from gongzhi.cases.services import SweepReport, sweep_clocks
from gongzhi.jobs import JobContext, job


@job("cases.sweep_deadlines", every=timedelta(minutes=1))
def sweep_deadlines(ctx: JobContext) -> SweepReport:
    """Warn before case deadlines and escalate overdue ones (催办 → 督办 → the level above)."""
    return sweep_clocks(ctx.db, actor=ctx.actor, now=ctx.now, settings=ctx.settings)


@job("cases.rollup_indicators", every=timedelta(minutes=5))
def rollup_indicators(ctx: JobContext) -> RefreshReport:
    """Keep the indicators' daily roll-up current: roll up the days finished since the last
    run and again every day a case change may have altered (see ``cases/rollup.py``)."""
    return refresh(ctx.db, settings=ctx.settings, now=ctx.now)
