"""The demo's sharing requests: a few in every state of the workflow, between the two
departments that share data in the demo county (civil affairs' 低保 list and agriculture's
防返贫监测 list) and towards the household registry, so the sharing pages show real content.

Everything goes through the sharing services with the actor a deployment would record:
the departments' data stewards ask, decide, dispute and withdraw; the data officer (the
data authority) reviews and revokes; the API calls on the grants go through the sharing
API's own delivery (``share_rows``: the checks, the masking and the call log), with an end
user and, for sensitive fields, the number of the case that justifies them. Those cases are
taken in on the hotline and dispatched to the calling department like any other case. The
older requests are played months back (:func:`gongzhi.db.time_travel`), so one grant has
expired by today. All people named here are synthetic (演示).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.config import Settings
from gongzhi.crypto import CryptoProvider
from gongzhi.data.models import Dataset
from gongzhi.data.sharing import services
from gongzhi.data.sharing.delivery import CallContext, ShareRefused, record_refusal, share_rows
from gongzhi.data.sharing.models import ShareRequest
from gongzhi.db import time_travel, utcnow
from gongzhi.org.models import Department
from gongzhi.security.principal import Principal

CIVIL_AFFAIRS = "330523-MZ"
AGRICULTURE = "330523-NYNC"
DIBAO = "ajx-mz-dbdx"  # 最低生活保障对象名单 (civil affairs)
POVERTY = "ajx-nync-ffpjc"  # 防止返贫监测对象名单 (agriculture)
REGISTRY = "ajx-hjrk"  # 户籍人口信息 (the county's social-governance centre)
AUTHORITY = "data_officer"
STEWARDS = {CIVIL_AFFAIRS: "steward_mz", AGRICULTURE: "steward_nync"}
DISPATCHER = "dispatcher"
SYNTHETIC = "（演示）"

SALVAGE_BASIS = "《社会救助暂行办法》第十一条；《浙江省最低生活保障办法》"
MONITOR_BASIS = "《中共中央 国务院关于做好2023年全面推进乡村振兴重点工作的意见》防止返贫动态监测"


@dataclass
class SharingSeed:
    requests: list[int] = field(default_factory=list)
    by_status: Counter[str] = field(default_factory=Counter)
    grants: dict[str, int] = field(default_factory=dict)  # "active" / "revoked" / "expired"
    calls: int = 0
    case_numbers: list[str] = field(default_factory=list)


def _principal(db: Session, username: str) -> Principal:
    from gongzhi.security.auth import load_grants
    from gongzhi.security.models import Account

    account = db.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise LookupError(f"demo account missing: {username}")
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=load_grants(db, account.id),
    )


@contextmanager
def _at(moment: datetime | None) -> Iterator[None]:
    if moment is None:
        yield
        return
    with time_travel(moment):
        yield


class _Cast:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.authority = _principal(db, AUTHORITY)
        self.dispatcher = _principal(db, DISPATCHER)
        self.stewards = {code: _principal(db, name) for code, name in STEWARDS.items()}
        self.departments = {
            d.code: d for d in db.scalars(select(Department).where(Department.code.in_(STEWARDS)))
        }
        self.datasets = {
            d.code: d
            for d in db.scalars(select(Dataset).where(Dataset.code.in_((DIBAO, POVERTY, REGISTRY))))
        }


def seed_sharing_requests(
    db: Session,
    *,
    settings: Settings,
    provider: CryptoProvider,
    township: str = "孝丰镇",
) -> SharingSeed:
    """The demo's sharing requests (needs the department datasets, the stewards, the data
    officer and the dispatcher). Returns what was made, by state."""
    cast = _Cast(db)
    missing = {DIBAO, POVERTY, REGISTRY} - set(cast.datasets)
    if missing:
        raise LookupError(f"demo datasets missing: {sorted(missing)}")
    seed = SharingSeed()
    tz = ZoneInfo(settings.timezone)
    now = utcnow()
    long_ago = now - timedelta(days=200)
    months_ago = now - timedelta(days=60)
    yesterday = now - timedelta(days=1)

    def ask(
        requester: str,
        dataset: str,
        fields: Sequence[str],
        *,
        purpose: str,
        legal_basis: str,
        scenario: str,
        end_users: str,
        days: int = 365,
        plaintext: Sequence[str] = (),
        at: datetime | None = None,
    ) -> ShareRequest:
        start = (at or now).astimezone(tz).date()
        with _at(at):
            request = services.submit_request(
                db,
                cast.datasets[dataset],
                requester=cast.departments[requester],
                fields=list(fields),
                plaintext_fields=list(plaintext),
                purpose=purpose,
                legal_basis=legal_basis,
                scenario=scenario,
                end_users=end_users,
                period_start=start,
                period_end=start + timedelta(days=days),
                actor=cast.stewards[requester],
                settings=settings,
            )
        seed.requests.append(request.id)
        return request

    def review(
        request: ShareRequest, *, at: datetime | None, approve: bool = True, reasons: str = ""
    ) -> None:
        with _at(at):
            services.review_request(
                db,
                request,
                approve=approve,
                reasons=reasons,
                actor=cast.authority,
                settings=settings,
            )

    def decide(
        request: ShareRequest, *, at: datetime | None, grant: bool = True, **kw: Any
    ) -> None:
        steward = cast.stewards[request.provider_department.code]
        with _at(at):
            services.decide_request(
                db, request, grant=grant, actor=steward, settings=settings, **kw
            )

    def call(
        request: ShareRequest,
        *,
        at: datetime | None,
        end_user: str,
        case_number: str | None,
        fields: Sequence[str] | None = None,
    ) -> None:
        grant = request.grant
        assert grant is not None
        caller = cast.stewards[request.requester_department.code]
        context = CallContext(
            grant_id=grant.id,
            end_user=end_user,
            case_number=case_number,
            fields=fields,
            after=None,
            limit=20,
        )
        with _at(at):
            try:
                share_rows(db, grant, context, principal=caller, provider=provider)
            except ShareRefused as refusal:
                record_refusal(db, grant, context, refusal, principal=caller)
        seed.calls += 1

    def case_for(department: str, *, at: datetime | None, who: str) -> str:
        """A hotline request about a family in difficulty, dispatched to ``department``:
        the case a call on sensitive fields names as its justification."""
        from gongzhi.cases import services as cases
        from gongzhi.cases.models import Channel

        with _at(at):
            case = cases.submit_case(
                db,
                channel=Channel.HOTLINE,
                description=(
                    f"{SYNTHETIC}{township}{who}家中老人重病，家庭收入骤减，来电询问能否申请"
                    "低保和防返贫帮扶。"
                ),
                address_text=f"浙江省湖州市安吉县{township}",
                matter_code="XC-067",
                actor=cast.dispatcher,
                settings=settings,
            )
            if case.lead_department_id != cast.departments[department].id:
                cases.dispatch_case(
                    db,
                    case,
                    to=department,
                    note="需核对低保与防返贫监测名单 / needs the lists checked",
                    actor=cast.dispatcher,
                    settings=settings,
                )
        seed.case_numbers.append(case.number)
        return case.number

    monitoring = ["户主身份证号", "户主姓名", "监测对象类别", "风险是否消除", "家庭住址"]
    dibao = ["户主身份证号", "户主姓名", "保障类别", "保障人数", "保障状态"]

    # 1. Granted (narrowed: no address), in use: civil affairs checks new 低保 applicants
    # against agriculture's monitoring list, each call naming its case.
    granted = ask(
        CIVIL_AFFAIRS,
        POVERTY,
        monitoring,
        purpose="审核低保申请时核对申请家庭是否为防返贫监测对象",
        legal_basis=SALVAGE_BASIS,
        scenario="低保申请家庭经济状况核对",
        end_users=f"县民政局社会救助科经办人员{SYNTHETIC}",
        at=months_ago,
    )
    review(granted, at=months_ago + timedelta(days=1))
    decide(
        granted,
        at=months_ago + timedelta(days=3),
        fields=[f for f in monitoring if f != "家庭住址"],
        reasons="家庭住址不属核对所需，按最小必要原则不予提供",
    )
    for days, person in ((20, "陈某"), (9, "沈某"), (2, "吴某")):
        moment = now - timedelta(days=days)
        number = case_for(CIVIL_AFFAIRS, at=moment - timedelta(hours=3), who=person)
        call(granted, at=moment, end_user=f"社会救助科 王敏{SYNTHETIC}", case_number=number)
    # Internal fields only: no case number needed.
    call(
        granted,
        at=yesterday,
        end_user=f"社会救助科 王敏{SYNTHETIC}",
        case_number=None,
        fields=["监测对象类别", "风险是否消除"],
    )
    # Outside the grant: refused, and logged as refused.
    call(
        granted,
        at=yesterday,
        end_user=f"社会救助科 王敏{SYNTHETIC}",
        case_number=None,
        fields=["家庭住址"],
    )

    # 2. Granted, then revoked by the provider.
    revoked = ask(
        AGRICULTURE,
        DIBAO,
        dibao,
        purpose="识别防返贫监测对象时核对其是否已纳入低保",
        legal_basis=MONITOR_BASIS,
        scenario="防返贫监测对象动态核查",
        end_users=f"县农业农村局乡村振兴科经办人员{SYNTHETIC}",
        at=months_ago,
    )
    review(revoked, at=months_ago + timedelta(days=1))
    decide(revoked, at=months_ago + timedelta(days=2))
    call(
        revoked,
        at=months_ago + timedelta(days=5),
        end_user=f"乡村振兴科 李强{SYNTHETIC}",
        case_number=None,
        fields=["保障类别", "保障状态"],
    )
    assert revoked.grant is not None
    with _at(now - timedelta(days=10)):
        services.revoke_grant(
            db,
            revoked.grant,
            reason="调用记录显示超出申请场景批量下载，暂停授权待整改",
            actor=cast.stewards[CIVIL_AFFAIRS],
        )

    # 3. Granted long ago for a campaign that has ended: expired.
    expired = ask(
        AGRICULTURE,
        DIBAO,
        ["户主身份证号", "户主姓名", "保障状态"],
        purpose="年度防返贫集中排查中核对低保享受情况",
        legal_basis=MONITOR_BASIS,
        scenario="年度集中排查",
        end_users=f"县农业农村局乡村振兴科排查专班{SYNTHETIC}",
        days=90,
        at=long_ago,
    )
    review(expired, at=long_ago + timedelta(days=1))
    decide(expired, at=long_ago + timedelta(days=2))
    call(
        expired,
        at=long_ago + timedelta(days=6),
        end_user=f"排查专班 赵刚{SYNTHETIC}",
        case_number=case_for(AGRICULTURE, at=long_ago + timedelta(days=5), who="钱某"),
    )

    # 4. Refused by the provider, with reasons; 5. refused again, and disputed.
    refused = ask(
        AGRICULTURE,
        DIBAO,
        ["户主姓名", "联系电话"],
        plaintext=["联系电话"],
        purpose="电话回访低保家庭，了解帮扶需求",
        legal_basis=MONITOR_BASIS,
        scenario="帮扶需求电话回访",
        end_users=f"县农业农村局乡村振兴科{SYNTHETIC}",
        at=months_ago + timedelta(days=7),
    )
    review(refused, at=months_ago + timedelta(days=8))
    decide(
        refused,
        at=months_ago + timedelta(days=10),
        grant=False,
        reasons="联系电话明文超出核对所需；回访可由民政局经乡镇民政员开展，不提供个人联系方式",
    )
    disputed = ask(
        CIVIL_AFFAIRS,
        POVERTY,
        ["户主姓名", "主要风险类型", "家庭年人均纯收入"],
        purpose="测算低保边缘家庭的收入状况",
        legal_basis=SALVAGE_BASIS,
        scenario="低保边缘家庭认定",
        end_users=f"县民政局社会救助科{SYNTHETIC}",
        at=now - timedelta(days=12),
    )
    review(disputed, at=now - timedelta(days=11))
    decide(
        disputed,
        at=now - timedelta(days=9),
        grant=False,
        reasons="家庭年人均纯收入为帮扶测算口径，与低保收入认定口径不同，不宜直接使用",
    )
    with _at(now - timedelta(days=8)):
        services.dispute_request(
            db,
            disputed,
            statement="申请仅用于初筛，认定时仍按低保口径核算；请数据主管部门协调",
            actor=cast.stewards[CIVIL_AFFAIRS],
            settings=settings,
        )

    # 6. Refused at review by the data authority.
    too_wide = ask(
        CIVIL_AFFAIRS,
        REGISTRY,
        ["公民身份号码", "姓名", "出生日期", "户籍地址"],
        plaintext=["公民身份号码", "户籍地址"],
        purpose="掌握全县人口情况",
        legal_basis="《政务数据共享条例》",
        scenario="人口情况统计",
        end_users=f"县民政局{SYNTHETIC}",
        at=now - timedelta(days=20),
    )
    review(
        too_wide,
        at=now - timedelta(days=19),
        approve=False,
        reasons="用途笼统，未说明具体业务；申请全量明文身份号码和地址不符合最小必要原则",
    )

    # 7. Passed review, waiting for the provider's answer.
    deciding = ask(
        AGRICULTURE,
        DIBAO,
        ["户主身份证号", "保障状态", "核查日期"],
        purpose="监测对象风险消除前核对其低保是否仍在保",
        legal_basis=MONITOR_BASIS,
        scenario="风险消除审核",
        end_users=f"县农业农村局乡村振兴科{SYNTHETIC}",
        at=yesterday - timedelta(hours=4),
    )
    review(deciding, at=yesterday)

    # 8. Just asked: waiting for the data authority's review (two of them).
    ask(
        AGRICULTURE,
        REGISTRY,
        ["姓名", "人员状态", "户籍地行政区划代码"],
        purpose="核对监测对象的户籍状态（死亡、迁出）",
        legal_basis=MONITOR_BASIS,
        scenario="监测对象户籍状态核对",
        end_users=f"县农业农村局乡村振兴科{SYNTHETIC}",
        at=yesterday,
    )
    ask(
        CIVIL_AFFAIRS,
        REGISTRY,
        ["姓名", "人员状态"],
        purpose="低保对象死亡后及时停保",
        legal_basis=SALVAGE_BASIS,
        scenario="低保对象死亡停保核对",
        end_users=f"县民政局社会救助科{SYNTHETIC}",
    )

    # 9. Withdrawn by the requester before review.
    withdrawn = ask(
        CIVIL_AFFAIRS,
        POVERTY,
        ["户主姓名", "识别日期"],
        purpose="统计新识别监测对象",
        legal_basis=SALVAGE_BASIS,
        scenario="月度统计",
        end_users=f"县民政局{SYNTHETIC}",
        at=now - timedelta(days=30),
    )
    with _at(now - timedelta(days=29)):
        services.withdraw_request(db, withdrawn, actor=cast.stewards[CIVIL_AFFAIRS])

    db.flush()
    for request in db.scalars(select(ShareRequest).where(ShareRequest.id.in_(seed.requests))):
        seed.by_status[request.status] += 1
        if request.grant is not None:
            state = request.grant.state_at(now)
            seed.grants[state] = seed.grants.get(state, 0) + 1
    return seed
