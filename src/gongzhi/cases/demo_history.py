"""The demo county's case history: months of synthetic requests of 安吉县, in every state.

Every case goes through the real service functions (submit, dispatch, accept, return,
feedback, verify, close, rate, reopen, extensions, waiting for the citizen; merging a
duplicate report into its main case and undoing it, "me too" support; 吹哨报到, a township
clerk summoning county departments which check in on time, late or not at all) with the
actor a real deployment would record: the dispatcher, the lead department's handler, a grid
worker, the township clerk, the reporter. Time is travelled (:func:`gongzhi.db.time_travel`):
all cases' steps are played in the order of their moments, so the audit log, the case
numbers and the clocks read as if the county had used the platform for months. The same seed
gives the same history.

The people are synthetic and their names say so (演示).
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, SystemActor
from gongzhi.cases import services
from gongzhi.cases.models import Case, CaseStatus, Channel, Outcome, Priority, ReturnReason
from gongzhi.cases.synthetic import PHRASES, SPOTS, compose
from gongzhi.config import Settings, get_settings
from gongzhi.db import time_travel, utcnow
from gongzhi.errors import DomainError
from gongzhi.security.principal import Principal

if TYPE_CHECKING:
    from gongzhi.cases.summons import CaseSummons

COUNTY = "330523000000"
COUNTY_ADDRESS = "浙江省湖州市安吉县"
FALLBACK_LEAD = "330523-ZHZF"  # 综合行政执法局 takes what nobody else claims
TZ = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "Anji-Demo-2026!"
SYNTHETIC = "（演示）"

# How often each matter comes up: street lights, rubbish and noise far more than clinics.
BASE_WEIGHTS = {
    "XC-001": 6, "XC-003": 8, "XC-004": 8, "XC-005": 6, "XC-006": 4, "XC-007": 5,
    "XC-009": 3, "XC-013": 3, "XC-018": 3, "XC-020": 3, "XC-029": 5, "XC-034": 5,
    "XC-035": 3, "XC-047": 3, "XC-052": 2, "XC-056": 4, "XC-061": 2, "XC-066": 3,
}  # fmt: skip
# Seasonal matters: (months, factor). Rain and typhoons in summer, burning in the dry
# season, charging e-bikes indoors in winter, mosquitoes in summer.
SEASONS = {
    "XC-013": ((5, 6, 7, 8, 9), 4.0),
    "XC-015": ((7, 8, 9), 4.0),
    "XC-024": ((6, 7, 8), 3.0),
    "XC-046": ((6, 7, 8), 4.0),
    "XC-070": ((6, 7, 8, 9), 3.0),
    "XC-036": ((10, 11, 12, 1, 2, 3), 3.0),
    "XC-065": ((3, 4, 11, 12, 1), 3.0),
    "XC-062": ((11, 12, 1, 2), 2.5),
    "XC-003": ((11, 12, 1, 2), 1.5),
}
RURAL_MATTERS = frozenset(
    ("XC-022", "XC-036", "XC-041", "XC-042", "XC-047", "XC-053", "XC-054", "XC-055",
     "XC-056", "XC-069", "XC-025", "XC-052")
)  # fmt: skip
URBAN_MATTERS = frozenset(
    ("XC-007", "XC-008", "XC-018", "XC-019", "XC-029", "XC-030", "XC-031", "XC-035",
     "XC-049", "XC-062", "XC-010", "XC-016")
)  # fmt: skip
EMERGENCY = frozenset(("XC-031", "XC-032", "XC-046", "XC-024"))
UTILITIES = frozenset(("XC-033", "XC-041", "XC-013"))
COMPLEX = frozenset(("XC-029", "XC-066", "XC-022", "XC-023"))

CHANNEL_WEIGHTS = {
    Channel.HOTLINE: 0.35,
    Channel.WEB: 0.28,
    Channel.GRID: 0.2,
    Channel.API: 0.08,
    Channel.OPEN311: 0.09,
}
# Mondays are the busiest, Sundays the quietest; the day peaks mid-morning and mid-afternoon.
WEEKDAY_WEIGHTS = (1.3, 1.1, 1.05, 1.0, 1.0, 0.65, 0.55)
HOUR_WEIGHTS = (
    0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.2, 2.5, 3.5, 3.4, 2.6,
    1.6, 2.0, 3.0, 3.2, 2.8, 2.0, 1.4, 1.5, 1.6, 1.1, 0.6, 0.3,
)  # fmt: skip

# The steps after intake, per scenario. "route" is the dispatcher naming the lead when the
# intake could not; the open_* scenarios stop short on purpose (they are what is still open).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "resolved": ("route", "accept", "feedback", "verify", "rate"),
    "closed_by_dispatcher": ("route", "accept", "feedback", "close_resolved", "rate"),
    "rework": ("route", "accept", "feedback", "verify_fail", "feedback", "verify", "rate"),
    "returned": ("route", "return", "route", "accept", "feedback", "verify", "rate"),
    "reopened": (
        "route", "accept", "feedback", "verify", "rate_low", "reopen",
        "route", "accept", "feedback", "verify", "rate",
    ),
    "extension": ("route", "accept", "ask_extension", "approve_extension", "feedback", "verify",
                  "rate"),
    "extension_refused": ("route", "accept", "ask_extension", "refuse_extension", "feedback",
                          "close_resolved"),
    "paused": ("route", "accept", "pause", "resume", "feedback", "verify", "rate"),
    "not_ours": ("route", "return_not_ours", "close_not_ours"),
    "no_action_possible": ("route", "accept", "feedback", "close_no_action"),
    "duplicate": ("close_duplicate",),
    "withdrawn": ("route", "close_withdrawn"),
    "open_triage": (),
    "open_dispatched": ("route",),
    "open_accepted": ("route", "accept"),
    "open_feedback": ("route", "accept", "feedback"),
    "open_overdue": ("route", "accept"),
    "open_overdue_unsigned": ("route",),
    # A second report of an open case's problem, merged into it by the dispatcher; a few are
    # unmerged again (not the same problem after all) and handled on their own.
    "merged": ("merge",),
    "unmerged": ("merge", "unmerge", "route", "accept", "feedback", "verify", "rate"),
    # Neighbours back a case ("me too") before it is handled.
    "supported": ("route", "support", "support", "accept", "feedback", "verify", "rate"),
    # 吹哨报到: the township's clerk summons county departments; each checks in (the plan
    # gets one "check_in" per department, sometimes one fewer: a department that never came).
    "summoned": ("route", "accept", "summon", "feedback", "verify", "rate"),
    "summoned_waiting": ("summon",),
}  # fmt: skip
SCENARIO_WEIGHTS = {
    "resolved": 0.52, "closed_by_dispatcher": 0.08, "rework": 0.05, "returned": 0.06,
    "reopened": 0.03, "extension": 0.03, "extension_refused": 0.01, "paused": 0.02,
    "not_ours": 0.04, "no_action_possible": 0.03, "duplicate": 0.03, "withdrawn": 0.02,
    "open_triage": 0.01, "open_dispatched": 0.01, "open_accepted": 0.01, "open_feedback": 0.01,
    "open_overdue": 0.03, "open_overdue_unsigned": 0.01, "merged": 0.04, "unmerged": 0.004,
    "supported": 0.04, "summoned": 0.03, "summoned_waiting": 0.002,
}  # fmt: skip
# Scenarios whose case stays open for days: a later report of the same problem can be
# merged into it.
MAIN_SCENARIOS = frozenset(
    ("resolved", "rework", "returned", "extension", "paused", "supported", "summoned",
     "open_accepted", "open_feedback", "open_overdue", "open_overdue_unsigned")
)  # fmt: skip
DUPLICATE_SCENARIOS = frozenset(("merged", "unmerged"))
# Share of summoned departments that check in late, and of summons one department ignores.
LATE_CHECK_IN = 0.25
MISSED_CHECK_IN = 0.15
# Open scenarios are placed at the end of the period: (earliest, latest) days before the end.
OPEN_WINDOWS = {
    "open_triage": (0.05, 1.5),
    "open_dispatched": (0.02, 0.2),
    "open_accepted": (0.1, 2.0),
    "open_feedback": (0.5, 3.0),
    "open_overdue": (12.0, 40.0),
    "open_overdue_unsigned": (2.0, 8.0),
    # Intake shortly before the end, summoned minutes later: still within the check-in time.
    "summoned_waiting": (0.02, 0.06),
}
NOTES = {
    "feedback": (
        "已到现场处理完毕", "已安排人员清理", "已维修恢复正常", "已约谈当事人并责令整改",
        "已现场核实并处置", "已联系责任单位修复", "已督促整改到位，后续加强巡查",
    ),
    "verify_fail": ("现场查看问题仍然存在", "只处理了一部分，还有遗留", "整改不到位，需返工"),
    "not_ours": (
        "经核实属于供电公司维护范围，已告知报修电话 95598",
        "属于通信运营商线路，已转告企业自行处理",
        "属于私人财产纠纷，建议通过诉讼途径解决",
    ),
    "no_action": (
        "经现场核查未发现所反映问题", "该诉求涉及已生效判决，无法再行处理",
        "受客观条件限制暂无法解决，已向群众解释",
    ),
    "withdrawn": ("群众来电表示问题已自行解决，申请撤回", "反映人撤回诉求"),
    "low": ("问题根本没解决", "拖了太久", "处理态度不好", "只是应付了一下"),
    "reopen": ("问题又出现了", "根本没有处理好，请重新处理", "回访说解决了但实际上没有"),
    "pause": ("需要群众提供具体位置和照片", "需群众配合入户查看"),
    "extension": ("涉及多个部门协调，需延长办理时间", "需等待第三方检测结果", "维修材料需要采购"),
    "again": ("又有人反映：", "同一个问题，", "还是这个问题，"),
    "merge": ("同一地点同一问题，合并办理", "与在办诉求为同一问题，并入主件办理"),
    "unmerge": (
        "经核实与主件不是同一处问题，撤销合并单独办理",
        "现场核查发现是相邻的另一处问题，撤销合并",
    ),
    "summon": (
        "问题超出乡镇职权，请相关部门到场联合处置", "需要执法力量，请到场",
        "涉及多个部门，请到现场会商",
    ),
    "check_in": ("已到场", "执法人员已到现场", "已派员到场对接"),
}  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("建国", "秀英", "丽华", "志强", "海燕", "国平", "春梅", "文杰", "晓东", "玉兰",
         "伟民", "美芳", "金水", "爱华", "明辉", "桂英")  # fmt: skip
N_CITIZENS = 10


@dataclass
class HistoryReport:
    cases: int = 0
    steps: int = 0
    skipped: int = 0  # steps the services refused (e.g. a reopen window already passed)
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_scenario: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Village:
    code: str
    township_code: str
    address: str  # "浙江省湖州市安吉县孝丰镇三眼井社区"
    place: str  # how people say it: "三眼井社区"
    urban: bool


@dataclass
class _Plan:
    scenario: str
    channel: Channel
    matter_code: str
    village: _Village
    at: datetime
    steps: tuple[str, ...]
    reporter: Principal | None = None
    case: Case | None = None
    next_step: int = 0
    main: _Plan | None = None  # for a duplicate report: the plan of the case it repeats
    summon_count: int = 1  # departments to summon
    summons: CaseSummons | None = None


# Hotline call-backs (回访) rate and reopen on a caller's behalf; a partner app posts Open311.
CALLBACK = SystemActor("demo:回访")
OPEN311 = SystemActor("open311:demo-partner")


@dataclass
class _Cast:
    dispatcher: Principal
    handlers: dict[int, Principal]  # department id → a handler of it
    grid_workers: dict[str, Principal]  # township code → its grid worker
    citizens: list[Principal]
    clerks: dict[str, Principal] = field(default_factory=dict)  # township code → its clerk
    callback: Actor = CALLBACK
    open311: Actor = OPEN311


def principal_of(db: Session, username: str) -> Principal | None:
    """The signed-in view of a demo account (its grants), to act as it through the services."""
    from gongzhi.security.auth import load_grants
    from gongzhi.security.models import Account

    account = db.scalar(select(Account).where(Account.username == username))
    if account is None:
        return None
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=load_grants(db, account.id),
    )


def _cast(db: Session, villages: Sequence[_Village], rng: random.Random) -> _Cast:
    """The demo's people, plus synthetic handlers for departments without staff, one grid
    worker for a few more townships, and some more citizens (all named 演示)."""
    from gongzhi.org.models import Department, DepartmentKind, StaffProfile
    from gongzhi.org.services import create_staff
    from gongzhi.regions.models import Region
    from gongzhi.security.models import Account
    from gongzhi.security.permissions import Role
    from gongzhi.security.services import create_account, grant_role

    actor = SystemActor("demo")
    dispatcher = principal_of(db, "dispatcher")
    if dispatcher is None:
        raise DomainError("the demo accounts are missing (run the demo accounts step first)")
    handlers: dict[int, Principal] = {}
    departments = list(db.scalars(select(Department).order_by(Department.code)))
    staffed: dict[int, str] = {}
    for dept_id, username in db.execute(
        select(StaffProfile.department_id, Account.username)
        .join(Account, Account.id == StaffProfile.account_id)
        .order_by(StaffProfile.id)
    ):
        staffed.setdefault(dept_id, username)
    for dept in departments:
        if dept.kind == DepartmentKind.DISPATCH.value:
            continue
        username = staffed.get(dept.id) or f"demo_{dept.code.lower().replace('-', '_')}"
        if dept.id not in staffed and principal_of(db, username) is None:
            create_staff(
                db,
                username=username,
                display_name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{SYNTHETIC}",
                department=dept,
                roles=[(Role.DEPARTMENT_HANDLER, dept.region_code)],
                password=DEMO_PASSWORD,
                actor=actor,
            )
        found = principal_of(db, username)
        if found is not None:
            handlers[dept.id] = found

    grid_workers: dict[str, Principal] = {}
    existing = principal_of(db, "gridworker")
    if existing is not None:
        for grant in existing.grants:
            grid_workers[grant.region_code[:9] + "000"] = existing
    governments = {d.region_code: d for d in departments if d.kind == "township"}
    for township in sorted({v.township_code for v in villages})[::4]:
        if township in grid_workers or township not in governments:
            continue
        cell = db.scalar(
            select(Region.code)
            .where(Region.code.between(township[:9], township[:9] + "999"), Region.level == 6)
            .order_by(Region.code)
        )
        if cell is None:
            continue
        username = f"demo_grid_{township[6:9]}"
        if principal_of(db, username) is None:
            create_staff(
                db,
                username=username,
                display_name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{SYNTHETIC}",
                department=governments[township],
                roles=[(Role.GRID_WORKER, cell)],
                password=DEMO_PASSWORD,
                actor=actor,
            )
        found = principal_of(db, username)
        if found is not None:
            grid_workers[township] = found

    # A clerk in every township government (the demo's own for 孝丰镇), who blows the whistle.
    clerks: dict[str, Principal] = {}
    existing = principal_of(db, "clerk_xiaofeng")
    if existing is not None:
        for grant in existing.grants:
            clerks[grant.region_code] = existing
    for township, government in sorted(governments.items()):
        if township in clerks:
            continue
        username = f"demo_clerk_{township[6:9]}"
        if principal_of(db, username) is None:
            create_staff(
                db,
                username=username,
                display_name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{SYNTHETIC}",
                department=government,
                roles=[(Role.TOWNSHIP_CLERK, township)],
                password=DEMO_PASSWORD,
                actor=actor,
            )
        found = principal_of(db, username)
        if found is not None:
            clerks[township] = found

    citizens = [p for p in (principal_of(db, u) for u in ("citizen", "citizen2")) if p]
    for i in range(1, N_CITIZENS + 1):
        username = f"demo_citizen{i:02d}"
        if principal_of(db, username) is None:
            account = create_account(
                db,
                username=username,
                display_name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{SYNTHETIC}",
                kind="citizen",
                password=DEMO_PASSWORD,
                actor=actor,
            )
            grant_role(db, account, role=Role.CITIZEN, region_code=COUNTY, actor=actor)
        found = principal_of(db, username)
        if found is not None:
            citizens.append(found)
    db.flush()
    return _Cast(dispatcher, handlers, grid_workers, citizens, clerks=clerks)


def _villages(db: Session) -> list[_Village]:
    from gongzhi.regions.models import Region

    rows = db.execute(
        select(Region.code, Region.name, Region.parent_code, Region.is_urban)
        .where(Region.code.between(COUNTY[:6], COUNTY[:6] + "999999"), Region.level == 5)
        .order_by(Region.code)
    ).all()
    townships = dict(
        db.execute(
            select(Region.code, Region.name).where(
                Region.code.between(COUNTY[:6], COUNTY[:6] + "999999"), Region.level == 4
            )
        ).all()
    )
    out = []
    for code, name, parent, urban in rows:
        place = name.removesuffix("居委会").removesuffix("委会")
        address = f"{COUNTY_ADDRESS}{townships.get(parent or '', '')}{place}"
        out.append(_Village(code, parent or code, address, place, bool(urban)))
    return out


def _intake_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment with the week's and the day's rhythm (drawn by rejection, local time)."""
    span = (end - start).total_seconds()
    top_day, top_hour = max(WEEKDAY_WEIGHTS), max(HOUR_WEIGHTS)
    while True:
        at = start + timedelta(seconds=rng.random() * span)
        local = at.astimezone(TZ)
        # Slightly more requests as the platform becomes known.
        ramp = 0.7 + 0.3 * (at - start).total_seconds() / span
        weight = (
            WEEKDAY_WEIGHTS[local.weekday()] / top_day * HOUR_WEIGHTS[local.hour] / top_hour * ramp
        )
        if rng.random() < weight:
            return at


