"""The audit administrator's pages: only the auditor reads them; the event list filters and
pages by key; an event's page shows its canonical text and an inclusion proof checked
against the latest signed checkpoint; the status page shows the log and its key."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle, queries
from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import record
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.db import utcnow
from gongzhi.security.models import Account
from tests.audit.helpers import ACTOR, bypass_triggers, write_events
from tests.security.fixtures import login_as

PAGES = ("/audit/events", "/audit/status")
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def signed(db: Session, settings: Settings) -> list[AuditEvent]:
    """Twelve sequenced events under a signed checkpoint."""
    events = write_events(db, 12, action="test.pages.write")
    log.sequence(db, settings)
    assert log.sign_checkpoint(db, settings, utcnow()) is not None
    db.flush()
    return events


def _event_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-event="(\d+)">', html)]


@pytest.mark.parametrize("path", [*PAGES, "/audit/events/1"])
def test_only_the_audit_administrator_reads_the_pages(
    client: TestClient, signed: list[AuditEvent], path: str
) -> None:
    if path.endswith("/1"):
        path = f"/audit/events/{signed[0].id}"
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    for persona in ("system_admin", "dispatcher", "citizen"):
        client.cookies.clear()
        login_as(client, persona)
        assert client.get(path).status_code == 403, persona
    client.cookies.clear()
    login_as(client, "audit_admin")
    assert client.get(path).status_code == 200


def test_the_staff_home_tile_leads_to_the_event_list(client: TestClient) -> None:
    login_as(client, "audit_admin")
    home = client.get("/staff").text
    assert 'href="/audit/events"' in home
    client.cookies.clear()
    login_as(client, "dispatcher")
    assert "/audit/events" not in client.get("/staff").text


def test_no_form_on_the_pages_changes_anything(
    client: TestClient, signed: list[AuditEvent]
) -> None:
    login_as(client, "audit_admin")
    for path in (*PAGES, f"/audit/events/{signed[0].id}"):
        html = client.get(path).text
        forms = re.findall(r"<form[^>]*>", html)
        # The only POST is the shell's sign-out button.
        posts = [f for f in forms if 'method="post"' in f and 'action="/logout"' not in f]
        assert not posts, (path, posts)
        assert "<script>" not in html and 'style="' not in html


def test_the_list_is_newest_first_and_paged_by_key(
    client: TestClient, db: Session, settings: Settings
) -> None:
    events = write_events(db, 120, action="test.paging.write")
    login_as(client, "audit_admin")
    # Narrow to this test's events; the sign-in above recorded its own.
    first = client.get("/audit/events", params={"action": "test.paging."})
    assert first.status_code == 200
    ids = _event_ids(first.text)
    newest = sorted((e.id for e in events), reverse=True)
    assert ids == newest[:50]
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert _event_ids(second.text) == newest[50:100]
    third_link = re.search(r'rel="next" href="([^"]+)"', second.text)
    assert third_link is not None
    third = client.get(third_link.group(1).replace("&amp;", "&"))
    assert _event_ids(third.text) == newest[100:]
    assert 'rel="next"' not in third.text
    back = re.search(r'rel="prev" href="([^"]+)"', third.text)
    assert back is not None
    assert _event_ids(client.get(back.group(1).replace("&amp;", "&")).text) == newest[50:100]


def test_events_page_walks_ties_in_time_by_id(db: Session) -> None:
    """Events recorded in the same microsecond are neither skipped nor repeated."""
    events = write_events(db, 7, action="test.ties.write")
    same = events[0].occurred_at
    bypass_triggers(db)
    db.execute(
        update(AuditEvent)
        .where(AuditEvent.id.in_([e.id for e in events]))
        .values(occurred_at=same)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()
    flt = queries.EventFilter(action_prefix="test.ties.")
    seen: list[int] = []
    page = queries.events_page(db, flt, zone=ZONE, size=3)
    seen += [e.id for e in page.events]
    while page.older_than is not None:
        page = queries.events_page(db, flt, zone=ZONE, size=3, older_than=page.older_than)
        seen += [e.id for e in page.events]
    assert seen == sorted((e.id for e in events), reverse=True)


def test_a_rare_match_outside_the_recent_window_is_still_found(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a filtered page looks among the newest events first; matches older than
    that window are found all the same, in order, page after page."""
    monkeypatch.setattr(queries, "RECENT_WINDOW", 4)
    rare = write_events(db, 3, action="test.window.rare")
    common = write_events(db, 9, action="test.window.common")
    flt = queries.EventFilter(action_prefix="test.window.rare")
    first = queries.events_page(db, flt, zone=ZONE, size=2)
    assert [e.id for e in first.events] == [rare[2].id, rare[1].id]
    assert first.older_than is not None
    second = queries.events_page(db, flt, zone=ZONE, size=2, older_than=first.older_than)
    assert [e.id for e in second.events] == [rare[0].id] and second.older_than is None
    back = queries.events_page(db, flt, zone=ZONE, size=2, newer_than=rare[0].id)
    assert [e.id for e in back.events] == [rare[2].id, rare[1].id]
    inside = queries.events_page(
        db, queries.EventFilter(action_prefix="test.window.common"), zone=ZONE, size=3
    )
    assert [e.id for e in inside.events] == [c.id for c in reversed(common[-3:])]


