"""Masking and "who used my data" in a browser: the dispatcher sees a reporter's phone masked
on the case page, opens the purpose form in place (htmx), picks "calling the reporter back"
and sees the number; once the audit log is sequenced and signed, the citizen finds that view
on /my/data-use with a verified proof, in normal and elderly mode. axe-core finds nothing
serious or critical, evaluated without lifting the pages' Content-Security-Policy. The
server commits to the shared test database, so the phone number is fresh per run."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.engine import Engine

from gongzhi.audit import log
from gongzhi.audit.services import SystemActor
from gongzhi.cases import services
from gongzhi.cases.models import Channel
from gongzhi.config import Settings
from gongzhi.db import session_scope, utcnow
from gongzhi.security.models import Account
from tests.e2e.helpers import (
    assert_accessible_under_csp,
    committed_session,
    px,
    signed_in_pages,
    switch_elderly,
)

ENFORCEMENT = "330523-ZHZF"
ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"


@pytest.fixture
def as_who(browser: Browser, base_url: str) -> Iterator[Callable[[str], Page]]:
    """A signed-in page per persona, recording Content-Security-Policy violations."""
    with signed_in_pages(browser, base_url, csp_must_hold=True) as open_as:
        yield open_as


def _citizens_case(engine: Engine, phone: str) -> str:
    with session_scope(lambda: committed_session(engine)) as db:
        citizen = db.scalar(select(Account).where(Account.username == "citizen"))
        assert citizen is not None
        case = services.submit_case(
            db,
            channel=Channel.WEB,
            description="村口的路灯坏了好几天了",
            actor=SystemActor("e2e"),
            reporter_account_id=citizen.id,
            contact_name="王秀英",
            contact_phone=phone,
            address_text=ADDRESS,
            matter_code="XC-002",
        )
        if case.status == "triage":
            services.dispatch_case(db, case, to=ENFORCEMENT, actor=SystemActor("e2e"))
        return case.number


def _sequence_and_sign(engine: Engine, settings: Settings) -> None:
    with session_scope(lambda: committed_session(engine)) as db:
        while log.has_unsequenced(db):
            log.sequence(db, settings)
        log.sign_checkpoint(db, settings, utcnow())


def test_dispatcher_reveals_a_phone_and_the_citizen_sees_it_verified(
    as_who: Callable[[str], Page], engine: Engine, settings: Settings
) -> None:
    phone = f"139{random.randrange(10**8):08d}"
    masked = f"{phone[:3]}****{phone[-4:]}"
    number = _citizens_case(engine, phone)

    dispatcher = as_who("dispatcher")
    dispatcher.goto(f"/cases/{number}")
    contact = dispatcher.locator("#contact")
    assert masked in contact.inner_text() and phone not in dispatcher.content()
    assert_accessible_under_csp(dispatcher)
    dispatcher.locator("#reveal-contact").click()
    form = dispatcher.locator("#contact #reveal-form")
    form.wait_for()
    assert dispatcher.url.endswith(f"/cases/{number}")  # swapped in place, no navigation
    assert_accessible_under_csp(dispatcher)
    form.get_by_label("回访反映人").check()
    form.locator("#reveal-submit").click()
    dispatcher.locator("#contact .revealed-value").first.wait_for()
    assert phone in contact.inner_text()
    assert_accessible_under_csp(dispatcher)
    # The next view of the page is masked again.
    dispatcher.reload()
    assert phone not in dispatcher.content() and masked in contact.inner_text()

    citizen = as_who("citizen")
    citizen.goto("/my/data-use")
    entry = citizen.locator("li.data-use-entry", has_text=number).first
    assert "正在记录" in entry.inner_text()
    _sequence_and_sign(engine, settings)
    citizen.reload()
    entry = citizen.locator("li.data-use-entry", has_text=number).first
    text = entry.inner_text()
    assert "刘洋" in text and "回访反映人" in text and "反映人电话" in text
    assert entry.locator("dd.proof").get_attribute("data-status") == "verified"
    assert "已验证" in text
    assert_accessible_under_csp(citizen)
    switch_elderly(citizen, on=True)
    assert px(citizen, "body", "font-size") >= 18
    entry = citizen.locator("li.data-use-entry", has_text=number).first
    assert entry.locator("dd.proof").get_attribute("data-status") == "verified"
    assert_accessible_under_csp(citizen)
    # The JSON proof is a link the citizen can follow.
    href = entry.locator("a", has_text="下载 JSON 证明").get_attribute("href")
    assert href is not None
    proof = citizen.request.get(href)
    assert proof.ok and proof.json()["status"] == "verified"
    switch_elderly(citizen, on=False)
