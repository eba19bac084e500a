"""Display masking by Chinese conventions (display only; storage is sealed)."""

from __future__ import annotations

from gongzhi.crypto.masking import (
    mask_address,
    mask_bank_card,
    mask_id_number,
    mask_name,
    mask_phone,
)
from gongzhi.notify import sms


def test_id_number_keeps_first_six_and_last_four() -> None:
    assert mask_id_number("33010619900101123X") == "330106********123X"
    assert mask_id_number("33010619900101123x") == "330106********123X"
    assert mask_id_number("330106900101123") == "330106*****1123"
    assert mask_id_number("12345") == "***45"
    assert mask_id_number(None) == mask_id_number("") == ""


def test_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13812341999") == "138****1999"
    assert mask_phone("+86 138-1234-1999") == "138****1999"
    assert mask_phone("0571-8888") == "******88"
    assert mask_phone("12") == "**"
    assert mask_phone(None) == ""
    assert sms.mask_phone is mask_phone  # one implementation


def test_name_keeps_the_first_character() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("张") == "*"
    assert mask_name(" 李四 ") == "李*"
    assert mask_name("") == ""


def test_address_is_cut_to_the_township_or_county() -> None:
    assert mask_address("浙江省湖州市安吉县递铺街道胜利西路18号3幢201室") == (
        "浙江省湖州市安吉县递铺街道"
    )
    assert mask_address("浙江省湖州市安吉县天荒坪镇余村5号") == "浙江省湖州市安吉县天荒坪镇"
    assert mask_address("湖州市吴兴区青铜路99号") == "湖州市吴兴区"
    assert mask_address("胜利西路18号") == "胜利西路…"
    assert mask_address(None) == ""


def test_bank_card_keeps_first_four_and_last_four() -> None:
    assert mask_bank_card("6222021234567890123") == "6222 **** **** *** 0123"
    assert mask_bank_card("6222 0212 3456 7890") == "6222 **** **** 7890"
    assert mask_bank_card("123456") == "**3456"
