"""Per-request translations (zh-CN is the source language, English the second).

The Jinja environment is shared by every thread, so translations are never installed into it
per request: the context processor ``i18n_context`` hands the request's ``gettext`` /
``ngettext`` / ``_`` to the template context, where ``{% trans %}`` and ``_()`` look them up.
Macros imported from another template see them only when imported ``with context``.

Locale order: the ``lang`` cookie, then the signed-in principal's locale, then
Accept-Language, then ``Settings.default_locale``.

Catalogues live in ``web/locale/<lang>/LC_MESSAGES/messages.po``; ``make catalogs`` compiles
them. When the ``.mo`` is missing or older than the ``.po`` (a fresh checkout, an edited
catalogue) the ``.po`` is compiled in memory, so a page is never shown untranslated or broken.
"""

from __future__ import annotations

import gettext as _gettext_mod
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from jinja2 import pass_context
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from jinja2.runtime import Context

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE_LOCALE = "zh_CN"
SUPPORTED = ("zh_CN", "en")
LANG_COOKIE = "lang"

# The value of <html lang> for each supported locale.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later, where the request is known."""
    return message


def normalise(value: str | None) -> str | None:
    """Map a cookie / Accept-Language / account value onto a supported locale, or None."""
    if not value:
        return None
    tag = value.strip().replace("-", "_").lower()
    if tag in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "zh_sg"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, best first (q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag.strip()))
    return [tag for _q, _i, tag in sorted(weighted)]


def negotiate(
    cookie: str | None,
    principal_locale: str | None,
    accept_language: str | None,
    default: str,
) -> str:
    for candidate in (cookie, principal_locale):
        found = normalise(candidate)
        if found:
            return found
    for tag in parse_accept_language(accept_language):
        found = normalise(tag)
        if found:
            return found
    return normalise(default) or SOURCE_LOCALE


def request_locale(request: Request) -> str:
    """The request's locale, worked out once and kept on ``request.state``."""
    cached = getattr(request.state, "locale", None)
    if cached:
        return str(cached)
    principal = getattr(request.state, "principal", None)
    settings = getattr(request.app.state, "settings", None)
    locale = negotiate(
        request.cookies.get(LANG_COOKIE),
        getattr(principal, "locale", None),
        request.headers.get("accept-language"),
        getattr(settings, "default_locale", SOURCE_LOCALE),
    )
    # Cache only once the route guard has run: the principal may change the answer.
    if hasattr(request.state, "principal"):
        request.state.locale = locale
    return locale


_lock = threading.Lock()
_catalogues: dict[str, _gettext_mod.NullTranslations] = {}


def _load(locale: str) -> _gettext_mod.NullTranslations:
    if locale == SOURCE_LOCALE:
        return _gettext_mod.NullTranslations()
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if po.is_file():
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=locale, domain=DOMAIN)
        buf = BytesIO()
        write_mo(buf, catalog, use_fuzzy=True)  # the same choice as `make catalogs`
        buf.seek(0)
        return Translations(buf, domain=DOMAIN)
    return _gettext_mod.NullTranslations()


def translations(locale: str) -> _gettext_mod.NullTranslations:
    found = _catalogues.get(locale)
    if found is None:
        with _lock:
            found = _catalogues.get(locale)
            if found is None:
                found = _catalogues[locale] = _load(locale)
    return found


def reload_catalogues() -> None:
    """Forget loaded catalogues (tests and operators who edit a ``.po`` at run time)."""
    with _lock:
        _catalogues.clear()
        _template_functions.clear()


@dataclass(frozen=True)
class Translator:
    """Plain-Python gettext for one locale (route code, flash messages, labels)."""

    locale: str

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.locale).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        return translations(self.locale).ngettext(singular, plural, n) % variables

    __call__ = gettext


def translator(request: Request) -> Translator:
    return Translator(request_locale(request))


def pick(message: str, locale: str) -> str:
    """Pick one half of a bilingual ``"中文 / English"`` message for the reader's locale."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return en.strip() if locale == "en" else zh.strip()


_template_functions: dict[str, dict[str, Callable[..., Any]]] = {}


def _functions_for(locale: str) -> dict[str, Callable[..., Any]]:
    found = _template_functions.get(locale)
    if found is None:
        trans = translations(locale)
        gettext = _make_new_gettext(trans.gettext)
        ngettext = _make_new_ngettext(trans.ngettext)
        found = {"gettext": gettext, "_": gettext, "ngettext": ngettext}
        _template_functions[locale] = found
    return found


def i18n_context(request: Request) -> dict[str, Any]:
    """Context processor: the request's translation functions and locale."""
    locale = request_locale(request)
    return {
        **_functions_for(locale),
        "locale": locale,
        "lang": HTML_LANG.get(locale, "zh-CN"),
        "other_locales": [loc for loc in SUPPORTED if loc != locale],
    }


def _zone(context: Context) -> ZoneInfo:
    request = context.get("request")
    settings = getattr(getattr(getattr(request, "app", None), "state", None), "settings", None)
    return ZoneInfo(getattr(settings, "timezone", "Asia/Shanghai"))


@pass_context
def datetime_filter(context: Context, value: datetime | None, fmt: str = "medium") -> str:
    """``{{ when|datetime }}``: an aware UTC moment shown in the deployment's zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to |datetime; timestamps are aware UTC")
    locale = Locale.parse(context.get("locale") or SOURCE_LOCALE)
    return format_datetime(value, fmt, tzinfo=_zone(context), locale=locale)


@pass_context
def date_filter(context: Context, value: date | datetime | None, fmt: str = "long") -> str:
    """``{{ day|date }}``; a datetime is first moved into the deployment's zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to |date; timestamps are aware UTC")
        value = value.astimezone(_zone(context)).date()
    locale = Locale.parse(context.get("locale") or SOURCE_LOCALE)
    return format_date(value, fmt, locale=locale)


@pass_context
def bilingual_filter(context: Context, message: str) -> str:
    return pick(str(message), context.get("locale") or SOURCE_LOCALE)
