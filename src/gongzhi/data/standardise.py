"""Standardisation hooks: each takes a cell's text and returns the standard spelling.

They run before validation, so a full-width ID number or a 15-digit old-style one is judged
in its standard form; the importer counts the cells each hook changed. Checks (``*_valid``)
feed the accuracy dimension; ``id_birth_date`` and ``id_sex`` feed consistency.

Expensive conversions (traditional → simplified, pinyin, address → region) are cached per
distinct value: real files repeat names and villages far more often than not.

The record linkage (``gongzhi.linkage.standardise``) builds its columns on the same pieces
(``compact``, ``t2s``, ``char_pinyin``, ``phone``), so a name or a phone number is cleaned the
same way wherever it enters the data hub.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from stdnum.cn import uscc as _uscc

from gongzhi.people.idnumber import check_character, to_18

_WS = re.compile(r"\s+")
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·]+$")
_DOTS = str.maketrans({"•": "·", "・": "·", "∙": "·", "‧": "·", ".": "·"})
_PHONE_JUNK = re.compile(r"[\s\-()（）]")
_BEFORE_NUMBER = re.compile(r"[0-9].*$")


def text(value: str) -> str:
    """Full-width → half-width (NFKC) and runs of spaces squeezed to one."""
    if value.isascii():
        return _WS.sub(" ", value).strip()
    return _WS.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def compact(value: str) -> str:
    """Full-width → half-width (NFKC) and no whitespace at all."""
    return text(value).replace(" ", "")


# -- citizen ID numbers (GB 11643): the rule itself is gongzhi.people.idnumber's -------------


def id_number(value: str) -> str:
    """Half-width, no spaces, upper-case X; a 15-digit number becomes its 18-digit form
    (born 19YY, check character computed)."""
    value = compact(value).upper()
    if len(value) == 15 and value.isdigit():
        return to_18(value)
    return value


def id_birth_date(value: str) -> date | None:
    if len(value) != 18:
        return None
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_valid(value: str) -> bool:
    """18 characters, a real birth date, and the right check character (ISO 7064 MOD 11-2).

    Looser than ``people.idnumber.is_valid`` on purpose (no province or plausible-age test):
    the accuracy dimension counts numbers that cannot be right, and a number issued by a
    county code the check does not know is still someone's number."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if id_birth_date(value) is None:
        return False
    return check_character(value[:17]) == value[17]


def id_sex(value: str) -> str | None:
    """男 for an odd 17th digit, 女 for an even one."""
    if len(value) != 18 or not value[16].isdigit():
        return None
    return "男" if int(value[16]) % 2 else "女"


# -- unified social credit codes (GB 32100) -------------------------------------------------


def uscc(value: str) -> str:
    return compact(value).upper()


def uscc_valid(value: str) -> bool:
    return bool(_uscc.is_valid(value))


# -- names ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def t2s() -> Callable[[str], str]:
    """OpenCC's traditional → simplified conversion (one converter per process: loading its
    dictionaries takes a while)."""
    import opencc

    converter = opencc.OpenCC("t2s")
    return converter.convert


@lru_cache(maxsize=262_144)
def person_name(value: str) -> str:
    """NFKC, middle dots unified, no spaces between Chinese characters, traditional →
    simplified (OpenCC t2s)."""
    value = text(value)
    if value.isascii():
        return value
    value = value.translate(_DOTS)
    if " " in value and _CJK_ONLY.match(value.replace(" ", "")):
        value = value.replace(" ", "")
    return t2s()(value)


@lru_cache(maxsize=262_144)
def pinyin(value: str) -> str:
    """Toneless pinyin, syllables separated by spaces (for matching homophones).

    Character by character (each cached): names are short and made of a few thousand
    characters, and pypinyin's phrase lookup is slow and of little use for names. Characters
    below the CJK blocks (letters, digits, 〇) are kept as they are."""
    return " ".join((char_pinyin(c) or c) if c >= "\u3400" else c for c in value if not c.isspace())


@lru_cache(maxsize=65_536)
def char_pinyin(char: str) -> str:
    """The toneless pinyin of one Chinese character ("" for anything else)."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(char, errors="ignore")
    return syllables[0] if syllables else ""


# -- phones --------------------------------------------------------------------------------


def phone(value: str) -> str:
    """Half-width, without spaces, dashes, brackets and the +86 / 0086 country prefix."""
    value = _PHONE_JUNK.sub("", text(value))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


# -- places --------------------------------------------------------------------------------


def region_code(value: str) -> str:
    """A region code padded to 12 digits (330523 → 330523000000)."""
    value = compact(value)
    if value.isdigit() and len(value) in (2, 4, 6, 9):
        return value.ljust(12, "0")
    return value


def address(value: str) -> str:
    return text(value)


def address_region_key(value: str) -> str:
    """The part of an address that names regions: everything before the first digit
    (house numbers come after the village or community), so the resolver's answer can be
    cached for all the houses of a village."""
    return _BEFORE_NUMBER.sub("", value)


HOOKS: dict[str, Callable[[str], str]] = {
    "id_number": id_number,
    "uscc": uscc,
    "person_name": person_name,
    "phone": phone,
    "address": address,
    "region_code": region_code,
    "text": text,
}
