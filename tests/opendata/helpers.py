"""Small helpers for the open-data tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account
from gongzhi.security.services import issue_api_token

# Values of fields that must never leave the platform (the demo's internal and personal
# columns); each test looks for their column names in what it received.
HIDDEN_FIELDS = (
    "法定代表人",
    "法定代表人证件号码",
    "行政区划代码",
    "核准日期",
    "保洁责任人",
    "责任人电话",
    "巡查日期",
    "安全鉴定结论",
    "防汛责任人",
    "身份证号",
    "姓名",
    "联系电话",
)


def api_token(db: Session, username: str) -> str:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    _token, secret = issue_api_token(
        db, account, name="ckan", expires_days=None, actor=SystemActor("test-opendata")
    )
    db.flush()
    return secret