def _matter_weights(codes: Sequence[str], month: int, urban: bool) -> list[float]:
    weights = []
    for code in codes:
        w = float(BASE_WEIGHTS.get(code, 1))
        months, factor = SEASONS.get(code, ((), 1.0))
        if month in months:
            w *= factor
        if code in RURAL_MATTERS:
            w *= 0.3 if urban else 3.0
        elif code in URBAN_MATTERS:
            w *= 3.0 if urban else 0.3
        weights.append(w)
    return weights


def _office(at: datetime, rng: random.Random) -> datetime:
    """Staff act in office hours: a moment at night or at the weekend moves to the next
    working morning (holidays are left to the work calendar)."""
    local = at.astimezone(TZ)
    if local.hour < 8:
        local = local.replace(hour=8, minute=rng.randrange(30, 90) % 60, second=0)
    elif local.hour >= 18:
        local = (local + timedelta(days=1)).replace(hour=8, minute=rng.randrange(30, 60))
    while local.weekday() >= 5:
        local = (local + timedelta(days=1)).replace(hour=8, minute=rng.randrange(30, 60))
    return local.astimezone(at.tzinfo)


def _delay(step: str, priority: Priority, rng: random.Random) -> timedelta:
    hours: float
    urgent = priority in (Priority.EMERGENCY, Priority.UTILITIES)
    if step == "route":
        hours = rng.uniform(0.1, 1.0) if urgent else rng.uniform(0.2, 6.0)
    elif step == "accept":
        hours = rng.uniform(0.05, 0.4) if urgent else rng.uniform(0.1, 3.0)
    elif step == "feedback":
        if priority == Priority.EMERGENCY:
            hours = rng.uniform(0.3, 2.5)
        elif priority == Priority.UTILITIES:
            hours = rng.uniform(2, 26)
        else:
            # Most within the week, a tail well beyond it (the breached ones).
            days = rng.lognormvariate(0.7, 0.7) * (2.5 if priority == Priority.COMPLEX else 1)
            hours = days * 24
    elif step in ("verify", "verify_fail", "close_resolved"):
        hours = rng.uniform(3, 48)
    elif step in ("rate", "rate_low"):
        hours = rng.uniform(1, 72)
    elif step == "reopen":
        hours = rng.uniform(24, 7 * 24)
    elif step in ("return", "return_not_ours"):
        hours = rng.uniform(0.5, 20)
    elif step == "ask_extension":
        hours = rng.uniform(24, 72)
    elif step == "resume":
        hours = rng.uniform(24, 96)
    elif step in ("merge", "summon"):
        hours = rng.uniform(0.05, 0.4)
    elif step == "unmerge":
        hours = rng.uniform(2, 30)
    elif step == "support":
        hours = rng.uniform(0.2, 10)
    elif step == "check_in":
        late = rng.random() < LATE_CHECK_IN
        hours = rng.uniform(3, 30) if late else rng.uniform(0.1, 1.6)
    else:
        hours = rng.uniform(2, 30)
    return timedelta(hours=hours)


