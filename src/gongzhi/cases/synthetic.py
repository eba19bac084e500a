"""Synthetic citizen requests (诉求) for the demo responsibility list of 安吉县.

Each request is written the way people phone in or type a complaint: a place, the problem in
everyday words, how long it has lasted, a plea — with fillers, dropped punctuation and the
common typos of pinyin input (拉圾, 以经, 反映/反应). The same seed gives the same requests,
so the classifier's figures and the demo history are reproducible.

The phrases per matter are deliberately different from the list's own keywords where people
speak differently ("黑灯瞎火", "臭得不行"); measuring the cold-start classifier on them tells
how far the keywords alone carry.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Part = Literal["all", "train", "eval"]

# Places of 安吉县: townships and streets, villages and communities, roads and landmarks.
# Townships and streets of the county with some of their villages (the division codes'
# names; 余村 as people say it, not 余村村), so that "鄣吴镇玉华村" names a real place.
TOWNSHIP_VILLAGES: dict[str, tuple[str, ...]] = {
    "递铺街道": ("吉庆桥村", "康山村", "三官村", "鲁家村"),
    "昌硕街道": ("双一村", "双溪口村", "高坞岭村", "石鹰村"),
    "灵峰街道": ("剑山村", "横山坞村", "大竹园村", "碧门村"),
    "孝源街道": ("观音桥村", "洛四房村", "尚书干村", "孝源村"),
    "鄣吴镇": ("玉华村", "景坞村", "民乐村", "上吴村"),
    "杭垓镇": ("松坑村", "桐杭村", "唐舍村", "尚梅村"),
    "孝丰镇": ("潴口溪村", "狮古桥村", "横溪坞村", "大河村"),
    "报福镇": ("汤口村", "上张村", "中张村", "深溪坞村"),
    "章村镇": ("长潭村", "河垓村", "郎村村", "浮塘村"),
    "天荒坪镇": ("白水湾村", "井村村", "山河村", "余村"),
    "梅溪镇": ("甲子村", "章湾村", "石龙村", "马村村"),
    "天子湖镇": ("晓云村", "良朋村", "溪港村", "里沟村"),
    "溪龙乡": ("后河村", "黄杜村", "新丰村", "徐村湾村"),
    "上墅乡": ("董岭村", "刘家塘村", "罗村村", "田垓村"),
    "山川乡": ("船村村", "大里村", "高家堂村", "九亩村"),
}
TOWNSHIPS = tuple(TOWNSHIP_VILLAGES)
COMMUNITIES = (
    "桃城社区", "长乐社区", "浦源社区", "阳光社区", "凤凰社区", "天目社区", "昌硕社区",
    "玉磬社区", "清滨社区", "绣岭社区", "名仕苑小区", "浦源小区", "凤凰山庄", "天使小镇",
    "金色年华小区", "万达公馆",
)  # fmt: skip
ROADS = (
    "天目路", "昌硕路", "浦源大道", "胜利西路", "递铺路", "灵峰大道", "迎宾大道", "阳光大道",
    "玉磬路", "双一路", "良朋大道", "凤凰路", "孝丰老街", "横山坞路口",
)  # fmt: skip
LANDMARKS = (
    "昌硕广场", "安吉汽车站", "人民医院", "城北菜场", "万达广场", "安吉二中", "图书馆",
    "西苕溪边", "凤凰山公园", "竹博园门口", "老汽车站", "开发区", "体育中心",
)  # fmt: skip
SPOTS = (
    "门口", "旁边", "对面", "附近", "路口", "东边", "西门", "后面", "那一段", "边上",
)  # fmt: skip

# The problem in people's words, per matter code of the demo list (XC-001 … XC-071).
PHRASES: dict[str, tuple[str, ...]] = {
    "XC-001": (
        "路上有个大坑", "马路坑坑洼洼的", "路面塌下去一块", "人行道的砖都翘起来了",
        "路烂得不行开车颠死了", "地上裂了好大一条缝", "下雨天路上全是水坑骑车摔了",
    ),
    "XC-002": (
        "井盖没了", "窨井盖缺了一个口子", "下水道盖子碎了", "井盖翘起来了车一压就响",
        "路中间的井盖被人偷了很危险", "井盖松了踩上去晃",
    ),
    "XC-003": (
        "路灯坏了好几天了晚上特别黑", "路灯不亮", "晚上黑灯瞎火的路灯一直没修",
        "路灯一闪一闪的", "一排路灯全灭了走路害怕", "路灯白天亮晚上反而不亮",
    ),
    "XC-004": (
        "垃圾桶满了都溢出来了", "垃圾好几天没人来收", "垃圾箱塞爆了臭得很",
        "垃圾桶周围堆满了袋子", "收垃圾的车一直没来", "垃圾满出来被狗翻得到处都是",
    ),
    "XC-005": (
        "草丛里一堆垃圾没人管", "有人乱扔垃圾", "墙角堆着垃圾好久了",
        "空地上都是垃圾苍蝇乱飞", "塑料袋饭盒扔得满地都是", "卫生死角一直没人打扫",
    ),
    "XC-006": (
        "有人在路边堆了好多木头", "楼下堆满了杂物", "砖头沙子堆在人行道上",
        "门口乱堆乱放走不过去", "旧家具堆在路边好几个月了",
    ),
    "XC-007": (
        "路边摆摊的太多了", "小贩把摊子摆到马路上", "水果摊占了半条路",
        "晚上烧烤摊占道经营", "店家把东西摆到店外面来卖", "流动摊贩堵在校门口",
    ),
    "XC-008": (
        "挂了一条很大的横幅", "楼顶装了个大广告牌", "广告牌没审批就装了",
        "路边立了好多广告牌挡视线", "拉横幅搞促销好多天了",
    ),
    "XC-009": (
        "墙上贴满了小广告", "电线杆上全是牛皮癣", "有人在墙上乱涂乱画",
        "楼道里喷了好多开锁电话", "公交站牌贴满了办证广告",
    ),
    "XC-010": (
        "有人在路边拉绳子晒被子", "沿街晾衣服很难看", "店门口挂满了衣服",
        "行道树上绑着绳子晒东西", "阳台外面晒的衣服滴水",
    ),
    "XC-011": (
        "有人偷倒装修垃圾", "半夜有车来倒建筑垃圾", "路边倒了一堆渣土",
        "装修的碎砖头倒在河边", "空地被倒满了建筑垃圾",
    ),
    "XC-012": (
        "渣土车开过去路上全是泥", "大货车一路掉泥巴", "工地出来的车带泥上路",
        "土方车沿路洒土灰尘很大", "运沙车漏得满地都是",
    ),
    "XC-013": (
        "一下雨就积水", "路上积水有半米深", "雨水口堵了水排不出去",
        "地下通道淹了", "下大雨小区门口成了河", "积水好几天了都不退",
    ),
    "XC-014": (
        "绿化带被人踩坏了", "草坪被挖了种菜", "有人把绿化带里的树砍了",
        "绿地被车压得不成样子", "花坛里的花被人拔了",
    ),
    "XC-015": (
        "大树倒了压在路上", "树枝断了挂在半空", "行道树歪了快倒了",
        "台风把树刮倒了", "枯树枝掉下来差点砸到人", "树快倒了很危险",
    ),
    "XC-016": (
        "公厕脏得没法进", "公共厕所的水龙头坏了", "厕所门锁坏了",
        "公厕没人打扫臭气熏天", "厕所冲水坏了好几天",
    ),
    "XC-017": (
        "垃圾不分类乱扔", "厨余垃圾和其他垃圾混在一起", "分类垃圾桶形同虚设",
        "收垃圾的把分好的垃圾又倒在一起", "垃圾房门口乱七八糟没人分",
    ),
    "XC-018": (
        "共享单车乱停把路堵了", "一大堆单车倒在人行道上", "电单车停满了盲道",
        "共享单车堆成山", "单车停在店门口进不去",
    ),
    "XC-019": (
        "店招快掉下来了", "招牌被风吹歪了", "门头广告牌摇摇晃晃",
        "店牌掉了一半很危险", "招牌的字掉了挂在上面",
    ),
    "XC-020": (
        "路上很脏没人扫", "马路好久没打扫了", "路面全是落叶和烟头",
        "环卫工好几天没来扫地", "广场上脏兮兮的",
    ),
    "XC-021": (
        "邻居在楼顶搭了个棚", "有人违章搭建", "院子外面私自加盖了一间房",
        "在公共绿地上搭了铁皮房", "楼下有人违建围墙",
    ),
    "XC-022": (
        "有人在田里盖房子", "村里有人占耕地建房", "农田里偷偷打地基",
        "良田上建了好几栋房子", "有人没审批就在地里造房",
    ),
    "XC-023": (
        "有人私自挖土卖", "山上有人非法占地", "有人把地圈起来搞厂房",
        "挖掘机在乱挖地", "林地被人推平了",
    ),
    "XC-024": (
        "山上有石头滚下来", "后山裂了好大一条缝", "下雨后山体滑坡了",
        "路边的山塌方了", "屋后的山坡在往下滑", "地面突然陷下去一个洞",
    ),
    "XC-025": (
        "有人在河里挖沙子", "晚上有船偷偷采砂", "山上有人偷偷开采石头",
        "挖沙船天天在河里挖", "有人私自开矿炸山",
    ),
    "XC-026": (
        "老房子墙裂了好几条缝", "房子快塌了", "隔壁的旧房子歪了",
        "楼上墙皮大块掉下来", "房梁断了住着害怕",
    ),
    "XC-027": (
        "工地半夜还在施工", "晚上工地打桩吵得睡不着", "工地噪音太大了",
        "凌晨还在浇混凝土", "施工的机器声音吵死了",
    ),
    "XC-028": (
        "工地灰尘很大", "工地的土没盖网风一吹全是灰", "扬尘厉害窗户都不敢开",
        "拆房子灰尘满天飞", "工地不洒水尘土飞扬",
    ),
    "XC-029": (
        "物业不管事", "物业乱收费", "物业费交了什么都不做",
        "物业态度很差", "小区物业跑路了没人管",
    ),
    "XC-030": (
        "小区健身器材坏了", "小区里的路坏了没人修", "小区的门禁坏了",
        "小区里的路灯不亮", "小区的围墙倒了一段",
    ),
    "XC-031": (
        "电梯坏了被困在里面", "电梯一直响很吓人", "电梯门关不上",
        "电梯停运好几天了老人下不了楼", "电梯突然往下掉了一截",
    ),
    "XC-032": (
        "楼道里一股煤气味", "好像漏气了", "饭店里放了好多液化气罐",
        "燃气管道有泄漏", "煤气瓶放在楼道里",
    ),
    "XC-033": (
        "下水道堵了污水冒出来", "化粪池满了往外溢", "污水井冒黑水",
        "马路上污水横流臭得不行", "下水道反水",
    ),
    "XC-034": (
        "广场舞音响太吵", "楼下ktv吵到半夜", "有人用大喇叭叫卖",
        "晚上噪音太大睡不着", "酒吧音乐声太大", "邻居家装修天天吵",
    ),
    "XC-035": (
        "饭店油烟直接往楼上排", "烧烤店烟太大", "楼下餐馆的油烟熏得没法开窗",
        "饭店排烟管对着我家窗户", "油烟味呛得人喘不过气",
    ),
    "XC-036": (
        "有人在田里烧秸秆", "有人烧垃圾烟很大", "路边在烧落叶",
        "空地上有人焚烧塑料黑烟滚滚", "晚上有人偷偷烧东西",
    ),
    "XC-037": (
        "工厂烟囱冒黑烟", "厂里排出来的气很臭", "晚上闻到一股刺鼻的化学味",
        "企业偷偷排废气", "空气里有股怪味头都晕",
    ),
    "XC-038": (
        "工厂往河里偷排污水", "有暗管往沟里排废水", "厂里的废水直接排到田里",
        "半夜排污", "工厂排出来的水是彩色的",
    ),
    "XC-039": (
        "河里有很多垃圾漂着", "河面上全是水葫芦", "池塘里漂满了塑料瓶",
        "河道里有死鱼和垃圾", "水面上漂着一层泡沫饭盒",
    ),
    "XC-040": (
        "河水变黑了还发臭", "河里死了好多鱼", "河水颜色不对发绿",
        "小河臭得受不了", "水里有一层油花",
    ),
    "XC-041": (
        "村里的污水处理池坏了", "污水终端不转了", "村里污水管道破了往外冒",
        "农村污水设施一直没运行", "污水井盖掀开臭水外流",
    ),
    "XC-042": (
        "养猪场臭得受不了", "养殖场的粪水直接排到沟里", "养鸡场苍蝇特别多",
        "猪粪堆在路边", "养牛的臭味整个村都能闻到",
    ),
    "XC-043": (
        "有人偷倒工业垃圾", "山沟里倒了好多桶化学品", "有车来倒危险废物",
        "路边倒了一堆废油桶", "工厂的废料倒在田边",
    ),
    "XC-044": (
        "有人往河里填土", "河边盖了违章房", "河道被人占了堆东西",
        "有人把河填了建停车场", "河岸边圈起来养鸭子",
    ),
    "XC-045": (
        "水渠塌了", "水闸坏了关不上", "堤坝有缺口",
        "抽水泵站不工作了", "灌溉渠道堵死了",
    ),
    "XC-046": (
        "水库坝上在渗水", "山塘要漫出来了", "水库大坝有裂缝",
        "下大雨山塘水位太高了", "坝脚在冒水",
    ),
    "XC-047": (
        "村里的路坏了", "乡村公路塌了一块", "去村里的桥裂了",
        "村道上全是坑", "山路边坡塌下来了",
    ),
    "XC-048": (
        "有人在公路上晒稻谷", "公路边堆了很多石料", "村民把竹子堆在公路上",
        "公路上晒粮食车子过不去", "有人占用公路堆木材",
    ),
    "XC-049": (
        "公交站的玻璃碎了", "候车亭的顶棚坏了", "公交站牌被撞歪了",
        "站台的座椅断了", "公交站牌上的字看不清了",
    ),
    "XC-050": (
        "路口的红绿灯旁边标志牌倒了", "斑马线都看不见了", "护栏被撞坏了",
        "转弯的反光镜碎了", "限速牌被树挡住了",
    ),
    "XC-051": (
        "车站门口有黑车拉客", "有人开私家车拉客收钱", "黑车司机抢客人",
        "没有证的面包车在拉人", "火车站有人非法营运",
    ),
    "XC-052": (
        "有流浪狗咬人", "小区里好几条野狗", "流浪狗成群结队很吓人",
        "一条大狗追着小孩跑", "路上的狗没人管",
    ),
    "XC-053": (
        "河里漂着一头死猪", "路边扔了死鸡", "有人乱扔病死的猪",
        "村里鸡鸭死了好多", "沟里有动物尸体发臭",
    ),
    "XC-054": (
        "有人卖禁用的农药", "隔壁田里打的药味道很冲", "农资店卖违禁农药",
        "茶园里乱打除草剂", "菜地里用了剧毒农药",
    ),
    "XC-055": (
        "好多田荒着没人种", "耕地荒了好几年", "田里长满了草没人管",
        "承包的地一直闲着", "村里大片农田撂荒",
    ),
    "XC-056": (
        "村里脏乱差", "村口到处乱搭乱挂", "村里的环境太差了",
        "房前屋后乱七八糟", "村里的池塘边脏得很",
    ),
    "XC-057": (
        "买的东西过期了", "在饭店吃坏了肚子", "超市卖变质的肉",
        "小吃店没有卫生许可证", "吃了外卖上吐下泻",
    ),
    "XC-058": (
        "这家店没有营业执照", "有人无证经营", "黑作坊在生产东西",
        "路边小店一直没执照", "无照的美容店在营业",
    ),
    "XC-059": (
        "商店不明码标价", "景区饭店宰客", "停车场乱收费",
        "价格说好的结账又变了", "菜价标一个价收另一个价",
    ),
    "XC-060": (
        "菜市场缺斤少两", "在菜场买的肉少了二两", "菜场的秤有问题",
        "农贸市场乱哄哄的", "菜场摊位乱摆",
    ),
    "XC-061": (
        "消防通道被车堵住了", "消防车道停满了车", "楼道里堆满杂物消防通道走不通",
        "安全出口被锁了", "消防通道被店家占了",
    ),
    "XC-062": (
        "有人在楼道里给电瓶车充电", "从窗户拉电线下来充电", "电动车推进电梯上楼",
        "楼道里停满电动车还在充电", "飞线充电很危险",
    ),
    "XC-063": (
        "工厂里安全隐患很多", "工人干活不戴安全帽", "厂里的机器没有防护",
        "作坊里乱接电线", "工厂违规作业很危险",
    ),
    "XC-064": (
        "厂房里住了好多人", "仓库里面住人", "出租房里又住人又做加工",
        "小作坊楼上就是宿舍", "群租房里住了二十多个人",
    ),
    "XC-065": (
        "山上着火了", "有人上坟烧纸差点把山点了", "山林里有烟冒起来",
        "有人在山上烧东西", "竹林边有人野外用火",
    ),
    "XC-066": (
        "和邻居吵起来了", "邻居家漏水到我家不肯修", "隔壁老是占我家的地",
        "邻居之间闹矛盾需要调解", "楼上楼下为了漏水吵架",
    ),
    "XC-067": (
        "家里困难想申请低保", "生活过不下去了求救助", "家里有病人没钱看病",
        "失业了生活很困难", "想申请临时救助",
    ),
    "XC-068": (
        "隔壁老人一个人住没人管", "独居老人好几天没出门了", "空巢老人生病没人照顾",
        "村里的孤寡老人生活很难", "老人腿脚不便没人送饭",
    ),
    "XC-069": (
        "有人在山上乱埋坟", "田里新建了坟墓", "有人私自修坟",
        "山上散埋乱葬", "公墓外面又建了新坟",
    ),
    "XC-070": (
        "蚊子特别多", "老鼠到处跑", "小区里蟑螂成灾",
        "垃圾站苍蝇一大群", "积水里全是孑孓",
    ),
    "XC-071": (
        "有个黑诊所在给人打针", "没有执照的医生在看病", "有人在街上卖假药看病",
        "小诊所没有资质", "江湖游医骗老人",
    ),
}  # fmt: skip

DURATIONS = (
    "好几天了", "一个多星期了", "半个月了", "都一个月了", "从上周开始", "昨天晚上开始",
    "今天早上发现", "很久了", "一直这样", "最近", "", "", "",
)  # fmt: skip
PLEAS = (
    "希望尽快处理", "麻烦派人来看看", "请相关部门管一管", "反映过好几次了都没人管",
    "太影响生活了", "很危险，赶紧来人", "请尽快解决，谢谢", "老百姓意见很大", "", "",
)  # fmt: skip
OPENERS = ("你好，", "您好，", "我要反映一下，", "我想投诉，", "麻烦问一下，", "", "", "", "")
FILLERS = ("那个", "就是", "我们这边", "这个", "")

# Common slips of pinyin input and of speech-to-text in hotline notes.
TYPOS = (
    ("垃圾", "拉圾"),
    ("已经", "以经"),
    ("反映", "反应"),
    ("的", "得"),
    ("在", "再"),
    ("处理", "处里"),
    ("希望", "希忘"),
    ("马路", "马陆"),
    ("小区", "小去"),
    ("麻烦", "麻繁"),
)


@dataclass(frozen=True)
class SyntheticRequest:
    text: str
    matter_code: str
    place: str


def _place(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(ROADS) + rng.choice(SPOTS)
    if kind < 0.5:
        return rng.choice(COMMUNITIES) + rng.choice(SPOTS)
    if kind < 0.7:
        township = rng.choice(TOWNSHIPS)
        village = rng.choice(TOWNSHIP_VILLAGES[township])
        # People often leave the township out when the village is well known.
        return village if rng.random() < 0.3 else township + village
    if kind < 0.85:
        return rng.choice(LANDMARKS) + rng.choice(SPOTS)
    return rng.choice(TOWNSHIPS[:4]) + rng.choice(ROADS)  # the roads are in the town streets


def _typos(text: str, rng: random.Random) -> str:
    for right, wrong in TYPOS:
        if right in text and rng.random() < 0.15:
            text = text.replace(right, wrong, 1)
    return text


def phrases(matter_code: str, part: Part = "all") -> tuple[str, ...]:
    """The phrases of a matter; ``part`` "train" and "eval" split them (every third phrase
    is kept for "eval"), so that a classifier can be measured on wordings it never saw."""
    all_ = PHRASES[matter_code]
    if part == "all":
        return all_
    return tuple(p for i, p in enumerate(all_) if (i % 3 == 2) == (part == "eval"))


def compose(matter_code: str, rng: random.Random, part: Part = "all") -> SyntheticRequest:
    """One request about ``matter_code`` (a code of :data:`PHRASES`)."""
    own = phrases(matter_code, part)
    place = _place(rng)
    problem = rng.choice(own)
    # Sometimes two things are said about the same problem, as people do.
    if rng.random() < 0.25:
        other = rng.choice(own)
        if other != problem:
            problem = f"{problem}，{other}"
    duration = rng.choice(DURATIONS)
    plea = rng.choice(PLEAS)
    filler = rng.choice(FILLERS)
    shape = rng.random()
    if shape < 0.45:
        body = f"{place}{filler}{problem}"
        if duration:
            body += f"，{duration}"
    elif shape < 0.75:
        body = f"{duration}{place}{problem}" if duration else f"{place}{problem}"
    else:
        body = f"{problem}，在{place}"
        if duration:
            body += f"，{duration}"
    text = rng.choice(OPENERS) + body
    if plea:
        text += f"，{plea}"
    text += rng.choice(("。", "！", "", "。。"))
    if rng.random() < 0.2:
        text = text.replace("，", " ")  # typed on a phone without punctuation
    return SyntheticRequest(_typos(text, rng), matter_code, place)


def requests_per_matter(
    per_matter: int,
    *,
    seed: int = 0,
    matter_codes: Sequence[str] | None = None,
    part: Part = "all",
) -> list[SyntheticRequest]:
    """``per_matter`` requests for each matter (all of :data:`PHRASES` by default), from the
    ``part`` of each matter's phrases (see :func:`phrases`)."""
    rng = random.Random(seed)
    codes = sorted(PHRASES) if matter_codes is None else [c for c in matter_codes if c in PHRASES]
    return [compose(code, rng, part) for code in codes for _ in range(per_matter)]


def synthetic_requests(
    n: int,
    *,
    seed: int = 0,
    matter_codes: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> list[SyntheticRequest]:
    """``n`` requests over the matters, drawn with ``weights`` (uniform by default) — a
    history where street lights and rubbish come up far more often than illegal clinics."""
    rng = random.Random(seed)
    given = sorted(PHRASES) if matter_codes is None else list(matter_codes)
    if weights is not None and len(weights) != len(given):
        raise ValueError("weights must give one weight per matter code")
    pairs = [
        (c, w) for c, w in zip(given, weights or [1.0] * len(given), strict=True) if c in PHRASES
    ]
    if not pairs:
        return []
    drawn = rng.choices([c for c, _ in pairs], weights=[w for _, w in pairs], k=n)
    return [compose(code, rng) for code in drawn]
