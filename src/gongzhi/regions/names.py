"""Short names and aliases of administrative divisions: the forms people actually write.

The official names carry suffixes nobody types (浙江省 → 浙江, 广西壮族自治区 → 广西,
横溪坞村委会 → 横溪坞村 / 横溪坞, 递铺街道 → 递铺). The importer stores ``short_name`` and
``aliases`` for every row and the address resolver indexes the name, the short name and the
aliases, so both functions must be deterministic and cheap (≈ 665k rows in a few seconds):
suffix checks only, no database, no I/O.

Rules:
- a short name keeps at least two characters (城区 stays 城区, 东乡镇 becomes 东乡);
- ethnic designations are dropped from autonomous areas (长阳土家族自治县 → 长阳,
  伊犁哈萨克自治州 → 伊犁);
- non-standard units (开发区, 农场, 生活区 …) keep their full name as short name, since
  any cut would leave a common word;
- placeholder rows of the statistical table (市辖区, 省直辖县级行政区划) are nobody's
  address: their short name is the name and they have no aliases.
"""

from __future__ import annotations

import re

# The 55 officially recognised minority nationalities, longest first so that 土家 wins over 土.
_ETHNIC = sorted(
    [
        "壮",
        "回",
        "满",
        "维吾尔",
        "苗",
        "彝",
        "土家",
        "藏",
        "蒙古",
        "侗",
        "布依",
        "瑶",
        "白",
        "朝鲜",
        "哈尼",
        "黎",
        "哈萨克",
        "傣",
        "畲",
        "傈僳",
        "东乡",
        "仡佬",
        "拉祜",
        "佤",
        "水",
        "纳西",
        "羌",
        "土",
        "仫佬",
        "锡伯",
        "柯尔克孜",
        "景颇",
        "达斡尔",
        "撒拉",
        "布朗",
        "毛南",
        "塔吉克",
        "普米",
        "阿昌",
        "怒",
        "鄂温克",
        "京",
        "基诺",
        "德昂",
        "保安",
        "俄罗斯",
        "裕固",
        "乌孜别克",
        "门巴",
        "鄂伦春",
        "独龙",
        "赫哲",
        "高山",
        "珞巴",
        "塔塔尔",
    ],
    key=len,
    reverse=True,
)
# "<nationality>族" anywhere at the end; multi-character nationalities also without 族
# (博尔塔拉蒙古自治州, 克孜勒苏柯尔克孜自治州).
_ETHNIC_TAIL = re.compile(
    "(?:"
    + "|".join(f"{e}族" for e in _ETHNIC)
    + "|"
    + "|".join(e for e in _ETHNIC if len(e) > 1)
    + ")$"
)
_PARENS = re.compile(r"[（(][^（()）]*[)）]")

PLACEHOLDER_NAMES = frozenset(
    {
        "市辖区",
        "县",
        "省直辖县级行政区划",
        "自治区直辖县级行政区划",
        "直辖村级区划",
    }
)

# Suffixes per level, longest first. Each entry: (suffix, forms people write with the stem).
_SUFFIXES: dict[int, tuple[tuple[str, tuple[str, ...]], ...]] = {
    1: (("自治区", ("自治区",)), ("省", ("省",)), ("市", ("市",))),
    2: (("自治州", ("州",)), ("地区", ("地区",)), ("盟", ("盟",)), ("市", ("市",))),
    3: (
        ("自治县", ("县",)),
        ("自治旗", ("旗",)),
        ("新区", ("新区", "区")),
        ("特区", ("特区",)),
        ("林区", ("林区",)),
        ("区", ("区",)),
        ("县", ("县",)),
        ("市", ("市",)),
        ("旗", ("旗",)),
    ),
    4: (
        ("街道办事处", ("街道",)),
        ("地区办事处", ("地区",)),
        ("街道", ("街道",)),
        ("民族乡", ("乡",)),
        ("镇", ("镇",)),
        ("乡", ("乡",)),
        ("苏木", ("苏木",)),
        ("地区", ("地区",)),
        ("办事处", ("办事处",)),
    ),
    5: (
        ("社区居民委员会", ("社区", "社区居委会")),
        ("社区居委会", ("社区",)),
        ("村村民委员会", ("村", "村委会")),
        ("村民委员会", ("村", "村委会")),
        ("村村委会", ("村", "村委会")),
        ("村委会", ("村",)),
        ("居民委员会", ("社区", "居委会")),
        ("居委会", ("社区",)),
        ("嘎查村委会", ("嘎查",)),
        ("嘎查", ("嘎查",)),
        ("社区", ("社区",)),
        ("村", ("村",)),
    ),
    6: (("网格", ("网格",)),),
}

