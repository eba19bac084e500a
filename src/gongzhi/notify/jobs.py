"""Periodic jobs of the notify domain."""

from __future__ import annotations

from datetime import timedelta

from gongzhi.jobs import JobContext, job
from gongzhi.notify.delivery import DeliveryReport, deliver_pending
from gongzhi.notify.sms import get_gateway


@job("notify.deliver", every=timedelta(seconds=10))
def deliver(ctx: JobContext) -> DeliveryReport:
    """Send the SMS rows of the outbox that are due (claims make parallel workers safe)."""
    return deliver_pending(
        ctx.db,
        get_gateway(ctx.settings),
        ctx.now,
        actor=ctx.actor,
        max_attempts=ctx.settings.sms_max_attempts,
    )
