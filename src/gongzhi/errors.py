"""Domain errors with stable codes.

Services raise these; the edge turns them into ``{"error": {"code", "message"}}`` for JSON
and a translated message for pages. Nothing below a route raises HTTPException.
"""

from __future__ import annotations

from typing import Any

from gongzhi.crypto.identifiers import mask_identifiers


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        # A message that names what the caller sent ("no such case: …") must not echo an ID
        # number or a mobile number back into an error page, a JSON body or a log line.
        message = mask_identifiers(message)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"