def test_filters_narrow_the_list(client: TestClient, db: Session, personas: object) -> None:
    auditor_id = db.scalar(select(Account.id).where(Account.username == "audit_admin"))
    mine = record(
        db,
        actor=ACTOR,
        action="test.filter.case",
        object_type="service_case",
        object_id="AJ-20260101-0001",
        region_code="330523103202",
        new={"status": "submitted"},
    )
    other = record(
        db,
        actor=ACTOR,
        action="test.filter.other",
        object_type="department",
        object_id="7",
        region_code="330523101000",
    )
    db.flush()
    login_as(client, "audit_admin")

    def ids(**params: str) -> list[int]:
        resp = client.get("/audit/events", params=params)
        assert resp.status_code == 200, resp.text
        return _event_ids(resp.text)

    assert ids(action="test.filter.") == [other.id, mine.id]
    assert ids(action="test.filter.case") == [mine.id]
    assert ids(object_type="service_case", object_id="AJ-20260101-0001") == [mine.id]
    # A township's code covers its villages; the county covers both.
    assert ids(action="test.filter.", region="330523103000") == [mine.id]
    assert ids(action="test.filter.", region="330523000000") == [other.id, mine.id]
    today = utcnow().astimezone(ZONE).date()
    assert ids(action="test.filter.", since=today.isoformat()) == [other.id, mine.id]
    assert ids(action="test.filter.", until=(today - timedelta(days=1)).isoformat()) == []
    # The sign-in recorded events whose actor is the auditor's account, by name or by id.
    by_name = ids(actor="audit_admin")
    assert by_name and by_name == ids(actor=str(auditor_id))
    rows = db.scalars(select(AuditEvent).where(AuditEvent.id.in_(by_name))).all()
    assert {r.actor_id for r in rows} == {auditor_id}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-13-01"}, "起始日期应为"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "起始日期不能晚于截止日期"),
        ({"object_id": "7"}, "请同时填写对象类型"),
        ({"region": "3305"}, "区划代码应为 12 位数字"),
        ({"actor": "nobody-here"}, "没有用户名为"),
    ],
)
def test_bad_filters_are_explained(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    login_as(client, "audit_admin")
    resp = client.get("/audit/events", params=params)
    assert resp.status_code == 422
    assert message in resp.text
    assert 'class="error-summary"' in resp.text


def test_an_event_page_shows_its_text_and_a_verified_proof(
    client: TestClient, db: Session, settings: Settings, signed: list[AuditEvent]
) -> None:
    target = signed[5]
    login_as(client, "audit_admin")
    resp = client.get(f"/audit/events/{target.id}")
    assert resp.status_code == 200
    html = resp.text
    leaf_index = int(
        db.scalar(text("SELECT leaf_index FROM audit_leaf WHERE event_id = :id"), {"id": target.id})
    )
    checkpoint = log.latest_checkpoint(db)
    assert checkpoint is not None
    assert "已验证" in html and "验证失败" not in html
    assert f"<dd>{leaf_index}</dd>" in html
    # The canonical text is shown verbatim (HTML-escaped), byte for byte what was hashed.
    assert target.canonical is not None
    assert target.canonical.replace('"', "&#34;") in html
    # The proof hashes on the page check out against the signed root by themselves.
    path = re.findall(r'<li class="hash">([A-Za-z0-9+/=]+)</li>', html)
    hasher = log.hasher_of(db, settings)
    assert merkle.verify_inclusion(
        hasher,
        leaf_index,
        checkpoint.tree_size,
        target.leaf_hash,
        [base64.b64decode(p) for p in path],
        checkpoint.root_hash,
    )
    assert base64.b64encode(checkpoint.root_hash).decode() in html


def test_a_tampered_event_page_says_so(
    client: TestClient, db: Session, signed: list[AuditEvent]
) -> None:
    target = signed[3]
    bypass_triggers(db)
    db.execute(
        text(
            "UPDATE audit_event SET canonical = REPLACE(canonical, '测试 3', '测试 X') "
            "WHERE id = :id"
        ),
        {"id": target.id},
    )
    login_as(client, "audit_admin")
    html = client.get(f"/audit/events/{target.id}").text
    assert "验证失败" in html
    assert "规范文本的哈希与日志中的叶哈希不一致" in html


def test_an_unsequenced_event_and_an_unknown_one(
    client: TestClient, db: Session, signed: list[AuditEvent]
) -> None:
    fresh = write_events(db, 1, action="test.pages.fresh")[0]
    login_as(client, "audit_admin")
    html = client.get(f"/audit/events/{fresh.id}").text
    assert "尚未排序进日志" in html
    assert client.get("/audit/events/999999999").status_code == 404


def test_the_status_page_shows_the_log_and_the_witness_key(
    client: TestClient, db: Session, settings: Settings, signed: list[AuditEvent]
) -> None:
    write_events(db, 2, action="test.pages.pending")
    login_as(client, "audit_admin")
    html = client.get("/audit/status").text
    checkpoint = log.latest_checkpoint(db)
    assert checkpoint is not None
    assert f'data-tree-size="{log.tree_size(db)}"' in html
    pending = db.scalar(select(func.count()).select_from(AuditEvent)) - log.tree_size(db)
    assert f'data-unsequenced="{pending}"' in html and pending >= 2
    assert "SM2 签名有效" in html and "根哈希与数据库中保存的树一致" in html
    assert get_provider(settings).public_key(log.SIGNING_KEY).hex() in html
    assert checkpoint.note.splitlines()[0] in html
    assert "gongzhi audit verify" in html


def test_the_default_list_reads_the_time_index(db: Session) -> None:
    """The first page without filters is an index walk, not a scan and sort of the table."""
    stmt = (
        select(AuditEvent.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(queries.PAGE_SIZE + 1)
    )
    compiled = stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table would be scanned
        plan = "\n".join(db.scalars(text(f"EXPLAIN {compiled}")))
        assert "ix_audit_event_occurred_at" in plan, plan
    else:
        plan = " ".join(
            str(r[-1]) for r in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        )
        assert "ix_audit_event_occurred_at" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