STAFF_STEPS = frozenset(
    ("route", "accept", "feedback", "verify", "verify_fail", "close_resolved", "return",
     "return_not_ours", "ask_extension", "approve_extension", "refuse_extension", "pause",
     "close_not_ours", "close_no_action", "close_duplicate", "close_withdrawn")
)  # fmt: skip


def _priority(code: str) -> Priority:
    if code in EMERGENCY:
        return Priority.EMERGENCY
    if code in UTILITIES:
        return Priority.UTILITIES
    if code in COMPLEX:
        return Priority.COMPLEX
    return Priority.ORDINARY


def _plans(
    n: int,
    rng: random.Random,
    villages: Sequence[_Village],
    cast: _Cast,
    start: datetime,
    end: datetime,
) -> list[_Plan]:
    codes = sorted(PHRASES)
    urban = [v for v in villages if v.urban]
    rural = [v for v in villages if not v.urban]
    channels = list(CHANNEL_WEIGHTS)
    names = list(SCENARIOS)
    plans: list[_Plan] = []
    for i in range(n):
        # The first cases take every scenario, channel and kind of place once, so that even
        # a small history shows them all; the rest are drawn.
        if i < len(names):
            scenario = names[i]
            channel = channels[i % len(channels)]
            is_urban = i % 2 == 0
        else:
            scenario = rng.choices(names, weights=[SCENARIO_WEIGHTS[s] for s in names])[0]
            channel = rng.choices(channels, weights=list(CHANNEL_WEIGHTS.values()))[0]
            is_urban = rng.random() < 0.55
        window = OPEN_WINDOWS.get(scenario)
        if window is not None:
            at = end - timedelta(days=rng.uniform(*window))
        else:
            at = _intake_moment(rng, start, end)
        pool = (urban or rural) if is_urban else (rural or urban)
        if channel == Channel.GRID:
            patrolled = [v for v in pool if v.township_code in cast.grid_workers]
            pool = patrolled or pool
        village = rng.choice(pool)
        local_month = at.astimezone(TZ).month
        matter = rng.choices(codes, weights=_matter_weights(codes, local_month, village.urban))[0]
        main = None
        if scenario in DUPLICATE_SCENARIOS:
            mains = [p for p in plans if p.scenario in MAIN_SCENARIOS and p.at < end]
            if mains:
                # Someone else reports the same problem at the same place a little later.
                main = rng.choice(mains[-40:])
                village, matter = main.village, main.matter_code
                at = main.at + timedelta(hours=rng.uniform(0.5, 30))
                if at >= end:
                    at = main.at + (end - main.at) * rng.uniform(0.2, 0.8)
        steps = SCENARIOS[scenario]
        if scenario == "summoned":
            # One check-in per summoned department (one or two), now and then one missing.
            summoned = 1 if rng.random() < 0.6 else 2
            came = summoned - (1 if rng.random() < MISSED_CHECK_IN else 0)
            i_summon = steps.index("summon") + 1
            steps = (*steps[:i_summon], *("check_in",) * came, *steps[i_summon:])
        reporter = None
        if channel in (Channel.WEB, Channel.API) and cast.citizens:
            # The two demo citizens report often, so their pages are full.
            reporter = cast.citizens[0] if rng.random() < 0.15 else rng.choice(cast.citizens)
            if rng.random() < 0.1:
                reporter = cast.citizens[1 % len(cast.citizens)]
        plans.append(
            _Plan(
                scenario,
                channel,
                matter,
                village,
                at,
                steps,
                reporter,
                main=main,
                summon_count=summoned if scenario == "summoned" else 1,
            )
        )
    return plans


