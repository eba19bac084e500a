"""Identifier checks and the standardisation of department records."""

from __future__ import annotations

import random

from gongzhi.linkage.ids import (
    is_valid_id,
    normalise_id,
    normalise_uscc,
    uscc_check_char,
)
from gongzhi.linkage.standardise import (
    VillageDirectory,
    company_name_core,
    normalise_date,
    normalise_name,
    normalise_phone,
    normalise_sex,
    standardise_persons,
)
from gongzhi.linkage.synthetic import Village
from gongzhi.people.idnumber import check_character


def test_gb11643_check_character_and_15_digit_conversion() -> None:
    # The standard's own example number.
    assert is_valid_id("11010519491231002X")
    assert not is_valid_id("110105194912310021")
    assert normalise_id("11010519491231002x") == ("11010519491231002X", True)
    # Full-width digits and spaces, as clerks type them.
    assert normalise_id("１１０１０５ １９４９１２３１００２Ｘ") == ("11010519491231002X", True)
    # A 15-digit number converts, but has no check character to verify: not "valid", so a
    # typo in it is still treated as a possible typo.
    assert normalise_id("110105491231002") == ("11010519491231002X", False)
    assert normalise_id("") == (None, False)
    assert normalise_id("12345") == (None, False)


def test_every_single_digit_typo_and_neighbour_swap_fails_the_check() -> None:
    """ISO 7064 MOD 11-2 catches every one-digit slip and every swap of two different
    neighbouring digits: why two *valid* numbers that differ are two people."""
    rng = random.Random(1)
    for _ in range(500):
        first17 = "330523" + "".join(rng.choice("0123456789") for _ in range(11))
        number = first17 + check_character(first17)
        assert is_valid_id(number)
        for i in range(17):
            for digit in "0123456789":
                if digit != number[i]:
                    assert not is_valid_id(number[:i] + digit + number[i + 1 :])
            if i < 16 and number[i] != number[i + 1]:
                swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                assert not is_valid_id(swapped)


def test_gb32100_credit_code_check() -> None:
    first17 = "91330523MA2B3C4D5"
    code = first17 + uscc_check_char(first17)
    assert normalise_uscc(code) == (code, True)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert normalise_uscc(wrong) == (wrong, False)
    assert normalise_uscc("short") == (None, False)


def test_names_fold_traditional_characters_homophones_and_southern_initials() -> None:
    simplified = normalise_name("陈丽华")
    assert normalise_name("陳麗華") == simplified
    assert normalise_name("陈 丽华") == simplified
    # 王丽/王莉: different characters, the same pinyin.
    assert normalise_name("王丽")[2] == normalise_name("王莉")[2] == "wangli"
    # 陈/程 (chen/cheng): only the fuzzy pinyin folds them.
    assert normalise_name("陈静")[2] != normalise_name("程静")[2]
    assert normalise_name("陈静")[3] == normalise_name("程静")[3]
    assert normalise_name("张伟")[1] == "zhang"
    assert normalise_name("") == ("", "", "", "")


def test_dates_sex_phones_and_company_names() -> None:
    for text in ("19850312", "1985-03-12", "1985/3/12", "1985年3月12日", "１９８５－０３－１２"):
        assert normalise_date(text) == "1985-03-12", text
    assert normalise_date("19851312") is None
    assert normalise_date("") is None
    assert normalise_sex("1") == normalise_sex("男") == "M"
    assert normalise_sex("2") == normalise_sex("女") == "F"
    assert normalise_sex("未知") is None
    for text in (
        "13812345678",
        "+86 13812345678",
        "0086 138-1234-5678",
        "138 1234 5678",
        "１３８１２３４５６７８",
    ):
        assert normalise_phone(text) == "13812345678", text
    assert normalise_phone("12345") is None
    assert company_name_core("安吉县竹海白茶有限公司") == company_name_core(
        "竹海白茶有限责任公司（安吉）"
    )


def test_standardised_table_resolves_each_address_form_to_region_levels() -> None:
    villages = [Village("330523103202", "玉华村", "330523103000", "鄣吴镇")]
    table = standardise_persons(
        [
            {"record_id": "a", "source": "x", "name": "王丽", "region_code": "330523103202"},
            {"record_id": "b", "source": "x", "name": "王丽", "address": "安吉县鄣吴镇玉华村5号"},
            {"record_id": "c", "source": "x", "name": "王丽", "region_code": "330523103000"},
            {"record_id": "d", "source": "x", "name": "王丽", "address": "鄣吴镇某某路"},
            {"record_id": "e", "source": "x", "name": "王丽", "address": "不知道"},
        ],
        resolve_address=VillageDirectory(villages).resolve,
    )
    rows = table.to_pylist()
    assert [r["village_code"] for r in rows] == ["330523103202", "330523103202", None, None, None]
    assert [r["township_code"] for r in rows] == ["330523103"] * 4 + [None]
    assert rows[0]["county_code"] == "330523"
    assert rows[0]["id18"] is None and rows[0]["id_valid"] is None and rows[0]["true_id"] is None


def test_the_column_check_agrees_with_people_idnumber() -> None:
    import pyarrow as pa

    from gongzhi.linkage.standardise import check_characters_ok

    rng = random.Random(7)
    numbers: list[str | None] = []
    for _ in range(3000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        number = first17 + check_character(first17)
        if rng.random() < 0.5:  # a typo or a wrong check character
            i = rng.randrange(18)
            number = number[:i] + rng.choice("0123456789X") + number[i + 1 :]
        numbers.append(number)
    numbers += [None, "ABCDEFGHIJKLMNOPQR", "11010519491231002X"]
    column = pa.chunked_array([numbers[:1000], numbers[1000:]], pa.string())
    expected = [n is not None and is_valid_id(n) for n in numbers]
    assert check_characters_ok(column).to_pylist() == expected
    assert 0.3 < sum(expected) / len(expected) < 0.8
