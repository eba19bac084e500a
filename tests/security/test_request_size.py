"""Upload and body size limits: a declared length over the limit is refused before reading,
a chunked body or one longer than it declared is cut off as soon as it passes the limit,
and every refusal is a 413 that says the limit, in the caller's format."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gongzhi.cases.attachments import MAX_BYTES, MAX_PHOTOS
from gongzhi.data.runs import UPLOAD_LIMIT_BYTES
from gongzhi.org.api import MAX_IMPORT_BYTES
from gongzhi.security.request_size import RequestSizeLimitMiddleware
from tests.security.fixtures import login_as

MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _size_middleware(app: FastAPI) -> RequestSizeLimitMiddleware:
    stack: Any = app.build_middleware_stack()
    while not isinstance(stack, RequestSizeLimitMiddleware):
        stack = stack.app
    return stack


def test_each_upload_route_has_its_own_limit(app: FastAPI) -> None:
    limits = _size_middleware(app)
    assert limits.limit_for("/api/v1/me") == MB
    photos = limits.limit_for("/report/photos")
    assert MAX_PHOTOS * MAX_BYTES < photos < MAX_PHOTOS * MAX_BYTES + MB
    for path in ("/org/responsibilities/import", "/api/v1/org/responsibilities/import"):
        assert MAX_IMPORT_BYTES < limits.limit_for(path) < MAX_IMPORT_BYTES + MB
    data_limit = limits.limit_for("/api/v1/data/datasets/households/imports")
    assert data_limit == limits.limit_for("/data/datasets/households/imports")
    assert UPLOAD_LIMIT_BYTES < data_limit < UPLOAD_LIMIT_BYTES + MB
    # Only the exact routes: a path that merely starts alike gets the default.
    assert limits.limit_for("/report/photos/remove") == MB


def test_declared_length_over_the_default_is_refused_as_json(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/auth/tokens",
        content=b"{" + b" " * MB + b"}",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 413
    error = resp.json()["error"]
    assert error["code"] == "request_too_large" and "1 MB" in error["message"]
    assert error["details"] == {"max_bytes": MB}


def test_too_many_photos_at_once_are_refused_with_a_page(client: TestClient) -> None:
    csrf = login_as(client, "citizen")
    big = b"\xff\xd8\xff" + b"\x00" * (MAX_BYTES - 3)
    files = [("photos", (f"p{i}.jpg", big, "image/jpeg")) for i in range(MAX_PHOTOS + 1)]
    resp = client.post("/report/photos", files=files, data={"csrf_token": csrf})
    assert resp.status_code == 413
    assert "text/html" in resp.headers["content-type"]
    assert "提交的内容太大" in resp.text and "15 MB" in resp.text
    # The draft has no photo from the refused request.
    page = client.get("/report/photos")
    assert "p0.jpg" not in page.text


def test_a_photo_within_the_limit_is_still_checked_by_type(client: TestClient) -> None:
    csrf = login_as(client, "citizen")
    files = [("photos", ("notes.jpg", b"MZ\x90\x00 not an image", "image/jpeg"))]
    resp = client.post("/report/photos", files=files, data={"csrf_token": csrf, "action": "upload"})
    assert resp.status_code in (200, 422)
    assert "notes.jpg" in resp.text  # named in the error next to the field
    files = [("photos", ("ok.png", PNG, "image/png"))]
    resp = client.post(
        "/report/photos",
        files=files,
        data={"csrf_token": csrf, "action": "upload"},
        follow_redirects=False,
    )
    assert resp.status_code == 303


def _drive(
    app: FastAPI, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes, int]:
    """Send a request body chunk by chunk straight into the ASGI app; return the status,
    the response body and how many chunks the app pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        await asyncio.sleep(3600)  # a client that never finishes
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=20)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, pulled


CHUNK = 64 * 1024


@pytest.mark.parametrize(
    "declared",
    [None, str(CHUNK).encode()],  # chunked transfer; a Content-Length that lies
    ids=["chunked", "lying-content-length"],
)
def test_a_streamed_body_is_cut_off_at_the_limit(app: FastAPI, declared: bytes | None) -> None:
    chunks = [b"x" * CHUNK] * 64  # 4 MB in all, the limit is 1 MB
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", declared))
    status, body, pulled = _drive(app, "/api/v1/auth/tokens", chunks, headers)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert pulled == MB // CHUNK + 1  # stopped at the first chunk past the limit


def test_a_streamed_multipart_upload_is_cut_off_before_the_parser_spools_it(
    app: FastAPI,
) -> None:
    boundary = b"gzboundary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="photos"; '
        b'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff'
    )
    chunks = [head] + [b"\x00" * (1024 * 1024)] * 40  # 40 MB, never terminated
    headers = [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
    status, body, pulled = _drive(app, "/report/photos", chunks, headers)
    assert status == 413
    assert "提交的内容太大".encode() in body
    assert pulled < 20


def test_a_small_body_passes_untouched(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/auth/tokens", json={"username": "nobody", "password": "wrong-password-1"}
    )
    assert resp.status_code == 401
