"""Privacy routes through the client, as the personas: who may reveal what (dispatcher of the
county yes; a handler of another department 403; a clerk outside the region 404; a citizen
never), an audit event for every reveal and none for a masked view, no plaintext phone or
ID number in any masked response, the person lookup, and PIPL requests end to end."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.privacy.services import REVEALED
from tests.cases.helpers import no_classifier  # noqa: F401
from tests.privacy.helpers import (
    DIPU,
    HOUSING,
    As,
    id_number,
    make_case,
    make_person,
)

pytestmark = pytest.mark.usefixtures("no_classifier")
PHONE = "13812341999"
MASKED_PHONE = b"138****1999"


def _events(db: Session, action: str = REVEALED) -> int:
    return (
        db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
        or 0
    )


def _reveal(who: As, number: str, **body: object) -> object:
    body.setdefault("fields", ["phone"])
    body.setdefault("purpose", "call_back")
    return who.post(f"/api/v1/privacy/case-contacts/{number}/reveal", body)


def test_masked_views_carry_no_plaintext_and_write_no_event(
    signed_in: Callable[[str], As], db: Session
) -> None:
    case = make_case(db)
    before = _events(db)
    dispatcher, handler = signed_in("dispatcher"), signed_in("zhifa_chen")
    for viewer in (dispatcher, handler):
        api = viewer.get(f"/api/v1/cases/{case.number}")
        assert api.status_code == 200
        assert PHONE.encode() not in api.content and MASKED_PHONE in api.content
        assert api.json()["contact"]["masked"] and api.json()["contact"]["revealable"]
        page = viewer.get(f"/cases/{case.number}")
        assert page.status_code == 200
        assert PHONE.encode() not in page.content and MASKED_PHONE in page.content
        assert f'href="/privacy/reveal/case/{case.number}"'.encode() in page.content
        form = viewer.get(f"/privacy/reveal/case/{case.number}")
        assert form.status_code == 200 and PHONE.encode() not in form.content
    assert _events(db) == before


def test_who_may_reveal_a_case_contact(
    signed_in: Callable[[str], As], db: Session, township_handler: str
) -> None:
    ours, theirs, elsewhere = (
        make_case(db),
        make_case(db, lead=HOUSING),
        make_case(db, address=DIPU),
    )
    before = _events(db)

    dispatcher = signed_in("dispatcher")  # the county's dispatch centre
    resp = _reveal(dispatcher, ours.number)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"values": {"phone": PHONE}, "recorded": True}
    assert _events(db) == before + 1

    handler = signed_in("zhifa_chen")  # enforcement bureau: leads `ours`, not `theirs`
    assert _reveal(handler, ours.number, purpose="handle_case").status_code == 200
    refused = _reveal(handler, theirs.number, purpose="handle_case")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "reveal_not_allowed"
    assert PHONE not in refused.text
    assert signed_in("zhifa_chen").get(f"/privacy/reveal/case/{theirs.number}").status_code == 403

    # A township handler (鄣吴镇) cannot even see a case in 递铺街道: not found.
    outside = signed_in(township_handler)
    assert _reveal(outside, elsewhere.number).status_code == 404
    assert outside.get(f"/privacy/reveal/case/{elsewhere.number}").status_code == 404

    # Roles without the permission are refused at the door; a citizen, never.
    for who in ("leader", "audit_admin", "citizen"):
        assert _reveal(signed_in(who), ours.number).status_code == 403, who
    assert _events(db) == before + 2

    bad = _reveal(dispatcher, ours.number, purpose="other")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "purpose_text_required"
    assert _events(db) == before + 2


def test_reveal_on_the_page_with_htmx_and_without(
    signed_in: Callable[[str], As], db: Session
) -> None:
    case = make_case(db)
    dispatcher = signed_in("dispatcher")
    before = _events(db)
    url = f"/privacy/reveal/case/{case.number}"
    fragment = dispatcher.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'name="purpose"' in fragment.text and 'hx-post="' + url in fragment.text
    # No purpose: the form again, with its message (200 for htmx, which swaps only 2xx).
    again = dispatcher.form(url, {"fields": "phone"}, headers={"HX-Request": "true"})
    assert again.status_code == 200 and "reveal-error" in again.text
    assert PHONE not in again.text
    shown = dispatcher.form(
        url, {"fields": ["phone", "name"], "purpose": "call_back"}, headers={"HX-Request": "true"}
    )
    assert shown.status_code == 200 and PHONE in shown.text and "王秀英" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    page = dispatcher.form(url, {"fields": "phone", "purpose": "handle_case"})
    assert page.status_code == 200 and "<html" in page.text and PHONE in page.text
    assert _events(db) == before + 2
    # The case page itself still shows the masked value to the next viewer.
    assert PHONE not in dispatcher.get(f"/cases/{case.number}").text


def test_anonymous_contacts_through_the_routes(signed_in: Callable[[str], As], db: Session) -> None:
    case = make_case(db, anonymous=True)
    dispatcher = signed_in("dispatcher")
    page = dispatcher.get(f"/cases/{case.number}")
    assert PHONE.encode() not in page.content and b"138****" not in page.content
    assert b"/privacy/reveal/case/" not in page.content
    assert _reveal(dispatcher, case.number).status_code == 403
    security = signed_in("security_admin")
    # The security administrator reads no case (三员分立): it reaches the contact through the
    # legal-order page, by the case number the order names.
    assert security.get(f"/cases/{case.number}").status_code == 403
    form = security.get(f"/privacy/legal-order?number={case.number}")
    assert form.status_code == 200 and b"legal_order" in form.content
    assert _reveal(security, case.number, purpose="legal_order").status_code == 422
    ok = _reveal(
        security, case.number, purpose="legal_order", purpose_text="安公（刑）调证字〔2026〕7号"
    )
    assert ok.status_code == 200 and ok.json()["values"]["phone"] == PHONE


def test_person_lookup_and_reveal(signed_in: Callable[[str], As], db: Session) -> None:
    person = make_person(db)
    number = id_number()
    clerk = signed_in("township_clerk")
    before = _events(db)
    found = clerk.post("/api/v1/privacy/people/lookup", {"id_number": number})
    assert found.status_code == 200, found.text
    assert number.encode() not in found.content and b"13912340001" not in found.content
    assert found.json()["id_number"] == "330523********" + number[-4:]
    assert found.json()["name"] == "王**" and found.json()["revealable"]
    page = clerk.form("/privacy/people", {"id_number": number})
    assert page.status_code == 200 and number not in page.text and "330523********" in page.text
    assert "13912340001" not in page.text
    assert _events(db) == before  # a masked lookup is not a reveal
    revealed = clerk.post(
        f"/api/v1/privacy/people/{person.id}/reveal",
        {"fields": ["id_number", "phone"], "purpose": "verify_identity"},
    )
    assert revealed.status_code == 200
    assert revealed.json()["values"] == {"id_number": number, "phone": "13912340001"}
    assert _events(db) == before + 1
    # Outside the household region: not found; without the permission: refused.
    make_person(db, number=id_number(seq="131"), region="330523001001")
    missing = clerk.post("/api/v1/privacy/people/lookup", {"id_number": id_number(seq="131")})
    assert missing.status_code == 404
    for who in ("leader", "department_handler", "citizen"):
        assert (
            signed_in(who).post("/api/v1/privacy/people/lookup", {"id_number": number}).status_code
            == 403
        ), who
    assert signed_in("citizen").get("/privacy/people").status_code == 403


def test_pipl_requests_end_to_end(signed_in: Callable[[str], As], db: Session) -> None:
    case = make_case(db)
    citizen = signed_in("citizen")
    form = citizen.form("/my/privacy-requests", {"kind": "copy", "text": "请给我数据副本"})
    assert form.status_code == 303
    mine = citizen.get("/api/v1/privacy/my/requests").json()
    request_id = mine[0]["id"]
    assert mine[0]["status"] == "submitted" and mine[0]["export_url"] is None
    assert citizen.get(f"/my/privacy-requests/{request_id}/export").status_code == 404

    # Only the security administrator (the personal-information protection officer) handles.
    assert signed_in("dispatcher").get("/privacy/requests").status_code == 403
    security = signed_in("security_admin")
    listing = security.get("/privacy/requests")
    assert listing.status_code == 200 and f"/privacy/requests/{request_id}" in listing.text
    assert security.form(f"/privacy/requests/{request_id}/accept", {}).status_code == 303
    refused = security.form(f"/privacy/requests/{request_id}/refuse", {"text": ""})
    assert refused.status_code == 422
    done = security.post(
        f"/api/v1/privacy/requests/{request_id}/fulfil", {"text": "已生成数据副本，请下载"}
    )
    assert done.status_code == 200 and done.json()["status"] == "fulfilled"

    page = citizen.get("/my/privacy-requests")
    assert f"/my/privacy-requests/{request_id}/export" in page.text
    export = citizen.get(f"/my/privacy-requests/{request_id}/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    data = json.loads(export.content)
    numbers = [c["number"] for c in data["cases"]]
    assert case.number in numbers
    own = next(c for c in data["cases"] if c["number"] == case.number)
    assert own["contact"]["phone"] == PHONE  # the citizen's own copy is in the clear
    assert data["requests"][0]["response"] == "已生成数据副本，请下载"
    # Nobody else downloads it.
    assert (
        signed_in("citizen_two").get(f"/my/privacy-requests/{request_id}/export").status_code == 404
    )


def test_a_refusal_states_its_reasons_to_the_citizen(
    signed_in: Callable[[str], As], db: Session
) -> None:
    citizen = signed_in("citizen")
    created = citizen.post(
        "/api/v1/privacy/my/requests", {"kind": "delete", "text": "删除我的电话"}
    )
    assert created.status_code == 201
    request_id = created.json()["id"]
    security = signed_in("security_admin")
    assert security.post(f"/api/v1/privacy/requests/{request_id}/refuse", {}).status_code == 422
    reasons = "案件在办，联系电话依法保存至结案后三年"
    assert (
        security.post(
            f"/api/v1/privacy/requests/{request_id}/refuse", {"text": reasons}
        ).status_code
        == 200
    )
    assert reasons in citizen.get("/my/privacy-requests").text
    bad = citizen.post("/api/v1/privacy/my/requests", {"kind": "forget", "text": "x"})
    assert bad.status_code == 422


def test_home_pages_lead_to_the_privacy_pages(signed_in: Callable[[str], As]) -> None:
    assert 'href="/privacy/people"' in signed_in("dispatcher").get("/staff").text
    assert 'href="/privacy/people"' in signed_in("township_clerk").get("/staff").text
    leader = signed_in("leader").get("/staff").text
    assert 'href="/privacy/people"' not in leader and 'href="/privacy/requests"' not in leader
    assert 'href="/privacy/requests"' in signed_in("security_admin").get("/staff").text
    assert 'href="/my/data-use"' in signed_in("citizen").get("/citizen").text


def test_a_citizen_links_their_identity_on_the_page(
    signed_in: Callable[[str], As], db: Session
) -> None:
    make_person(db)
    citizen = signed_in("citizen")
    wrong = citizen.form("/my/identity", {"id_number": id_number(), "name": "王秀"})
    assert wrong.status_code == 422 and "不符" in wrong.text
    assert id_number() not in wrong.text
    linked = citizen.form("/my/identity", {"id_number": id_number(), "name": "王秀英"})
    assert linked.status_code == 303 and linked.headers["location"] == "/my/data-use?done=linked"
    page = citizen.get(linked.headers["location"]).text
    assert "已关联你的身份信息" in page and 'action="/my/identity"' not in page
