"""Synthetic department datasets of a county with a known truth, to measure linkage quality.

A seeded population of persons (in households, in villages of 安吉县) and of legal entities is
generated first; four department datasets are then written from it the way departments really
hold such data, each with its own conventions and errors:

- ``household_registry`` (公安户籍): village region codes, birth dates as ``YYYYMMDD``, sex as
  the GB/T 2261.1 code (1/2), a status column (正常/死亡); a few duplicate registrations.
- ``low_income`` (民政低保): free-text addresses (sometimes stale: the family moved),
  ``YYYY-MM-DD`` or ``YYYY年M月D日`` dates, 15-digit first-generation ID numbers of older people,
  deceased people still on the list.
- ``poverty_monitoring`` (乡村振兴防返贫): township codes only, ``YYYY/M/D`` dates; families
  eligible here but missing from the low-income list (and the reverse).
- ``legal_entities`` (市场监管): companies by credit code (GB 32100), name variants, and a few
  companies registered twice with different data.

Errors planted in the person records: homophone characters in names (王丽/王莉, 陈/程), names in
traditional characters, random typos, spaces inside names, full-width digits, swapped day and
month, ID numbers with a typo (the check character then fails, as a clerk's slip would make it
fail) or a transposition, missing fields, phone numbers in several spellings. Twins and siblings
with consecutive ID numbers (same birth date, same household, similar names) are where a linkage
that treats ID numbers as fuzzy strings merges two people into one.

Everything is deterministic for a given seed. ``SyntheticSet.contradictions`` lists the planted
contradictions between departments (for the data hub's findings and their tests).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from gongzhi.linkage.ids import USCC_CHARS, uscc_check_char
from gongzhi.people.idnumber import check_character

HOUSEHOLD_REGISTRY = "household_registry"
LOW_INCOME = "low_income"
POVERTY_MONITORING = "poverty_monitoring"
LEGAL_ENTITIES = "legal_entities"
PERSON_DATASETS = (HOUSEHOLD_REGISTRY, LOW_INCOME, POVERTY_MONITORING)

DATASET_LABELS = {
    HOUSEHOLD_REGISTRY: "公安户籍",
    LOW_INCOME: "民政低保",
    POVERTY_MONITORING: "乡村振兴防返贫监测",
    LEGAL_ENTITIES: "市场监管法人登记",
}

# The columns every person record has (empty string where a department has no value), and
# those of a legal-entity record. ``true_id`` is the generator's truth, not department data.
PERSON_COLUMNS = (
    "record_id",
    "source",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "region_code",
    "address",
    "status",
    "true_id",
)
ENTITY_COLUMNS = (
    "record_id",
    "source",
    "name",
    "credit_code",
    "legal_rep",
    "region_code",
    "address",
    "capital",
    "true_id",
)

COUNTY_CODE = "330523"
COUNTY_NAME = "安吉县"
# Birthplaces of people who live in 安吉 but were registered elsewhere (the ID's first 6 digits).
OTHER_BIRTH_REGIONS = ("330521", "330522", "330502", "330503", "330106", "341821", "360103")

# Surnames by rough frequency (heavier first) and given-name characters.
SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
    "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯"
    "龙史陶贺顾毛郝龚邵万钱严武戴孔汤章柳伍黎凌"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华红建文辉玲萍鹏飞斌宇浩凯健俊帆帅旭"
    "宁龙林欣晨瑶婷雪琳晶妍茜秋珊莎锦黛青倩婉娴瑾颖露瑞凡佳嘉琼勤珍贞莉桂娣叶璐娅琦晶妍茹"
    "清吉昭冰爽琬淑惠珠翠雅芝玉萍红娥玲芬燕彩春菊勤珍贞莉海山仁波宁福生龙元全国胜学祥才发"
    "武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦"
    "承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭"
)

# Characters a clerk may write for one another (same pinyin, or the 陈/程 near-homophone that
# many southern speakers do not tell apart).
HOMOPHONE_GROUPS = (
    "丽莉俐立",
    "伟玮炜",
    "静晶婧菁",
    "敏民闽",
    "华桦骅",
    "红宏虹洪",
    "军君均",
    "平萍苹",
    "英莹瑛",
    "明铭鸣",
    "杰洁婕",
    "文雯闻",
    "建剑健",
    "玲琳林凌",
    "霞侠",
    "燕艳彦",
    "涛韬滔",
    "波博",
    "辉晖",
    "峰锋丰枫",
    "陈程",
    "张章",
    "王汪",
    "李黎",
    "刘柳",
    "徐许",
    "吴伍",
    "飞菲",
    "佳嘉",
    "婷亭",
)
HOMOPHONES: dict[str, str] = {}
for _group in HOMOPHONE_GROUPS:
    for _char in _group:
        HOMOPHONES[_char] = _group.replace(_char, "")

# Simplified → traditional for the characters above that have a traditional form; enough for
# the generator (the linkage itself converts with OpenCC).
TRADITIONAL = dict(
    zip(
        "陈刘张杨黄赵吴孙马郭罗郑谢许韩冯邓萧叶苏卢钟谭陆汪贺顾龚钱严丽伟华红军杰涛兰霞刚"
        "桂建文辉玲萍鹏飞俊帅龙晨瑶婷雪琳晶妍锦黛娴瑾颖露瑞佳琼勤珍贞娣璐娅惠珠翠玉燕彩春"
        "国胜学祥发顺信达岩进坚彪诚敬震壮会邦乐绍庆民亮谦伦翔",
        "陳劉張楊黃趙吳孫馬郭羅鄭謝許韓馮鄧蕭葉蘇盧鍾譚陸汪賀顧龔錢嚴麗偉華紅軍傑濤蘭霞剛"
        "桂建文輝玲萍鵬飛俊帥龍晨瑤婷雪琳晶妍錦黛嫻瑾穎露瑞佳瓊勤珍貞娣璐婭惠珠翠玉燕彩春"
        "國勝學祥發順信達岩進堅彪誠敬震壯會邦樂紹慶民亮謙倫翔",
        strict=True,
    )
)

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

COMPANY_WORDS = "竹海天荒坪白茶云溪灵峰昌硕孝丰梅溪报福鄣吴杭垓章村上墅山川溪龙绿源翠竹"
INDUSTRIES = (
    "竹木制品",
    "白茶",
    "旅游开发",
    "农业科技",
    "建材",
    "家具",
    "电子商务",
    "餐饮管理",
    "物流",
    "建筑工程",
    "椅业",
    "生态农业",
)


@dataclass(frozen=True)
class Village:
    code: str  # 12 digits
    name: str  # short name, e.g. 玉华村
    township_code: str  # 12 digits, e.g. 330523103000
    township_name: str  # e.g. 鄣吴镇


# 安吉县's townships (GB/T 2260 statistical codes); the default villages hang under them when
# the regions table is not at hand.
ANJI_TOWNSHIPS = (
    ("330523001", "递铺街道"),
    ("330523002", "昌硕街道"),
    ("330523003", "灵峰街道"),
    ("330523004", "孝源街道"),
    ("330523103", "鄣吴镇"),
    ("330523104", "杭垓镇"),
    ("330523105", "孝丰镇"),
    ("330523106", "报福镇"),
    ("330523107", "章村镇"),
    ("330523108", "天荒坪镇"),
    ("330523110", "梅溪镇"),
    ("330523111", "天子湖镇"),
    ("330523201", "溪龙乡"),
    ("330523205", "上墅乡"),
    ("330523206", "山川乡"),
)
_VILLAGE_NAME_CHARS = "上下东西南北大小新老竹溪山岭坞湾桥塘坑口石桃花杨柳黄泥金银高横长"


def default_villages(per_township: int = 14) -> list[Village]:
    """Villages under 安吉县's real townships with generated names and codes (used when no
    regions table is given)."""
    rng = random.Random(330523)
    villages: list[Village] = []
    for township9, township_name in ANJI_TOWNSHIPS:
        names: set[str] = set()
        while len(names) < per_township:
            names.add("".join(rng.sample(_VILLAGE_NAME_CHARS, 2)) + "村")
        for i, name in enumerate(sorted(names), start=1):
            villages.append(
                Village(f"{township9}{200 + i:03d}", name, township9 + "000", township_name)
            )
    return villages


def villages_from_db(db: Any, county_code: str = COUNTY_CODE + "000000") -> list[Village]:
    """The real villages of a county from the regions table (empty if it is not loaded)."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gongzhi.regions.codes import subtree_bounds
    from gongzhi.regions.models import LEVEL_VILLAGE, Region

    township = aliased(Region)
    low, high = subtree_bounds(county_code)
    rows = db.execute(
        select(Region.code, Region.short_name, township.code, township.short_name)
        .join(township, township.code == Region.parent_code)
        .where(Region.level == LEVEL_VILLAGE, Region.code >= low, Region.code < high)
        .order_by(Region.code)
    ).all()
    return [Village(code, name, t_code, t_name) for code, name, t_code, t_name in rows]


