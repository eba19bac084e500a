"""Building blocks for the data-sharing tests: the departments' data stewards, a dataset with
rows, a case led by the requesting department, and the data authority (the data officer
persona, who reviews over the whole county)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.data.models import Dataset
from gongzhi.data.sharing import services
from gongzhi.data.sharing.models import ShareRequest
from gongzhi.org.models import Department
from gongzhi.security.auth import load_grants
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.principal import Principal
from tests.data.helpers import csv_bytes, import_bytes, make_dataset, person_row

COUNTY = "330523000000"
PROVIDER = "330523-MZ"  # 安吉县民政局: holds the person list
REQUESTER = "330523-NYNC"  # 安吉县农业农村局: asks for it
OTHER = "330523-WSJK"  # 安吉县卫生健康局: a third department
STEWARD_PASSWORD = "Anji-Steward-2026!"
SEED = SystemActor("test-sharing")
# Tuesday 29 September 2026, 10:00 in Anji: the National Day week lies ahead.
TUESDAY_BEFORE_NATIONAL_DAY = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)


def department(db: Session, code: str) -> Department:
    found = db.scalar(select(Department).where(Department.code == code))
    assert found is not None, code
    return found


def principal(db: Session, username: str) -> Principal:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None, username
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        grants=load_grants(db, account.id),
    )


def make_steward(db: Session, username: str, department_code: str) -> Principal:
    from gongzhi.org.services import create_staff

    create_staff(
        db,
        username=username,
        display_name=f"数据管理员{username[-2:]}",
        department=department(db, department_code),
        roles=[(Role.DATA_STEWARD, COUNTY)],
        password=STEWARD_PASSWORD,
        actor=SEED,
    )
    db.flush()
    return principal(db, username)


def person_dataset(
    db: Session,
    settings: Any,
    tmp_path: Path,
    code: str = "share-persons",
    rows: int = 5,
    **spec: Any,
) -> Dataset:
    dataset = make_dataset(db, code=code, department_code=PROVIDER, **spec)
    data = [person_row(i, name="张伟" if i % 2 else "李娜") for i in range(1, rows + 1)]
    import_bytes(db, settings, dataset, tmp_path, csv_bytes(data))
    db.flush()
    return dataset


def ask(
    db: Session,
    dataset: Dataset,
    requester: Principal,
    *,
    fields: list[str] | None = None,
    plaintext_fields: list[str] | None = None,
    period: tuple[date, date] = (date(2026, 10, 1), date(2027, 9, 30)),
) -> ShareRequest:
    found = services.staff_department(db, requester.account_id)
    assert found is not None
    return services.submit_request(
        db,
        dataset,
        requester=found,
        fields=fields or ["身份证号", "姓名", "性别", "联系电话"],
        plaintext_fields=plaintext_fields or [],
        purpose="核对防返贫监测对象的低保享受情况",
        legal_basis="《社会救助暂行办法》第十一条",
        scenario="防返贫监测对象动态核查",
        end_users="农业农村局乡村振兴科经办人员",
        period_start=period[0],
        period_end=period[1],
        actor=requester,
    )


def case_led_by(db: Session, department_code: str) -> str:
    """A case dispatched to ``department_code`` (its number)."""
    from gongzhi.cases import services as cases
    from gongzhi.cases.models import Channel

    case = cases.submit_case(
        db,
        channel=Channel.WEB,
        description="困难群众反映低保待遇未到账，请核实",
        address_text="浙江省湖州市安吉县鄣吴镇玉华村",
        actor=SEED,
    )
    cases.dispatch_case(db, case, to=department_code, actor=SEED)
    db.flush()
    return case.number
