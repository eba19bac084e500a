"""Citizen ID numbers by GB 11643-1999: check character, 15 → 18 digits, birth date."""

from __future__ import annotations

from datetime import date

import pytest

from gongzhi.people.idnumber import (
    IdNumber,
    InvalidIdNumber,
    check_character,
    is_valid,
    parse,
    to_18,
)
from gongzhi.people.models import Sex


def test_the_standards_own_examples() -> None:
    # GB 11643-1999's examples: 北京市朝阳区, born 1949-12-31, a woman, check character X;
    # 广东省汕头市潮阳县, born 1880-01-01, a man.
    woman = parse("11010519491231002X")
    assert woman == IdNumber("11010519491231002X", "110105", date(1949, 12, 31), Sex.FEMALE)
    assert woman.region_code == "110105000000"
    man = parse("440524188001010014")
    assert (man.birth_date, man.sex) == (date(1880, 1, 1), Sex.MALE)


def test_check_character_is_iso_7064_mod_11_2() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"
    # every value 0..10 maps to one of "10X98765432"
    assert {check_character(f"3305231990010{n:03d}1") for n in range(200)} <= set("10X98765432")


def test_a_lower_case_x_and_spaces_are_normalised() -> None:
    assert parse(" 110105 19491231 002x ").value == "11010519491231002X"


def test_every_single_digit_typo_is_caught() -> None:
    good = "11010519491231002X"
    for i in range(17):
        for d in "0123456789":
            if d == good[i]:
                continue
            typo = good[:i] + d + good[i + 1 :]
            assert not is_valid(typo), typo


def test_fifteen_digits_convert_to_eighteen() -> None:
    assert to_18("110105491231002") == "11010519491231002X"
    parsed = parse("110105491231002")
    assert parsed.value == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    with pytest.raises(InvalidIdNumber):
        to_18("11010549123100X")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "18 characters"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "18 characters"),
        ("99010519491231002X", None),  # 99: foreigners' cards, but the check fails
        ("00010519491231002X", "province"),
        ("110105194902300021", "not a date"),  # 30 February
        ("110105185001010015", "implausibly early"),
        ("110105194912310021", "check character"),
    ],
)
def test_invalid_numbers_say_why(text: str, reason: str | None) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse(text)
    if reason:
        assert reason in str(caught.value)
    assert text[6:] not in str(caught.value) or not text  # the number is not repeated


def test_a_birth_date_in_the_future_is_refused() -> None:
    first17 = "33052320300101001"
    with pytest.raises(InvalidIdNumber, match="future"):
        parse(first17 + check_character(first17), today=date(2026, 11, 29))


def test_a_county_code_newer_than_the_birth_is_accepted() -> None:
    # 330110 (杭州市余杭区) exists since 2001; someone born in 1960 who registered there
    # later carries it, and 330523 (安吉县) numbers from any year are accepted alike.
    for first17 in ("33011019600101001", "33052319570615002", "33050220200229003"):
        number = first17 + check_character(first17)
        assert parse(number).value == number