def _describe(plan: _Plan, rng: random.Random) -> str:
    if plan.main is not None and plan.main.case is not None:
        # A second report of the same problem reads much like the first.
        return f"{rng.choice(NOTES['again'])}{plan.main.case.description}"
    request = compose(plan.matter_code, rng)
    place = plan.village.place + rng.choice(SPOTS)
    text = request.text.replace(request.place, place, 1)
    return text if place in text else f"{place}，{text}"


def _submit(db: Session, plan: _Plan, cast: _Cast, rng: random.Random, s: Settings) -> Case:
    priority = _priority(plan.matter_code)
    # Citizens often leave the category to the platform; operators and grid workers choose.
    matter: str | None = plan.matter_code
    if plan.channel in (Channel.WEB, Channel.API) and rng.random() < 0.4:
        matter = None
    address: str | None = plan.village.address
    if plan.scenario == "open_triage" or (plan.channel == Channel.HOTLINE and rng.random() < 0.03):
        address = None  # the caller could not say where: the dispatcher finds out
    actor: Actor
    contact_name = contact_phone = None
    if plan.channel == Channel.GRID:
        actor = cast.grid_workers.get(plan.village.township_code) or cast.dispatcher
        reporter_id = actor.audit_id
    elif plan.channel in (Channel.WEB, Channel.API) and plan.reporter is not None:
        actor = plan.reporter
        reporter_id = plan.reporter.account_id
    else:
        actor = cast.dispatcher if plan.channel == Channel.HOTLINE else cast.open311
        reporter_id = None
        title = rng.choice(("先生", "女士"))
        contact_name = f"{rng.choice(SURNAMES)}{title}{SYNTHETIC}"
        contact_phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return services.submit_case(
        db,
        channel=plan.channel,
        description=_describe(plan, rng),
        actor=actor,
        reporter_account_id=reporter_id,
        anonymous=plan.channel == Channel.HOTLINE and rng.random() < 0.05,
        address_text=address,
        matter_code=matter,
        priority=priority if priority != Priority.ORDINARY else None,
        attributes={"demo": "演示数据 / synthetic"},
        contact_name=contact_name,
        contact_phone=contact_phone,
        settings=s,
    )


