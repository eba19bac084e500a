"""Translations: complete English catalogue, per-request locale under concurrency, the
in-memory fallback for a missing .mo, locale negotiation and date formatting."""

from __future__ import annotations

import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from gongzhi.app import create_app
from gongzhi.config import PROJECT_ROOT, Settings
from gongzhi.web import i18n
from gongzhi.web.templating import env

PO_PATH = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted_msgids() -> set[str]:
    with (PROJECT_ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(PROJECT_ROOT / "src"), method_map, options_map
    ):
        if isinstance(message, tuple):
            found.update(m for m in message if m)
        elif message:
            found.add(message)
    return found


def test_every_message_has_an_english_translation() -> None:
    msgids = _extracted_msgids()
    assert "跳到正文" in msgids and "长辈模式" in msgids  # extraction itself works
    with PO_PATH.open("rb") as fp:
        catalog = read_po(fp, locale="en")
    missing, broken = [], []
    for msgid in sorted(msgids):
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(msgid)
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(message.string)):
            broken.append(msgid)
    assert not missing, f"untranslated (run pybabel extract/update, see babel.cfg): {missing}"
    assert not broken, f"placeholders differ between Chinese and English: {broken}"


@pytest.mark.parametrize(
    ("cookie", "principal", "accept", "expected"),
    [
        (None, None, None, "zh_CN"),
        ("en", None, "zh-CN", "en"),
        ("zh_CN", "en", "en", "zh_CN"),
        ("fr", "en", "zh", "en"),  # an unknown cookie value is ignored
        (None, None, "fr-FR,en-US;q=0.8,zh;q=0.5", "en"),
        (None, None, "en;q=0,zh-Hans;q=0.4", "zh_CN"),
        (None, None, "de, fr", "zh_CN"),
        (None, None, "EN-gb", "en"),
        (None, None, "zh-TW", "zh_CN"),  # no traditional catalogue: fall back to the default
    ],
)
def test_negotiate(
    cookie: str | None, principal: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(cookie, principal, accept, "zh_CN") == expected


def test_default_locale_setting_applies() -> None:
    assert i18n.negotiate(None, None, "de", "en") == "en"


def test_missing_mo_is_compiled_from_po_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(PO_PATH, target / "messages.po")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload_catalogues()
    try:
        assert not (target / "messages.mo").exists()
        assert i18n.Translator("en")("长辈模式") == "Elderly mode"
        assert i18n.Translator("en")("你好，%(name)s", name="Li") == "Hello, Li"
        assert i18n.Translator("zh_CN")("长辈模式") == "长辈模式"
    finally:
        monkeypatch.undo()
        i18n.reload_catalogues()


def test_pick_bilingual_message() -> None:
    assert i18n.pick("没有权限 / Not allowed", "en") == "Not allowed"
    assert i18n.pick("没有权限 / Not allowed", "zh_CN") == "没有权限"
    assert i18n.pick("只有中文", "en") == "只有中文"


def test_datetime_filter_shows_shanghai_time() -> None:
    moment = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai
    zh = env.from_string("{{ t|datetime }}").render(t=moment, locale="zh_CN")
    en = env.from_string("{{ t|datetime('short') }}").render(t=moment, locale="en")
    assert "2026年1月1日" in zh and "08:30" in zh
    assert "8:30" in en and "AM" in en
    late = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)  # already 2 January in Shanghai
    assert "1月2日" in env.from_string("{{ t|date }}").render(t=late, locale="zh_CN")
    assert "January 2, 2026" in env.from_string("{{ t|date }}").render(t=late, locale="en")
    assert "2026" in env.from_string("{{ d|date }}").render(d=date(2026, 5, 1), locale="en")
    with pytest.raises(ValueError, match="naive"):
        env.from_string("{{ t|datetime }}").render(t=datetime(2026, 1, 1), locale="en")


def test_translations_are_per_request_under_concurrency(settings: Settings) -> None:
    """The Jinja environment is shared: a request in one language must never see another's
    translations, however the requests interleave."""
    app = create_app(settings)  # its own engine: requests run in real threads
    start = threading.Barrier(8)

    def fetch(i: int) -> tuple[str, str]:
        lang = "en" if i % 2 else "zh_CN"
        with TestClient(app) as client:
            client.cookies.set("lang", lang)
            if i < 8:
                start.wait(timeout=10)
            return lang, client.get("/").text

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(fetch, range(64)))
    finally:
        app.state.engine.dispose()
    for lang, html in results:
        if lang == "en":
            assert '<html lang="en">' in html and "Report a problem" in html
            assert "反映问题" not in html
        else:
            assert '<html lang="zh-CN">' in html and "反映问题" in html
            assert "Report a problem" not in html
