"""Masking personal data for display, by the conventions used in China.

Display only: stored values are sealed, never masked (a masked value cannot be corrected or
matched). Every function takes ``None`` or an empty string and returns ``""``, and never
returns more of the value than its convention allows, whatever shape the input has.

========== =========================== =======================
kind       example                     rule
========== =========================== =======================
ID number  330106********123X          first 6, last 4
phone      138****1999                 first 3, last 4
name       张** / 张*                   the first character
address    浙江省湖州市安吉县递铺街道     cut after the township (else the county)
bank card  6222 **** **** 0123         first 4, last 4
========== =========================== =======================
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")
_TOWNSHIP = re.compile(r"^(.+?(?:区|县|旗|市).*?\S+?(?:街道|镇|乡|苏木))")
_COUNTY = re.compile(r"^(.+?(?:省|自治区|市).*?\S+?(?:区|县|旗|市))")


def mask_phone(phone: str | None) -> str:
    """138****1999: the first three and last four digits, the rest hidden.

    Short or odd numbers keep at most their last two digits, so that nothing identifying
    reaches a log whatever was typed.
    """
    if not phone:
        return ""
    digits = "".join(_DIGITS.findall(phone))
    for prefix in ("0086", "86"):  # the country code, written +86 or 0086
        if len(digits) > 11 and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_id_number(id_number: str | None) -> str:
    """330106********123X: the first six (the issuing county) and the last four characters."""
    if not id_number:
        return ""
    value = re.sub(r"\s", "", id_number).upper()
    if len(value) >= 15:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    # Not an ID number's shape: show no more than a phone's odd-number rule would.
    return "*" * max(len(value) - 2, 0) + value[-2:] if len(value) >= 4 else "*" * len(value)


def mask_name(name: str | None) -> str:
    """张** for three characters, 张* for two: the first character and one * per other one."""
    if not name:
        return ""
    value = name.strip()
    if len(value) <= 1:
        return "*"
    return value[0] + "*" * (len(value) - 1)


def mask_address(address: str | None) -> str:
    """浙江省湖州市安吉县递铺街道胜利西路18号 → 浙江省湖州市安吉县递铺街道: cut after the township
    (街道/镇/乡/苏木), or after the county (区/县/旗/市) if no township is named; an address
    with neither keeps only its first four characters."""
    if not address:
        return ""
    value = address.strip()
    for pattern in (_TOWNSHIP, _COUNTY):
        match = pattern.match(value)
        if match:
            return match.group(1)
    return value[:4] + ("…" if len(value) > 4 else "")


def mask_bank_card(card: str | None) -> str:
    """6222 **** **** 0123: the first four and last four digits."""
    if not card:
        return ""
    digits = "".join(_DIGITS.findall(card))
    if len(digits) < 12:
        return "*" * max(len(digits) - 4, 0) + digits[-4:]
    middle = "*" * (len(digits) - 8)
    groups = [middle[i : i + 4] for i in range(0, len(middle), 4)]
    return " ".join([digits[:4], *groups, digits[-4:]])