def _lead_for(db: Session, case: Case, matter_code: str) -> str:
    """Whom the dispatcher names: the list's lead for the place (the first of a collision),
    else the county's lead for the matter, else the enforcement bureau."""
    from gongzhi.org.queries import lead_for

    for region in (case.region_code, COUNTY):
        if region:
            lead = lead_for(db, matter_code, region)
            if lead is not None and lead.leads:
                return lead.leads[0].code
    return FALLBACK_LEAD


def _handler(cast: _Cast, case: Case) -> Principal | Actor:
    if case.lead_department_id is not None and case.lead_department_id in cast.handlers:
        return cast.handlers[case.lead_department_id]
    return SystemActor("demo")


def _reporter(cast: _Cast, plan: _Plan, case: Case) -> Actor:
    if plan.reporter is not None and case.reporter_account_id == plan.reporter.account_id:
        return plan.reporter
    return cast.callback


def _rating(rng: random.Random) -> int:
    return rng.choices((5, 4, 3, 2, 1), weights=(0.58, 0.24, 0.09, 0.05, 0.04))[0]


def _step(
    db: Session, plan: _Plan, step: str, cast: _Cast, rng: random.Random, s: Settings
) -> None:
    case = plan.case
    assert case is not None
    status = case.status
    dispatcher = cast.dispatcher
    if step == "route":
        if status == CaseStatus.TRIAGE:
            services.dispatch_case(
                db,
                case,
                to=_lead_for(db, case, plan.matter_code),
                matter_code=plan.matter_code if case.matter_code != plan.matter_code else None,
                actor=dispatcher,
                settings=s,
            )
    elif step == "accept":
        services.accept_case(db, case, actor=_handler(cast, case), settings=s)
    elif step in ("return", "return_not_ours"):
        reason = (
            ReturnReason.NOT_OUR_DUTY
            if step == "return_not_ours"
            else rng.choice((ReturnReason.NOT_OUR_DUTY, ReturnReason.WRONG_REGION,
                             ReturnReason.INSUFFICIENT_INFO))
        )  # fmt: skip
        services.return_case(
            db, case, reason_code=reason, note="非本单位职责范围", actor=_handler(cast, case)
        )
    elif step == "feedback":
        services.give_feedback(
            db, case, note=rng.choice(NOTES["feedback"]), actor=_handler(cast, case)
        )
    elif step in ("verify", "verify_fail"):
        worker = cast.grid_workers.get(case.region_code[:9] + "000" if case.region_code else "")
        services.verify_case(
            db,
            case,
            passed=step == "verify",
            note=rng.choice(NOTES["verify_fail"]) if step == "verify_fail" else "现场核查已整改",
            actor=worker or dispatcher,
            settings=s,
        )
    elif step == "close_resolved":
        services.close_case(
            db, case, outcome=Outcome.RESOLVED, note="电话回访确认", actor=dispatcher
        )
    elif step in ("rate", "rate_low"):
        low = step == "rate_low"
        services.rate_case(
            db,
            case,
            rating=rng.choice((1, 2)) if low else _rating(rng),
            comment=rng.choice(NOTES["low"]) if low else None,
            actor=_reporter(cast, plan, case),
        )
    elif step == "reopen":
        services.reopen_case(
            db, case, reason=rng.choice(NOTES["reopen"]), actor=_reporter(cast, plan, case)
        )
    elif step == "ask_extension":
        from gongzhi.cases.clocks import running_clock
        from gongzhi.cases.models import ClockKind

        clock = running_clock(case, ClockKind.HANDLE)
        if clock is not None:
            services.request_extension(
                db,
                case,
                new_due_at=clock.due_at + timedelta(days=rng.randint(3, 10)),
                reason=rng.choice(NOTES["extension"]),
                actor=_handler(cast, case),
            )
    elif step in ("approve_extension", "refuse_extension"):
        services.decide_extension(
            db,
            case,
            approve=step == "approve_extension",
            note=None if step == "approve_extension" else "理由不充分，请按期办结",
            actor=dispatcher,
        )
    elif step == "pause":
        services.pause_for_citizen(db, case, reason=rng.choice(NOTES["pause"]), actor=dispatcher)
    elif step == "resume":
        services.resume(db, case, actor=dispatcher, note="群众已补充材料", settings=s)
    elif step.startswith("close_"):
        outcome, note = {
            "close_not_ours": (Outcome.NOT_OURS, rng.choice(NOTES["not_ours"])),
            "close_no_action": (Outcome.NO_ACTION_POSSIBLE, rng.choice(NOTES["no_action"])),
            "close_duplicate": (Outcome.DUPLICATE, "与此前同一问题的诉求重复，合并办理"),
            "close_withdrawn": (Outcome.WITHDRAWN, rng.choice(NOTES["withdrawn"])),
        }[step]
        services.close_case(db, case, outcome=outcome, note=note, actor=dispatcher)
    elif step in ("merge", "unmerge", "support", "summon", "check_in"):
        _together(db, plan, step, cast, rng, s)
    else:  # pragma: no cover - a typo in SCENARIOS
        raise ValueError(step)


