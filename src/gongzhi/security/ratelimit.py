"""Rate limits on sign-in and on the public POSTs, counted with the ``limits`` library.

Counters are kept in this process by default (``memory://``); several app processes share
them through ``GONGZHI_RATE_LIMIT_STORAGE_URL=redis://…``. The moving-window strategy counts
exactly the last N seconds, so there is no burst at a window's edge.

Two ways in:

* ``enforce(request, rule, key)`` from a route that knows the key (the sign-in routes count
  per account name and per client address), raising ``RateLimited``;
* ``RateLimitMiddleware`` for whole paths counted per client address (the citizen's report
  form, Open311 POST requests), refusing before the route reads the body.

A refusal is 429 with ``Retry-After``. If the shared storage is unreachable, requests are let
through and the failure is logged: a broken counter must not take the hotline down.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gongzhi.config import Settings
from gongzhi.errors import TooManyRequests

log = logging.getLogger("gongzhi.security.ratelimit")


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"操作太频繁，请 {retry_after} 秒后再试 / "
            f"Too many requests; please try again in {retry_after} seconds",
            code="rate_limited",
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# Rule name -> the setting that holds its limits.
RULES = {
    "login_account": "rate_limit_login_per_account",
    "login_address": "rate_limit_login_per_address",
    "report_address": "rate_limit_report_per_address",
    "open311_address": "rate_limit_open311_per_address",
}


class RateLimiter:
    """The deployment's limits; ``check`` counts one request and says how long to wait."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_on
        self.rules: dict[str, list[RateLimitItem]] = {
            rule: parse_many(getattr(settings, name)) for rule, name in RULES.items()
        }
        self.storage_url = settings.rate_limit_storage_url
        self._limiter: MovingWindowRateLimiter | None = None

    def _strategy(self) -> MovingWindowRateLimiter:
        # Made on first use so that an app that never limits anything opens no connection.
        if self._limiter is None:
            options = {"key_prefix": "gongzhi"} if self.storage_url.startswith("redis") else {}
            self._limiter = MovingWindowRateLimiter(
                storage_from_string(self.storage_url, **options)
            )
        return self._limiter

    def check(self, rule: str, key: str) -> int | None:
        """Count one request under ``rule`` for ``key``: None if allowed, else the seconds to
        wait before the next one would be."""
        if not self.enabled:
            return None
        try:
            limiter = self._strategy()
            for item in self.rules[rule]:
                if not limiter.hit(item, rule, key):
                    reset_at = limiter.get_window_stats(item, rule, key).reset_time
                    return max(1, math.ceil(reset_at - time.time()))
        except Exception:  # storage down: let the request through, loudly
            log.exception("rate-limit storage %s failed; request allowed", self.storage_url)
        return None

    def reset(self) -> None:
        """Forget every counter (tests, or an operator after a false alarm)."""
        if self._limiter is not None:
            self._limiter.storage.reset()


def client_address(scope: Scope | Request) -> str:
    """The client's address as the server saw it. Behind a reverse proxy this is the proxy's
    unless the server trusts its X-Forwarded-For (uvicorn: ``--forwarded-allow-ips``)."""
    client = scope.client if isinstance(scope, Request) else scope.get("client")
    return client[0] if client else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def enforce(request: Request, checks: Iterable[tuple[str, str]]) -> None:
    """Count the request under every (rule, key); raise ``RateLimited`` on the first refusal."""
    limiter = limiter_of(request)
    for rule, key in checks:
        wait = limiter.check(rule, key)
        if wait is not None:
            log.warning("rate limit %s reached for %s", rule, key)
            raise RateLimited(wait)


def login_checks(request: Request, username: str) -> list[tuple[str, str]]:
    """Sign-in attempts count per client address and per account name (as typed, folded)."""
    return [
        ("login_address", client_address(request)),
        ("login_account", username.strip().casefold()[:64] or "-"),
    ]


@dataclass(frozen=True)
class PathRule:
    """POSTs to paths matching ``pattern`` count under ``rule`` per client address."""

    rule: str
    pattern: re.Pattern[str]


Refuse = Callable[[Request, RateLimited], Awaitable[Response] | Response]


class RateLimitMiddleware:
    """Counts unsafe requests to the listed paths per client address before the app sees
    them; a refusal is rendered by ``refuse`` (JSON, Open311 or a page, by path)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        rules: Iterable[PathRule],
        refuse: Refuse,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.rules = tuple(rules)
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        for rule in self.rules:
            if rule.pattern.fullmatch(path):
                wait = self.limiter.check(rule.rule, client_address(scope))
                if wait is not None:
                    log.warning("rate limit %s reached for %s", rule.rule, client_address(scope))
                    request = Request(scope, receive)
                    response = self.refuse(request, RateLimited(wait))
                    if not isinstance(response, Response):
                        response = await response
                    await response(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)


def describe(settings: Settings) -> Mapping[str, str]:
    """The limits in force, for the operator's docs and the CLI."""
    return {rule: getattr(settings, name) for rule, name in RULES.items()}
