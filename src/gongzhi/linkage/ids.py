"""Identifier checks the linkage needs: citizen ID numbers (GB 11643) and unified social credit
codes (GB 32100).

The citizen ID check character and the 15 → 18 conversion are ``gongzhi.people.idnumber``'s;
this module adds what the linkage needs around them: full-width and spaced input, and a
validity test cheap enough for a million records.
"""

from __future__ import annotations

import re
import unicodedata

from gongzhi.people.idnumber import check_character, to_18

_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")


def is_valid_id(id18: str) -> bool:
    """Shape and check character only. ``people.idnumber.is_valid`` also checks the province
    and the birth date, at ten times the cost: too slow for a million records, and a number
    whose check character is right is what the linkage must not treat as a typo."""
    return bool(_ID18.match(id18)) and check_character(id18[:17]) == id18[17]


def clean_identifier(raw: str | None) -> str:
    """Full-width digits and letters to ASCII, spaces and dashes dropped, upper case."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))
    return re.sub(r"[\s\-]", "", text).upper()


def id_text(raw: str | None) -> tuple[str | None, bool]:
    """(the 18-character form or None, whether it was converted from 15 digits), unchecked."""
    text = clean_identifier(raw)
    if _ID15.match(text):
        return to_18(text), True
    return (text, False) if len(text) == 18 else (None, False)


def normalise_id(raw: str | None) -> tuple[str | None, bool]:
    """(18-character ID or None, whether its check character was verified).

    A 15-digit first-generation number is converted to 18 characters but counts as not
    verified: it has no check character, so a typo in it cannot be told from another person's
    number (the linkage then treats it like an invalid one, as a possible typo). Anything else
    that is not 18 characters long is dropped; 18 characters that fail the check are kept as
    an invalid ID that may still be a typo of a valid one.
    """
    id18, from15 = id_text(raw)
    if id18 is None:
        return None, False
    return id18, not from15 and is_valid_id(id18)


# -- GB 32100 unified social credit code ------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=False))
    return USCC_CHARS[(31 - total % 31) % 31]


def normalise_uscc(raw: str | None) -> tuple[str | None, bool]:
    """(18-character credit code or None, whether its GB 32100 check character is right)."""
    text = clean_identifier(raw)
    if len(text) != 18:
        return None, False
    return text, bool(_USCC.match(text)) and uscc_check_char(text[:17]) == text[17]