def _together(
    db: Session, plan: _Plan, step: str, cast: _Cast, rng: random.Random, s: Settings
) -> None:
    """The steps between cases and departments: merging duplicates, "me too", 吹哨报到."""
    from gongzhi.cases import duplicates, summons

    case = plan.case
    assert case is not None
    if step == "merge":
        main = plan.main.case if plan.main is not None else None
        if main is None or main.status == CaseStatus.CLOSED:
            # The first report is already closed: the dispatcher closes this one as a
            # repeat of it instead (nothing open to merge into).
            services.close_case(
                db,
                case,
                outcome=Outcome.DUPLICATE,
                note="与此前同一问题的诉求重复，已办结",
                actor=cast.dispatcher,
            )
            return
        duplicates.merge_case(
            db, case, into=main, actor=cast.dispatcher, reason=rng.choice(NOTES["merge"])
        )
    elif step == "unmerge":
        duplicates.unmerge_case(
            db, case, actor=cast.dispatcher, reason=rng.choice(NOTES["unmerge"]), settings=s
        )
    elif step == "support":
        others = [c for c in cast.citizens if c.account_id != case.reporter_account_id]
        if others:
            backer = rng.choice(others)
            duplicates.support_case(db, case, account_id=backer.account_id, actor=backer)
    elif step == "summon":
        clerk = cast.clerks.get(case.region_code[:9] + "000" if case.region_code else "")
        if clerk is None:
            return
        priority = Priority(case.priority)
        reason = (
            summons.SummonsReason.EMERGENCY
            if priority == Priority.EMERGENCY
            else rng.choice(
                (summons.SummonsReason.BEYOND_POWER, summons.SummonsReason.NEEDS_ENFORCEMENT)
            )
        )
        plan.summons = summons.summon(
            db,
            case,
            departments=_summoned(db, case, plan.matter_code, plan.summon_count, reason),
            reason=reason,
            note=rng.choice(NOTES["summon"]),
            actor=clerk,
            settings=s,
        )
    elif step == "check_in":
        called = plan.summons
        if called is None:
            return
        entry = next((d for d in called.departments if d.checked_in_at is None), None)
        if entry is None:
            return
        summons.check_in(
            db,
            called,
            department_id=entry.department_id,
            note=rng.choice(NOTES["check_in"]),
            actor=cast.handlers.get(entry.department_id) or SystemActor("demo"),
        )


