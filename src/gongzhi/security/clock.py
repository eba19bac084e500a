"""The time the security domain reasons with (sessions, lock-out, TOTP, password age).

Every check calls ``clock.now()`` through the module, so tests move time by replacing
``gongzhi.security.clock.now`` rather than sleeping.
"""

from __future__ import annotations

from datetime import datetime

from gongzhi.db import utcnow


def now() -> datetime:
    return utcnow()
