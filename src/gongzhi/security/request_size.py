"""Request body size limits, enforced before a body is read to the end.

Every request body has a limit: the upload routes their own (a few photos, a
responsibility-list file), everything else ``Settings.request_max_bytes``. A declared
``Content-Length`` above the limit is refused at once without reading anything; a body sent
in chunks, or longer than it declared, is counted as it arrives and refused as soon as it
passes the limit, so a client cannot fill the disk with the multipart parser's spool files.
The refusal is 413 with a message that says the limit.

Route-level checks still apply below the limit (each photo ≤ 5 MB and really an image, by
its first bytes; the import file's own limit and format).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongzhi.errors import DomainError


class RequestTooLarge(DomainError):
    status_code = 413
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        size = _human(limit)
        super().__init__(
            f"提交的内容太大，每次最多 {size} / The request is too large: at most {size}",
            details={"max_bytes": limit},
        )
        self.limit = limit


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


class _BodyOverLimit(HTTPException):
    """Raised out of ``receive`` inside the app. It is an HTTPException so that whatever
    catches it on the way out (FastAPI's body parser re-raises these) ends in a 413, and the
    middleware replaces that response with its own."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


@dataclass(frozen=True)
class SizeRule:
    """Requests to paths matching ``pattern`` (any method) may carry ``max_bytes``."""

    pattern: re.Pattern[str]
    max_bytes: int


Refuse = Callable[[Request, RequestTooLarge], Awaitable[Response] | Response]


class RequestSizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        default_max_bytes: int,
        rules: Iterable[SizeRule] = (),
        refuse: Refuse,
    ) -> None:
        self.app = app
        self.default_max_bytes = default_max_bytes
        self.rules = tuple(rules)
        self.refuse = refuse

    def limit_for(self, path: str) -> int:
        for rule in self.rules:
            if rule.pattern.fullmatch(path):
                return rule.max_bytes
        return self.default_max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = self.refuse(Request(scope, receive), RequestTooLarge(limit))
        if not isinstance(response, Response):
            response = await response
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server itself rejects a malformed length
            if too_big:
                await self._refuse(scope, receive, send, limit)
                return

        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyOverLimit
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's own answer to the interrupted body is replaced below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyOverLimit:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, limit)