def _summoned(db: Session, case: Case, matter_code: str, n: int, reason: str) -> list[str]:
    """The county departments a clerk calls: for enforcement the enforcement bureau, else
    the matter's county lead and co-handlers; never the case's own lead."""
    from gongzhi.org.models import Department
    from gongzhi.org.queries import lead_for

    codes: list[str] = []
    if reason == "needs_enforcement":
        codes.append(FALLBACK_LEAD)
    lead = lead_for(db, matter_code, COUNTY)
    if lead is not None:
        codes += [d.code for d in (*lead.leads, *lead.co_handlers)]
    codes += [FALLBACK_LEAD, "330523-ZJ"]
    own = db.scalar(select(Department.code).where(Department.id == case.lead_department_id))
    picked = [c for c in dict.fromkeys(codes) if c != own and not c.endswith("-ZF")]
    return picked[:n]


def build_case_history(
    db: Session,
    *,
    n: int = 3000,
    seed: int = 2026,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    commit_every: int | None = None,
    settings: Settings | None = None,
) -> HistoryReport:
    """Play ``n`` synthetic cases between ``start`` and ``end`` (default: the last 182 days)
    through the case services, every step at its own moment, in the order of the moments.

    ``progress(k)`` is told of k more intakes (of ``n``), every 50;
    ``commit_every`` commits every that many steps (the demo; tests leave it None and stay
    in their transaction). The demo accounts must exist (``gongzhi demo`` makes them)."""
    s = settings or get_settings()
    began = time.perf_counter()
    end = end or utcnow().replace(microsecond=0)
    start = start or end - timedelta(days=182)
    rng = random.Random(seed)
    villages = _villages(db)
    if not villages:
        raise DomainError("no villages of 安吉县 (load the regions first)")
    cast = _cast(db, villages, rng)
    plans = _plans(n, rng, villages, cast, start, end)
    report = HistoryReport()
    queue: list[tuple[datetime, int]] = [(p.at, i) for i, p in enumerate(plans)]
    heapq.heapify(queue)
    since_commit = 0
    while queue:
        at, i = heapq.heappop(queue)
        plan = plans[i]
        with time_travel(at):
            try:
                if plan.case is None:
                    plan.case = _submit(db, plan, cast, rng, s)
                    report.cases += 1
                    report.by_scenario[plan.scenario] += 1
                    if progress is not None and report.cases % 50 == 0:
                        progress(50)
                else:
                    _step(db, plan, plan.steps[plan.next_step], cast, rng, s)
                    plan.next_step += 1
                    report.steps += 1
            except DomainError:
                # A step the services refuse (e.g. the reopen window passed) ends that
                # case's story where it is, as it would in life.
                report.skipped += 1
                continue
        if plan.next_step < len(plan.steps):
            step = plan.steps[plan.next_step]
            priority = Priority(plan.case.priority)
            moment = at + _delay(step, priority, rng)
            if step in STAFF_STEPS and priority not in (Priority.EMERGENCY, Priority.UTILITIES):
                moment = _office(moment, rng)
            if moment < end:
                heapq.heappush(queue, (moment, i))
        since_commit += 1
        if commit_every and since_commit >= commit_every:
            db.commit()
            since_commit = 0
    if progress is not None and report.cases % 50:
        progress(report.cases % 50)
    with time_travel(end):
        # The deadline sweep at "now": overdue cases carry their 催办/督办 as in a live system.
        for _ in range(20):
            swept = services.sweep_clocks(db, actor=SystemActor("jobs:cases.sweep"), settings=s)
            if not swept.warned and not swept.escalated:
                break
    db.flush()
    for plan in plans:
        if plan.case is not None:
            report.by_status[plan.case.status] += 1
            report.by_channel[plan.case.channel] += 1
            if plan.case.outcome:
                report.by_outcome[plan.case.outcome] += 1
    report.seconds = time.perf_counter() - began
    return report
