"""The inbox API and page: only the caller's own in-app notifications, unread first."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongzhi.notify import queries
from gongzhi.notify.models import Notification
from gongzhi.notify.services import enqueue
from tests.notify.fixtures import account_id
from tests.security.fixtures import csrf_from, login_as


def _notify(db: Session, username: str, subject: str, **kw: object) -> Notification:
    (row,) = enqueue(
        db,
        recipient_account_id=account_id(db, username),
        kind="case.update",
        subject=subject,
        body=f"{subject}的正文",
        **kw,  # type: ignore[arg-type]
    )
    return row


def test_api_lists_only_the_callers_notifications_unread_first(
    client: TestClient, db: Session
) -> None:
    older = _notify(db, "citizen", "第一条")
    newer = _notify(db, "citizen", "第二条", case_number="AJ-20261128-0001")
    _notify(db, "dispatcher", "调度员的通知")
    # An SMS row of the citizen is not an inbox item.
    enqueue(
        db,
        recipient_account_id=account_id(db, "citizen"),
        recipient_phone="13812341999",
        kind="case.update",
        subject="短信",
        body="短信正文",
        channels=("sms",),
    )
    db.flush()
    csrf = login_as(client, "citizen")

    resp = client.get("/api/v1/notifications")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["unread"] == 2
    assert [i["subject"] for i in body["items"]] == ["第二条", "第一条"]
    assert body["items"][0]["case_number"] == "AJ-20261128-0001"

    resp = client.post(f"/api/v1/notifications/{newer.id}/read", headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200, resp.text
    assert resp.json()["read_at"] is not None
    items = client.get("/api/v1/notifications").json()
    assert items["unread"] == 1
    # Unread first, even when older.
    assert [i["id"] for i in items["items"]] == [older.id, newer.id]
    only_unread = client.get("/api/v1/notifications", params={"unread_only": "true"}).json()
    assert [i["id"] for i in only_unread["items"]] == [older.id]


def test_someone_elses_notification_is_not_found(client: TestClient, db: Session) -> None:
    theirs = _notify(db, "dispatcher", "调度员的通知")
    db.flush()
    csrf = login_as(client, "citizen")
    resp = client.post(f"/api/v1/notifications/{theirs.id}/read", headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    db.refresh(theirs)
    assert theirs.read_at is None


def test_marking_needs_the_csrf_token_and_a_sign_in(client: TestClient, db: Session) -> None:
    mine = _notify(db, "citizen", "我的")
    db.flush()
    assert client.get("/api/v1/notifications").status_code == 401
    login_as(client, "citizen")
    assert client.post(f"/api/v1/notifications/{mine.id}/read").status_code == 403


def test_read_all_and_the_unread_count(client: TestClient, db: Session) -> None:
    citizen = account_id(db, "citizen")
    _notify(db, "citizen", "一")
    _notify(db, "citizen", "二")
    theirs = _notify(db, "dispatcher", "别人的")
    db.flush()
    assert queries.unread_count(db, citizen) == 2
    csrf = login_as(client, "citizen")
    resp = client.post("/api/v1/notifications/read-all", headers={"X-CSRF-Token": csrf})
    assert resp.json() == {"marked": 2, "unread": 0}
    assert queries.unread_count(db, citizen) == 0
    assert queries.unread_count(db, account_id(db, "dispatcher")) == 1
    db.refresh(theirs)
    assert theirs.read_at is None


def test_page_shows_the_inbox_and_marks_read_without_javascript(
    client: TestClient, db: Session
) -> None:
    mine = _notify(db, "citizen", "诉求已受理")
    _notify(db, "dispatcher", "调度员的通知")
    db.flush()
    login_as(client, "citizen")
    page = client.get("/notifications")
    assert page.status_code == 200
    assert "诉求已受理" in page.text and "调度员的通知" not in page.text
    assert f'action="/notifications/{mine.id}/read"' in page.text
    resp = client.post(
        f"/notifications/{mine.id}/read",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/notifications"
    db.refresh(mine)
    assert mine.read_at is not None
    page = client.get("/notifications", headers={"Accept-Language": "en"})
    assert "My notifications" in page.text
    assert f'action="/notifications/{mine.id}/read"' not in page.text


def test_page_requires_sign_in(client: TestClient) -> None:
    resp = client.get("/notifications", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
