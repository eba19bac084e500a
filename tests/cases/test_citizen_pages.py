"""The citizen's pages through the real sign-in: every step of "report a problem", the draft
kept between steps, photo refusals (size, type by magic bytes), an unresolvable address
still sent (to triage), the anonymous contact hidden from handlers, my requests, the case
page, rating and reopening."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases import services
from gongzhi.cases.models import Case, CaseAttachment, CaseDraft, CaseStatus, Outcome
from tests.cases.fixtures import ENFORCEMENT, login_staff  # noqa: F401
from tests.cases.helpers import ACTOR, YUHUA_ADDRESS, no_classifier  # noqa: F401
from tests.security.fixtures import login_as

pytestmark = pytest.mark.usefixtures("no_classifier")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@pytest.fixture
def uploads(app: Any, tmp_path: Path) -> Path:
    """Photos of this test go to a temporary directory."""
    app.state.settings = app.state.settings.model_copy(update={"upload_dir": tmp_path})
    return tmp_path


@pytest.fixture
def citizen(client: TestClient, uploads: Path) -> str:
    return login_as(client, "citizen")


def post(
    client: TestClient, csrf: str, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> Any:
    return client.post(url, data={"csrf_token": csrf, **(data or {})}, follow_redirects=False, **kw)


def report(
    client: TestClient,
    csrf: str,
    *,
    description: str = "村口路灯坏了三天，晚上很黑",
    address: str = YUHUA_ADDRESS,
    anonymous: bool = False,
    phone: str = "",
    photos: list[tuple[str, bytes, str]] | None = None,
) -> str:
    """Walk every step; return the case number from the receipt page."""
    resp = post(client, csrf, "/report/problem", {"description": description})
    assert resp.status_code == 303 and resp.headers["location"] == "/report/where"
    resp = post(client, csrf, "/report/where", {"address": address})
    assert resp.headers["location"] == "/report/where/confirm"
    resp = post(client, csrf, "/report/where/confirm", {"answer": "yes"})
    assert resp.headers["location"] == "/report/photos"
    files = [("photos", p) for p in photos or []]
    resp = post(client, csrf, "/report/photos", {"action": "continue"}, files=files or None)
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"] == "/report/contact"
    resp = post(
        client, csrf, "/report/contact", {"anonymous": "yes" if anonymous else "no", "phone": phone}
    )
    assert resp.headers["location"] == "/report/check"
    assert client.get("/report/check").status_code == 200
    resp = post(client, csrf, "/report/check")
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location.startswith("/report/sent/")
    return location.rsplit("/", 1)[1]


def case_of(db: Session, number: str) -> Case:
    db.expire_all()
    case = db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    return case


def test_signed_out_is_sent_to_sign_in(client: TestClient) -> None:
    resp = client.get("/report", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/report"


def test_pages_in_english(client: TestClient, citizen: str) -> None:
    client.cookies.set("lang", "en")
    page = client.get("/report/problem")
    assert "What is the problem?" in page.text and "遇到了什么问题" not in page.text
    resp = post(client, citizen, "/report/problem", {"description": ""})
    assert "Tell us what the problem is" in resp.text


def test_staff_without_case_submit_cannot_report(client: TestClient) -> None:
    login_as(client, "data_officer")
    assert client.get("/report/problem").status_code == 403


def test_every_step_and_receipt(client: TestClient, citizen: str, db: Session) -> None:
    # /report starts at the first question.
    resp = client.get("/report", follow_redirects=False)
    assert resp.headers["location"] == "/report/problem"
    page = client.get("/report/problem")
    assert page.status_code == 200
    assert 'for="description"' in page.text and 'name="csrf_token"' in page.text

    number = report(client, citizen, photos=[("lamp.png", PNG, "image/png")])
    receipt = client.get(f"/report/sent/{number}")
    assert receipt.status_code == 200
    assert number in receipt.text
    assert "接下来会怎样" in receipt.text
    case = case_of(db, number)
    assert case.channel == "web" and case.region_code == "330523103202"
    assert case.reporter_account_id is not None and not case.anonymous
    assert case.contact is not None and case.contact.name == "王秀英"
    # The draft is gone; the photo is attached and linked.
    assert (
        db.scalar(select(CaseDraft).where(CaseDraft.account_id == case.reporter_account_id)) is None
    )
    rows = list(db.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id)))
    assert [r.content_type for r in rows] == ["image/png"]
    assert case.media_urls == [f"/cases/{number}/photos/{rows[0].sha256}"]
    photo = client.get(case.media_urls[0])
    assert photo.status_code == 200 and photo.content == PNG
    assert photo.headers["content-type"] == "image/png"
    # It is in "my requests", and its page shows the public timeline.
    mine = client.get("/my/cases")
    assert number in mine.text
    detail = client.get(f"/my/cases/{number}")
    assert detail.status_code == 200
    assert "我们收到了你的诉求" in detail.text
    assert f"/cases/{number}/photos/" in detail.text


def test_draft_survives_a_reload_and_change_links_return(client: TestClient, citizen: str) -> None:
    post(client, citizen, "/report/problem", {"description": "垃圾桶满了没人清"})
    page = client.get("/report/problem")
    assert "垃圾桶满了没人清" in page.text
    # Where the citizen left off: the next unanswered question.
    assert client.get("/report", follow_redirects=False).headers["location"] == "/report/where"
    number_before = client.get("/report/check", follow_redirects=False)
    assert number_before.headers["location"] == "/report/where"


def test_check_answers_has_change_links(client: TestClient, citizen: str) -> None:
    post(client, citizen, "/report/problem", {"description": "桥上栏杆松动"})
    post(client, citizen, "/report/where", {"address": YUHUA_ADDRESS})
    post(client, citizen, "/report/where/confirm", {"answer": "yes"})
    post(client, citizen, "/report/photos", {"action": "continue"})
    post(client, citizen, "/report/contact", {"anonymous": "no", "phone": "13800000000"})
    page = client.get("/report/check")
    assert page.status_code == 200
    for href in ("/report/problem", "/report/where", "/report/photos", "/report/contact"):
        assert f'href="{href}"' in page.text
    assert "桥上栏杆松动" in page.text and "13800000000" in page.text
    assert "玉华村" in page.text
    # Changing one answer goes back to the check page, the rest kept.
    resp = post(client, citizen, "/report/problem", {"description": "桥上栏杆松动，有人差点掉下去"})
    assert resp.headers["location"] == "/report/check"


def test_resolved_names_are_shown_for_confirmation(client: TestClient, citizen: str) -> None:
    post(client, citizen, "/report/problem", {"description": "路面塌陷"})
    post(client, citizen, "/report/where", {"address": YUHUA_ADDRESS})
    page = client.get("/report/where/confirm")
    assert "安吉县 › 鄣吴镇 › 玉华村" in page.text
    # "No, change it" goes back to the address.
    resp = post(client, citizen, "/report/where/confirm", {"answer": "change"})
    assert resp.headers["location"] == "/report/where"
    # No answer: an error summary linking to the first choice.
    resp = post(client, citizen, "/report/where/confirm", {})
    assert resp.status_code == 422
    assert 'href="#answer-yes"' in resp.text and 'id="answer-yes"' in resp.text


def test_missing_and_too_long_description(client: TestClient, citizen: str) -> None:
    resp = post(client, citizen, "/report/problem", {"description": "   "})
    assert resp.status_code == 422
    assert 'class="error-summary"' in resp.text and 'href="#description"' in resp.text
    resp = post(client, citizen, "/report/problem", {"description": "长" * 2001})
    assert resp.status_code == 422
    assert "2000" in resp.text
    # The text typed is given back, not lost.
    assert "长" * 2001 in resp.text


def test_missing_address(client: TestClient, citizen: str) -> None:
    post(client, citizen, "/report/problem", {"description": "噪音扰民"})
    resp = post(client, citizen, "/report/where", {"address": ""})
    assert resp.status_code == 422 and 'href="#address"' in resp.text
    # A map point alone is enough.
    resp = post(client, citizen, "/report/where", {"address": "", "lat": "30.63", "lon": "119.68"})
    assert resp.headers["location"] == "/report/where/confirm"


def test_unresolvable_address_still_submits_to_triage(
    client: TestClient, citizen: str, db: Session
) -> None:
    post(client, citizen, "/report/problem", {"description": "这里有一棵树倒了"})
    post(client, citizen, "/report/where", {"address": "大槐树底下"})
    page = client.get("/report/where/confirm")
    assert "指挥中心会核实地点" in page.text
    post(client, citizen, "/report/where/confirm", {"answer": "yes"})
    post(client, citizen, "/report/photos", {"action": "continue"})
    post(client, citizen, "/report/contact", {"anonymous": "no"})
    resp = post(client, citizen, "/report/check")
    number = resp.headers["location"].rsplit("/", 1)[1]
    case = case_of(db, number)
    assert case.status == CaseStatus.TRIAGE and case.region_code is None
    assert case.address_text == "大槐树底下"
    receipt = client.get(f"/report/sent/{number}")
    assert "确定负责的部门" in receipt.text


def _to_photos(client: TestClient, csrf: str) -> None:
    post(client, csrf, "/report/problem", {"description": "井盖丢了"})
    post(client, csrf, "/report/where", {"address": YUHUA_ADDRESS})
    post(client, csrf, "/report/where/confirm", {"answer": "yes"})


def test_photo_too_large_is_refused_and_draft_kept(
    client: TestClient, citizen: str, uploads: Path
) -> None:
    _to_photos(client, citizen)
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)
    resp = post(
        client,
        citizen,
        "/report/photos",
        {"action": "continue"},
        files=[
            ("photos", ("big.jpg", big, "image/jpeg")),
            ("photos", ("ok.png", PNG, "image/png")),
        ],
    )
    assert resp.status_code == 422
    assert "超过 5 MB" in resp.text and 'href="#photos"' in resp.text
    # The good photo is kept, the big one is not stored, and the earlier answers remain.
    assert "ok.png" in resp.text
    stored = [p for p in uploads.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == PNG
    assert "井盖丢了" in client.get("/report/problem").text


def test_non_image_is_refused_by_its_bytes(client: TestClient, citizen: str) -> None:
    _to_photos(client, citizen)
    # A text file named .jpg and sent as image/jpeg is still not a photo.
    resp = post(
        client,
        citizen,
        "/report/photos",
        {"action": "upload"},
        files=[("photos", ("fake.jpg", b"<html>not a photo</html>", "image/jpeg"))],
    )
    assert resp.status_code == 422
    assert "不是 JPEG、PNG 或 WebP 格式的照片" in resp.text
    # A real WebP named .txt is accepted: the bytes decide.
    resp = post(
        client,
        citizen,
        "/report/photos",
        {"action": "upload"},
        files=[("photos", ("shot.txt", WEBP, "text/plain"))],
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/report/photos"
    assert "shot.txt" in client.get("/report/photos").text


def test_at_most_three_photos_and_remove(client: TestClient, citizen: str) -> None:
    _to_photos(client, citizen)
    files = [("photos", (f"p{i}.jpg", JPEG + bytes([i]), "image/jpeg")) for i in range(4)]
    resp = post(client, citizen, "/report/photos", {"action": "upload"}, files=files)
    assert resp.status_code == 422 and "最多只能添加 3 张照片" in resp.text
    page = client.get("/report/photos")
    assert page.text.count('name="sha256"') == 3
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.text)
    assert sha
    post(client, citizen, "/report/photos/remove", {"sha256": sha.group(1)})
    assert client.get("/report/photos").text.count('name="sha256"') == 2


def test_anonymous_contact_is_hidden_from_handlers(
    client: TestClient, citizen: str, db: Session
) -> None:
    number = report(client, citizen, anonymous=True, phone="13912345678")
    case = case_of(db, number)
    assert case.anonymous and case.contact is not None
    assert case.contact.phone == "13912345678"  # kept for the reporter, not for handlers
    # The reporter sees it as anonymous on the case page.
    assert "匿名反映" in client.get(f"/my/cases/{number}").text
    # A dispatcher reads the case without the contact.
    client.cookies.clear()
    login_as(client, "dispatcher")
    body = client.get(f"/api/v1/cases/{number}").json()
    assert "13912345678" not in str(body) and "王秀英" not in str(body)


def test_other_citizens_case_is_not_found(client: TestClient, citizen: str, db: Session) -> None:
    number = report(client, citizen)
    client.cookies.clear()
    login_staff(client, "citizen_two")
    assert client.get(f"/my/cases/{number}").status_code == 404
    assert client.get(f"/report/sent/{number}").status_code == 404
    assert number not in client.get("/my/cases").text


def _close(db: Session, number: str, outcome: Outcome, note: str | None = None) -> Case:
    case = case_of(db, number)
    services.close_case(db, case, outcome=outcome, note=note, actor=ACTOR)
    db.flush()
    return case


def test_closed_not_ours_is_never_called_resolved(
    client: TestClient, citizen: str, db: Session
) -> None:
    number = report(client, citizen)
    _close(db, number, Outcome.NOT_OURS, "属于私人物业，请联系物业公司")
    for url in ("/my/cases", f"/my/cases/{number}"):
        text = client.get(url).text
        assert "不属于政府部门职责范围" in text
        assert "已解决" not in text
    assert "请联系物业公司" in client.get(f"/my/cases/{number}").text


def test_rate_once_after_close(client: TestClient, citizen: str, db: Session) -> None:
    number = report(client, citizen)
    # Not yet closed: no rating form, and a rating is refused.
    assert 'action="/my/cases/' + number + '/rate"' not in client.get(f"/my/cases/{number}").text
    resp = post(client, citizen, f"/my/cases/{number}/rate", {"rating": "5"})
    assert resp.status_code == 422
    _close(db, number, Outcome.NO_ACTION_POSSIBLE, "暂无资金")
    page = client.get(f"/my/cases/{number}")
    assert f'action="/my/cases/{number}/rate"' in page.text
    resp = post(client, citizen, f"/my/cases/{number}/rate", {})
    assert resp.status_code == 422 and 'href="#rating-5"' in resp.text
    resp = post(client, citizen, f"/my/cases/{number}/rate", {"rating": "2", "comment": "太慢了"})
    assert resp.status_code == 303
    case = case_of(db, number)
    assert case.rating == 2 and case.rating_comment == "太慢了"
    page = client.get(f"/my/cases/{number}")
    assert "不满意" in page.text and f'action="/my/cases/{number}/rate"' not in page.text
    resp = post(client, citizen, f"/my/cases/{number}/rate", {"rating": "5"})
    assert resp.status_code == 422 and "已评价过" in resp.text


def test_reopen_within_window(client: TestClient, citizen: str, db: Session) -> None:
    number = report(client, citizen)
    _close(db, number, Outcome.NOT_OURS, "不归我们管")
    resp = post(client, citizen, f"/my/cases/{number}/reopen", {"reason": ""})
    assert resp.status_code == 422 and 'href="#reason"' in resp.text
    resp = post(client, citizen, f"/my/cases/{number}/reopen", {"reason": "其实是村里的路"})
    assert resp.status_code == 303
    case = case_of(db, number)
    assert case.status == CaseStatus.TRIAGE and case.reopen_count == 1
    assert "你要求重新办理" in client.get(f"/my/cases/{number}").text


def test_waiting_for_the_citizen_is_shown(client: TestClient, citizen: str, db: Session) -> None:
    number = report(client, citizen)
    case = case_of(db, number)
    services.pause_for_citizen(db, case, reason="请补充具体门牌号", actor=ACTOR)
    db.flush()
    page = client.get(f"/my/cases/{number}").text
    assert "正在等你补充情况" in page and "请补充具体门牌号" in page
    assert "等待你补充情况" in client.get("/my/cases").text


def test_every_form_carries_csrf(client: TestClient, citizen: str) -> None:
    resp = client.post("/report/problem", data={"description": "没有令牌"}, follow_redirects=False)
    assert resp.status_code == 403


def test_landing_links_report(client: TestClient) -> None:
    assert 'href="/report"' in client.get("/").text


def test_the_map_draws_tiles_only_from_a_configured_tile_server(
    app: Any, client: TestClient, citizen: str
) -> None:
    resp = client.get("/report/where")
    assert resp.status_code == 200 and 'id="report-map"' in resp.text
    assert "data-tiles" not in resp.text
    tiles = "https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png"
    app.state.settings = app.state.settings.model_copy(update={"map_tile_url": tiles})
    resp = client.get("/report/where")
    assert f'data-tiles="{tiles}"' in resp.text