@dataclass
class Person:
    person_id: str
    name: str
    id18: str
    sex: str  # "M" / "F"
    birth: date
    phone: str  # "" when the person has none of their own (children use the household's)
    village: Village
    household_id: int
    previous_village: Village | None = None  # moved: some department still has this one
    deceased: bool = False


@dataclass
class Entity:
    entity_id: str
    name: str
    credit_code: str
    legal_rep: str
    village: Village
    capital: int


@dataclass
class SyntheticSet:
    persons: list[Person]
    entities: list[Entity]
    datasets: dict[str, list[dict[str, str]]]
    # Planted contradictions between departments: {"kind", "subject", "datasets", "detail"}.
    contradictions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def person_records(self) -> list[dict[str, str]]:
        return [r for name in PERSON_DATASETS for r in self.datasets[name]]

    def record_count(self) -> int:
        return sum(len(rows) for rows in self.datasets.values())


@dataclass(frozen=True)
class ErrorRates:
    """Probabilities of each planted error, per record."""

    duplicate: float = 0.02
    name_homophone: float = 0.04
    name_traditional: float = 0.02
    name_typo: float = 0.01
    name_space: float = 0.01
    id_missing: float = 0.02
    id_typo: float = 0.015
    id_transposition: float = 0.005
    id_old_15: float = 0.04  # of people born before 1985, on lists other than the registry
    fullwidth: float = 0.02
    date_missing: float = 0.03
    date_swapped: float = 0.01
    sex_missing: float = 0.02
    phone_missing: float = 0.15
    phone_typo: float = 0.01
    moved: float = 0.02  # persons whose low-income record has a stale address


