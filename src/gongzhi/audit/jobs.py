"""The audit log's periodic work: sequence new events and sign checkpoints; prune payloads
past the retention."""

from __future__ import annotations

from datetime import timedelta

from gongzhi.audit import log
from gongzhi.jobs import JobContext, job


@job("audit.sequence", every=timedelta(seconds=5))
def sequence(ctx: JobContext) -> dict[str, int]:
    """Number the events committed since the last run and sign a checkpoint when due."""
    result, checkpoint = log.sequence_and_checkpoint(ctx.db, ctx.settings, ctx.now)
    return {
        "sequenced": result.sequenced,
        "tree_size": result.tree_size,
        "checkpoint": checkpoint.tree_size if checkpoint is not None else 0,
    }


@job("audit.prune", every=timedelta(hours=24))
def prune(ctx: JobContext) -> int:
    """Empty the payload of events older than GONGZHI_AUDIT_RETENTION_DAYS."""
    return log.prune(ctx.db, ctx.settings, ctx.now, actor=ctx.actor)