# Level 3 names ending in these are zones, not counties: 区 is part of the word.
_ZONE_TAILS = (
    "开发区",
    "管理区",
    "园区",
    "示范区",
    "试验区",
    "实验区",
    "合作区",
    "工业区",
    "度假区",
)

# Abbreviations in everyday use that no suffix rule yields.
_EXTRA_ALIASES: dict[tuple[int, str], tuple[str, ...]] = {
    (1, "内蒙古"): ("内蒙",),
}


def _strip_ethnic(stem: str) -> str:
    """Drop trailing nationality designations while at least two characters remain."""
    while True:
        m = _ETHNIC_TAIL.search(stem)
        if m is None or m.start() < 2:
            return stem
        stem = stem[: m.start()]


def _analyse(name: str, level: int) -> tuple[str, list[str]]:
    """(short name, every written form including the name) for one division."""
    forms: list[str] = [name]
    if name in PLACEHOLDER_NAMES or level not in _SUFFIXES:
        return name, forms
    base = _PARENS.sub("", name).strip() or name
    if base != name:
        forms.append(base)
    if level == 3 and base.endswith(_ZONE_TAILS):
        return base, forms
    for suffix, written in _SUFFIXES[level]:
        if not base.endswith(suffix):
            continue
        stem = base[: -len(suffix)]
        if suffix.startswith("自治") or suffix == "民族乡" or (level == 4 and stem.endswith("族")):
            # 长阳土家族自治县, 景宁畲族自治县, 鹤溪畲族乡: the nationality is not the place.
            stripped = _strip_ethnic(stem)
            if stripped == stem and stem.endswith("族") and len(stem) >= 3:
                # 东乡族自治县, 鄂温克族自治旗: the place is named after the nationality.
                stripped = stem[:-1]
            stem = stripped
        if len(stem) < 2:
            # 城区, 郊区, 新村: a one-character stem would match everywhere; a shorter
            # suffix may still apply (新村村委会 → 新村).
            continue
        short = stem
        forms.extend(stem + w for w in written)
        if level == 5 and suffix in ("村村委会", "村村民委员会"):
            forms.append(stem + "村村")
        forms.append(short)
        forms.extend(_EXTRA_ALIASES.get((level, short), ()))
        return short, forms
    return base, forms


def written_forms(name: str, level: int) -> tuple[str, list[str]]:
    """``(short_name(name, level), aliases(name, level))`` with one analysis."""
    short, forms = _analyse(name, level)
    seen = {name, short}
    out: list[str] = []
    for form in forms:
        if form not in seen:
            seen.add(form)
            out.append(form)
    return short, out


def short_name(name: str, level: int) -> str:
    """The name without its administrative suffix: 浙江省 → 浙江, 孝丰镇 → 孝丰."""
    return _analyse(name, level)[0]


def aliases(name: str, level: int) -> list[str]:
    """Other written forms of a division, excluding the name and the short name.

    Deterministic order, no duplicates: 横溪坞村委会 (level 5) → ['横溪坞村'],
    广西壮族自治区 (level 1) → ['广西壮族自治区'…] minus itself → ['广西自治区'].
    """
    return written_forms(name, level)[1]