class _Generator:
    def __init__(
        self, seed: int, villages: Sequence[Village], rates: ErrorRates, twin_rate: float
    ) -> None:
        self.rng = random.Random(seed)
        self.villages = list(villages)
        self.rates = rates
        self.twin_rate = twin_rate
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.record_counter = 0

    # -- the population ------------------------------------------------------------------

    def _given_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return rng.choice(GIVEN_CHARS)
        return rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS)

    def _id18(self, birth: date, sex: str, region: str, after: int | None = None) -> str:
        """A unique ID number; ``after`` asks for the next sequence number of the same sex
        (a twin registered right after their sibling)."""
        rng = self.rng
        stem = f"{region}{birth:%Y%m%d}"
        for attempt in range(200):
            if after is not None and attempt < 40:
                seq = after + 2 * (attempt + 1)
            else:
                seq = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            if seq > 999:
                continue
            seq = seq - (seq % 2) + (1 if sex == "M" else 0)
            first17 = f"{stem}{seq:03d}"
            id18 = first17 + check_character(first17)
            if id18 not in self.used_ids:
                self.used_ids.add(id18)
                return id18
        raise RuntimeError("ran out of sequence numbers for one birth date")

    def _phone(self) -> str:
        rng = self.rng
        while True:
            phone = rng.choice(("13", "15", "18", "17", "19")) + f"{rng.randrange(10**9):09d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def _birth(self, earliest: int, latest: int) -> date:
        start = date(earliest, 1, 1)
        span = (date(latest, 12, 31) - start).days
        return start + timedelta(days=self.rng.randrange(span))

    def population(self, n_persons: int) -> list[Person]:
        rng = self.rng
        persons: list[Person] = []
        household = 0
        while len(persons) < n_persons:
            household += 1
            village = rng.choice(self.villages)
            surname = rng.choice(SURNAMES)
            head_birth = self._birth(1940, 1995)
            home_phone = self._phone()
            members: list[tuple[str, date, str]] = [(rng.choice("MF"), head_birth, home_phone)]
            if rng.random() < 0.8:  # spouse
                spouse_birth = head_birth + timedelta(days=rng.randrange(-1500, 1500))
                members.append(("F" if members[0][0] == "M" else "M", spouse_birth, self._phone()))
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):  # children
                child_year = min(head_birth.year + rng.randrange(20, 36), 2022)
                members.append((rng.choice("MF"), self._birth(child_year, child_year), ""))
            region = COUNTY_CODE if rng.random() < 0.9 else rng.choice(OTHER_BIRTH_REGIONS)
            for index, (sex, birth, phone) in enumerate(members):
                name_surname = surname if index != 1 else rng.choice(SURNAMES)
                child = index >= 2
                adult_phone = phone or (home_phone if child else "")
                person = Person(
                    person_id=f"P{len(persons) + 1:07d}",
                    name=name_surname + self._given_name(),
                    id18=self._id18(birth, sex, region),
                    sex=sex,
                    birth=birth,
                    phone=adult_phone,
                    village=village,
                    household_id=household,
                )
                persons.append(person)
                if child and rng.random() < self.twin_rate:
                    persons.append(self._twin(person, len(persons) + 1))
        del persons[n_persons:]
        for person in persons:
            if rng.random() < self.rates.moved:
                person.previous_village = person.village
                person.village = rng.choice(self.villages)
        return persons

    def _twin(self, sibling: Person, number: int) -> Person:
        """The sibling's twin: same birth date, household and phone; the next sequence number of
        the same sex; a name a character away (王丽/王莉 or 张伟杰/张伟豪)."""
        rng = self.rng
        seq = int(sibling.id18[14:17])
        given = sibling.name[1:]
        last = given[-1]
        if last in HOMOPHONES and rng.random() < 0.5:
            twin_given = given[:-1] + rng.choice(HOMOPHONES[last])
        else:
            twin_given = given[:-1] + rng.choice(GIVEN_CHARS.replace(last, ""))
        return Person(
            person_id=f"P{number:07d}",
            name=sibling.name[0] + twin_given,
            id18=self._id18(sibling.birth, sibling.sex, sibling.id18[:6], after=seq),
            sex=sibling.sex,
            birth=sibling.birth,
            phone=sibling.phone,
            village=sibling.village,
            household_id=sibling.household_id,
        )

    def entities(self, n_entities: int, persons: Sequence[Person]) -> list[Entity]:
        rng = self.rng
        names: set[str] = set()
        entities: list[Entity] = []
        adults = [p for p in persons if p.birth.year < 2000] or list(persons)
        while len(entities) < n_entities:
            # Two place words and a given-name character: millions of distinct trade names.
            name = (
                COUNTY_NAME
                + "".join(rng.sample(COMPANY_WORDS, 2))
                + rng.choice(GIVEN_CHARS)
                + rng.choice(INDUSTRIES)
                + "有限公司"
            )
            if name in names:
                continue
            names.add(name)
            body = "".join(rng.choice(USCC_CHARS) for _ in range(9))
            first17 = "91" + COUNTY_CODE + body
            entities.append(
                Entity(
                    entity_id=f"E{len(entities) + 1:06d}",
                    name=name,
                    credit_code=first17 + uscc_check_char(first17),
                    legal_rep=rng.choice(adults).name,
                    village=rng.choice(self.villages),
                    capital=rng.choice((10, 50, 100, 200, 500, 1000)) * 10_000,
                )
            )
        return entities

    # -- records, as departments write them -------------------------------------------------

    def _next_record_id(self, prefix: str) -> str:
        self.record_counter += 1
        return f"{prefix}-{self.record_counter:07d}"

    def _name(self, name: str) -> str:
        rng, rates = self.rng, self.rates
        roll = rng.random()
        if roll < rates.name_homophone:
            positions = [i for i, c in enumerate(name) if c in HOMOPHONES]
            if positions:
                i = rng.choice(positions)
                name = name[:i] + rng.choice(HOMOPHONES[name[i]]) + name[i + 1 :]
        elif roll < rates.name_homophone + rates.name_traditional:
            name = "".join(TRADITIONAL.get(c, c) for c in name)
        elif roll < rates.name_homophone + rates.name_traditional + rates.name_typo:
            i = rng.randrange(1, len(name))
            name = name[:i] + rng.choice(GIVEN_CHARS) + name[i + 1 :]
        if rng.random() < rates.name_space:
            name = name[0] + " " + name[1:]
        return name

    def _id_number(self, id18: str, birth: date, allow_old: bool) -> str:
        rng, rates = self.rng, self.rates
        roll = rng.random()
        if roll < rates.id_missing:
            return ""
        roll -= rates.id_missing
        if roll < rates.id_typo:
            i = rng.randrange(17)
            digit = rng.choice([d for d in "0123456789" if d != id18[i]])
            text = id18[:i] + digit + id18[i + 1 :]
        elif roll < rates.id_typo + rates.id_transposition:
            i = rng.randrange(16)
            text = id18[:i] + id18[i + 1] + id18[i] + id18[i + 2 :]
        elif allow_old and birth.year < 1985 and rng.random() < rates.id_old_15:
            text = id18[:6] + id18[8:17]
        else:
            text = id18
        if rng.random() < rates.fullwidth:
            text = text.translate(FULLWIDTH)
        elif text.endswith("X") and rng.random() < 0.3:
            text = text[:-1] + "x"
        return text

    def _birth_date(self, birth: date, style: str) -> str:
        rng, rates = self.rng, self.rates
        if rng.random() < rates.date_missing:
            return ""
        year, month, day = birth.year, birth.month, birth.day
        if day <= 12 and day != month and rng.random() < rates.date_swapped:
            month, day = day, month
        if style == "compact":
            text = f"{year}{month:02d}{day:02d}"
        elif style == "iso":
            text = (
                f"{year}-{month:02d}-{day:02d}"
                if rng.random() < 0.7
                else f"{year}年{month}月{day}日"
            )
        else:
            text = f"{year}/{month}/{day}"
        if rng.random() < rates.fullwidth:
            text = text.translate(FULLWIDTH)
        return text

    def _sex(self, sex: str, coded: bool) -> str:
        if self.rng.random() < self.rates.sex_missing:
            return ""
        if coded:
            return "1" if sex == "M" else "2"
        return "男" if sex == "M" else "女"

    def _phone_text(self, phone: str) -> str:
        rng, rates = self.rng, self.rates
        if not phone or rng.random() < rates.phone_missing:
            return ""
        if rng.random() < rates.phone_typo:
            i = rng.randrange(3, 11)
            phone = phone[:i] + rng.choice("0123456789") + phone[i + 1 :]
        roll = rng.random()
        if roll < 0.03:
            return "+86 " + phone
        if roll < 0.06:
            return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        if roll < 0.06 + rates.fullwidth:
            return phone.translate(FULLWIDTH)
        return phone

    def _free_text_address(self, village: Village) -> str:
        rng = self.rng
        prefix = rng.choice(("", COUNTY_NAME, "浙江省湖州市" + COUNTY_NAME))
        return f"{prefix}{village.township_name}{village.name}{rng.randrange(1, 300)}号"

    def person_record(self, person: Person, source: str, *, stale_address: bool = False) -> dict:
        village = (
            person.previous_village if stale_address and person.previous_village else person.village
        )
        record = {
            "record_id": "",
            "source": source,
            "name": self._name(person.name),
            "id_number": self._id_number(person.id18, person.birth, source != HOUSEHOLD_REGISTRY),
            "sex": self._sex(person.sex, coded=source == HOUSEHOLD_REGISTRY),
            "birth_date": "",
            "phone": self._phone_text(person.phone),
            "region_code": "",
            "address": "",
            "status": "",
            "true_id": person.person_id,
        }
        if source == HOUSEHOLD_REGISTRY:
            record["record_id"] = self._next_record_id("HJ")
            record["birth_date"] = self._birth_date(person.birth, "compact")
            record["region_code"] = village.code
            record["status"] = "死亡" if person.deceased else "正常"
        elif source == LOW_INCOME:
            record["record_id"] = self._next_record_id("DB")
            record["birth_date"] = self._birth_date(person.birth, "iso")
            record["address"] = self._free_text_address(village)
        else:
            record["record_id"] = self._next_record_id("FP")
            record["birth_date"] = self._birth_date(person.birth, "slash")
            record["region_code"] = village.township_code
        return record

    def entity_record(self, entity: Entity, *, variant: bool) -> dict:
        rng, rates = self.rng, self.rates
        name = entity.name
        code = entity.credit_code
        if variant:
            roll = rng.random()
            if roll < 0.3:
                name = name.replace("有限公司", "有限责任公司")
            elif roll < 0.5:
                name = name.replace(COUNTY_NAME, "") + "（安吉）"
            elif roll < 0.6:
                name = "".join(TRADITIONAL.get(c, c) for c in name)
            if rng.random() < 0.1:
                i = rng.randrange(17)
                code = code[:i] + rng.choice(USCC_CHARS.replace(code[i], "")) + code[i + 1 :]
            elif rng.random() < 0.1:
                code = ""
        if code and rng.random() < rates.fullwidth:
            code = code.translate(FULLWIDTH)
        return {
            "record_id": self._next_record_id("SC"),
            "source": LEGAL_ENTITIES,
            "name": name,
            "credit_code": code,
            "legal_rep": self._name(entity.legal_rep),
            "region_code": entity.village.code,
            "address": "",
            "capital": str(entity.capital),
            "true_id": entity.entity_id,
        }


