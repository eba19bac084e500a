"""Citizen ID numbers (公民身份号码) by GB 11643-1999.

An 18-character number is: the issuing county's six-digit code, the birth date YYYYMMDD, a
three-digit sequence (odd for men, even for women) and a check character computed by ISO 7064
MOD 11-2 over the first 17 digits ("X" stands for 10). Numbers issued before 1999 have 15
digits: a two-digit year (always 19YY) and no check character; they convert to 18 by inserting
"19" and computing the check character.

What is *not* checked, on purpose: that the county code existed when the person was born.
Codes are reissued and counties merged and split; a person keeps the number issued by a county
that was created, renamed or abolished later, and rejecting such numbers would refuse real
people. Only the province part (the first two digits) must be one that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from gongzhi.people.models import Sex

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
CHECK_CHARACTERS = "10X98765432"  # indexed by (weighted sum mod 11)
EARLIEST_BIRTH = date(1860, 1, 1)

# Provinces (11 北京 … 65 新疆), 71 台湾, 81 香港, 82 澳门 and 83 (residence permits of Taiwan
# residents); 9x opens the permanent-residence ID cards of foreigners issued since 2023.
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
    | set(range(91, 100))
)

_SHAPE_18 = re.compile(r"\d{17}[\dX]")
_SHAPE_15 = re.compile(r"\d{15}")


class InvalidIdNumber(ValueError):
    """The text is not a valid citizen ID number; the message says why (without the number)."""


@dataclass(frozen=True)
class IdNumber:
    value: str  # the 18-character form, upper-case X
    issuing_county: str  # first six digits
    birth_date: date
    sex: Sex

    @property
    def region_code(self) -> str:
        """The issuing county as a 12-digit statistical code."""
        return self.issuing_county + "000000"


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def to_18(number15: str) -> str:
    """The 18-character form of a 15-digit number (born 19YY)."""
    if not _SHAPE_15.fullmatch(number15):
        raise InvalidIdNumber("a 15-digit ID number has digits only")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_character(first17)


def parse(text: str, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an ID number (18 or 15 characters, spaces ignored)."""
    value = re.sub(r"\s", "", text or "").upper()
    if len(value) == 15:
        value = to_18(value)
    if not _SHAPE_18.fullmatch(value):
        raise InvalidIdNumber("an ID number has 18 characters: 17 digits and a digit or X")
    if int(value[:2]) not in PROVINCES:
        raise InvalidIdNumber("the first two digits are not a province code")
    if value[2:6] == "0000" and value[:2] not in ("71", "81", "82", "83"):
        raise InvalidIdNumber("the region code names no county")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("the birth date is not a date") from None
    if born > (today or date.today()):
        raise InvalidIdNumber("the birth date is in the future")
    if born < EARLIEST_BIRTH:
        raise InvalidIdNumber("the birth date is implausibly early")
    if value[17] != check_character(value[:17]):
        raise InvalidIdNumber("the check character does not match (a mistyped digit?)")
    sex = Sex.MALE if int(value[16]) % 2 == 1 else Sex.FEMALE
    return IdNumber(value=value, issuing_county=value[:6], birth_date=born, sex=sex)


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidIdNumber:
        return False
    return True