def generate(
    n_persons: int = 500,
    *,
    seed: int = 5,
    villages: Sequence[Village] | None = None,
    n_entities: int | None = None,
    needy_share: float = 0.08,
    list_miss_rate: float = 0.05,
    twin_rate: float = 0.03,
    rates: ErrorRates | None = None,
) -> SyntheticSet:
    """A population of ``n_persons`` in ``villages`` (default: :func:`default_villages`) and the
    four department datasets written from it.

    ``needy_share`` is the share of households on the low-income and poverty lists (a
    household on one list is on the other except for ``list_miss_rate`` of them each way);
    ``twin_rate`` is the share of children who have a twin with the next ID number.
    """
    rates = rates or ErrorRates()
    gen = _Generator(seed, villages or default_villages(), rates, twin_rate)
    rng = gen.rng
    persons = gen.population(n_persons)
    contradictions: list[dict[str, Any]] = []

    households: dict[int, list[Person]] = {}
    for person in persons:
        households.setdefault(person.household_id, []).append(person)

    # Households in need: on both lists, except the planted misses (on one list only).
    on_low_income: list[Person] = []
    on_poverty: list[Person] = []
    for members in households.values():
        if rng.random() >= needy_share:
            continue
        roll = rng.random()
        lists = (
            (LOW_INCOME,)
            if roll < list_miss_rate
            else (POVERTY_MONITORING,)
            if roll < 2 * list_miss_rate
            else (LOW_INCOME, POVERTY_MONITORING)
        )
        if LOW_INCOME in lists:
            on_low_income.extend(members)
        if POVERTY_MONITORING in lists:
            on_poverty.extend(members)
        if len(lists) == 1:
            missing_from = LOW_INCOME if lists[0] == POVERTY_MONITORING else POVERTY_MONITORING
            contradictions.append(
                {
                    "kind": "eligible_missing_from_list",
                    "subject": [p.person_id for p in members],
                    "datasets": [lists[0], missing_from],
                    "detail": f"on {lists[0]}, missing from {missing_from}",
                }
            )

    # Deceased: some low-income recipients died; the registry knows, the list does not.
    for person in on_low_income:
        if rng.random() < 0.02:
            person.deceased = True
            contradictions.append(
                {
                    "kind": "deceased_on_list",
                    "subject": [person.person_id],
                    "datasets": [HOUSEHOLD_REGISTRY, LOW_INCOME],
                    "detail": "registered deceased, still receiving low-income support",
                }
            )
    deceased_off_poverty = {p.person_id for p in on_poverty if p.deceased}
    on_poverty = [p for p in on_poverty if p.person_id not in deceased_off_poverty]

    datasets: dict[str, list[dict[str, str]]] = {name: [] for name in DATASET_LABELS}

    def emit(source: str, members: Sequence[Person], presence: float = 1.0) -> None:
        rows = datasets[source]
        for person in members:
            if rng.random() >= presence:
                continue
            stale = source == LOW_INCOME
            rows.append(gen.person_record(person, source, stale_address=stale))
            if rng.random() < rates.duplicate:
                rows.append(gen.person_record(person, source, stale_address=stale))

    emit(HOUSEHOLD_REGISTRY, persons, presence=0.98)
    emit(LOW_INCOME, on_low_income)
    emit(POVERTY_MONITORING, on_poverty)
    low_income_ids = {p.person_id for p in on_low_income}
    for person in persons:
        if person.previous_village is not None and person.person_id in low_income_ids:
            contradictions.append(
                {
                    "kind": "two_addresses",
                    "subject": [person.person_id],
                    "datasets": [HOUSEHOLD_REGISTRY, LOW_INCOME],
                    "detail": f"{person.village.code} vs {person.previous_village.code}",
                }
            )

    entities = gen.entities(
        n_entities if n_entities is not None else max(n_persons // 40, 5), persons
    )
    for number, entity in enumerate(entities):
        datasets[LEGAL_ENTITIES].append(gen.entity_record(entity, variant=False))
        if rng.random() < 0.05:
            datasets[LEGAL_ENTITIES].append(gen.entity_record(entity, variant=True))
        if number % 50 == 7:  # one in fifty, so that even a small county has some
            # Registered again at another office with different data.
            other = gen.entity_record(entity, variant=True)
            other_village = rng.choice(gen.villages)
            other["region_code"] = other_village.code
            other["legal_rep"] = rng.choice(persons).name
            other["capital"] = str(entity.capital * 2)
            datasets[LEGAL_ENTITIES].append(other)
            contradictions.append(
                {
                    "kind": "entity_conflicting_registration",
                    "subject": [entity.entity_id],
                    "datasets": [LEGAL_ENTITIES],
                    "detail": "registered address, legal representative and capital differ",
                }
            )

    # Records are shuffled within each dataset so that nothing can be learnt from the order.
    for rows in datasets.values():
        rng.shuffle(rows)
    return SyntheticSet(persons, entities, datasets, contradictions)
