"""Every state change of data sharing. Services never commit; each writes its audit event.

The workflow (docs/sharing.md):

- ``submit_request``: a department's data steward asks for fields of a dataset. Data that is
  not shared (不予共享) cannot be asked for. Unconditional (无条件) data is granted at once,
  recorded as a decision of the system with the rule as its reason, unless the request asks
  for plaintext of sensitive fields or touches important/core fields: those always go the
  conditional way.
- ``review_request``: the data authority passes the request on to the provider or refuses
  it, within 2 working days.
- ``decide_request``: the provider grants (possibly fewer fields, a shorter period) or
  refuses, within 5 working days.
- ``dispute_request`` / ``arbitrate_dispute``: the requester objects to the provider's
  refusal; the authority settles it (grants, or upholds the refusal).
- ``revoke_grant``: the provider or the authority ends a grant at once.
- ``escalate_overdue``: the deadline job tells the authority about overdue steps.

Every refusal carries reasons; a refusal without is refused (Invalid).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.config import Settings, get_settings
from gongzhi.data.models import (
    CLASSIFICATION_ORDER,
    Classification,
    Dataset,
    SharingType,
)
from gongzhi.data.sharing.models import (
    OPEN_STATUSES,
    CallOutcome,
    Outcome,
    RequestStatus,
    ShareCall,
    ShareDecision,
    ShareGrant,
    ShareRequest,
    Step,
)
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid
from gongzhi.org.calendar import WorkCalendar
from gongzhi.org.models import Department, StaffProfile
from gongzhi.security.permissions import ROLE_PERMISSIONS, Permission
from gongzhi.security.principal import Principal

# Working days each step may take (the provincial practice under Decree 809).
REVIEW_WORKING_DAYS = 2
DECIDE_WORKING_DAYS = 5
# The authority settles a dispute on the same clock as a review.
ARBITRATE_WORKING_DAYS = 2
# A grant lasts at most this long; a longer need is a new request (and a new review).
MAX_PERIOD_DAYS = 3 * 366
MAX_TEXT = 2000
UNCONDITIONAL_RULE = (
    "无条件共享数据，依《政务数据共享条例》按申请直接授权 / "
    "unconditional data: granted on request under Decree 809"
)


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def work_calendar(
    db: Session, department: Department, settings: Settings | None = None
) -> WorkCalendar:
    """The calendar of the provider department's region (deadlines run where the work is)."""
    from gongzhi.org.queries import calendar_for

    return calendar_for(db, _settings(settings), department.region_code)


def staff_department(db: Session, account_id: int | None) -> Department | None:
    """The department an account works in (its staff profile), if any."""
    if account_id is None:
        return None
    return db.scalar(
        select(Department)
        .join(StaffProfile, StaffProfile.department_id == Department.id)
        .where(StaffProfile.account_id == account_id)
    )


def field_levels(dataset: Dataset) -> dict[str, str]:
    """Field name → classification, from the dataset's current schema."""
    return {
        f["name"]: f.get("classification", Classification.INTERNAL.value)
        for f in dataset.table_schema["fields"]
    }


def _at_least(level: str, floor: Classification) -> bool:
    return CLASSIFICATION_ORDER[Classification(level)] >= CLASSIFICATION_ORDER[floor]


def _text(value: str, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"请填写{what} / {what} is required", code="invalid")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what}最长 {MAX_TEXT} 字 / {what}: {MAX_TEXT} characters at most")
    return value


def _reasons(reasons: str) -> str:
    value = (reasons or "").strip()
    if not value:
        raise Invalid(
            "不予共享必须说明理由 / a refusal must give its reasons", code="reasons_required"
        )
    return _text(value, "理由")


def _local_bounds(day_from: date, day_to: date, tz: str) -> tuple[datetime, datetime]:
    """The period as moments: from the start of the first day to the end of the last, local."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day_from, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def _today(settings: Settings) -> date:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def _decision(
    db: Session,
    request: ShareRequest,
    *,
    step: Step,
    outcome: Outcome,
    actor: Actor,
    reasons: str = "",
    due_at: datetime | None = None,
) -> ShareDecision:
    decision = ShareDecision(
        request_id=request.id,
        step=step.value,
        outcome=outcome.value,
        reasons=reasons,
        actor_id=actor.audit_id,
        actor_label=actor.audit_label,
        at=utcnow(),
        due_at=due_at,
    )
    request.decisions.append(decision)
    return decision


def _audit(
    db: Session,
    request: ShareRequest,
    actor: Actor,
    verb: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    record(
        db,
        actor=actor,
        action=f"data.share.{verb}",
        object_type="data_share_request",
        object_id=request.id,
        old=old,
        new=new,
        reason=reason or None,
        region_code=request.provider_department.region_code,
    )


def _check_fields(
    dataset: Dataset, fields: Sequence[str], plaintext_fields: Sequence[str]
) -> tuple[list[str], list[str]]:
    levels = field_levels(dataset)
    wanted = list(dict.fromkeys(f.strip() for f in fields if f and f.strip()))
    if not wanted:
        raise Invalid("请至少选择一个字段 / choose at least one field", code="no_fields")
    unknown = [f for f in wanted if f not in levels]
    if unknown:
        raise Invalid(
            f"数据集没有这些字段 / no such fields: {', '.join(unknown)}", code="unknown_field"
        )
    plain = list(dict.fromkeys(f.strip() for f in plaintext_fields if f and f.strip()))
    outside = [f for f in plain if f not in wanted]
    if outside:
        raise Invalid(
            f"明文字段须在申请字段之内 / plaintext fields must be requested: {', '.join(outside)}",
            code="invalid_plaintext",
        )
    too_high = [f for f in plain if _at_least(levels[f], Classification.IMPORTANT)]
    if too_high:
        raise Invalid(
            "重要数据和核心数据字段不提供明文 / important and core fields are never given in "
            f"plaintext: {', '.join(too_high)}",
            code="invalid_plaintext",
        )
    # Public and internal fields are returned as they are; asking plaintext of them means
    # nothing and is dropped.
    plain = [f for f in plain if _at_least(levels[f], Classification.SENSITIVE)]
    # Keep the schema's order, so that grants and responses read like the dataset.
    order = {name: i for i, name in enumerate(levels)}
    return sorted(wanted, key=order.__getitem__), sorted(plain, key=order.__getitem__)


def submit_request(
    db: Session,
    dataset: Dataset,
    *,
    requester: Department,
    fields: Sequence[str],
    plaintext_fields: Sequence[str] = (),
    purpose: str,
    legal_basis: str,
    scenario: str,
    end_users: str,
    period_start: date,
    period_end: date,
    actor: Actor,
    settings: Settings | None = None,
) -> ShareRequest:
    settings = _settings(settings)
    if dataset.sharing_type == SharingType.NONE.value:
        raise Forbidden(
            "该数据集属于不予共享类，不能申请 / this dataset is not shared (不予共享) and cannot "
            "be requested",
            code="not_shareable",
        )
    if requester.id == dataset.department_id:
        raise Invalid(
            "不能申请本部门提供的数据 / a department does not request its own data",
            code="own_dataset",
        )
    wanted, plain = _check_fields(dataset, fields, plaintext_fields)
    purpose = _text(purpose, "用途")
    legal_basis = _text(legal_basis, "依据")
    scenario = _text(scenario, "应用场景")
    end_users = _text(end_users, "使用人员")
    if period_end < period_start:
        raise Invalid(
            "使用期限的结束早于开始 / the period ends before it starts", code="invalid_period"
        )
    if period_end < _today(settings):
        raise Invalid("使用期限已过 / the period is over", code="invalid_period")
    if (period_end - period_start).days > MAX_PERIOD_DAYS:
        raise Invalid(
            "使用期限最长三年 / a period may last three years at most", code="invalid_period"
        )
    now = utcnow()
    provider = dataset.department
    request = ShareRequest(
        dataset_id=dataset.id,
        requester_department_id=requester.id,
        provider_department_id=provider.id,
        requested_by_id=actor.audit_id,
        requested_by_label=actor.audit_label,
        fields=wanted,
        plaintext_fields=plain,
        purpose=purpose,
        legal_basis=legal_basis,
        scenario=scenario,
        end_users=end_users,
        period_start=period_start,
        period_end=period_end,
        status=RequestStatus.REVIEWING.value,
        created_at=now,
        updated_at=now,
    )
    request.dataset = dataset
    request.requester_department = requester
    request.provider_department = provider
    db.add(request)
    db.flush()
    _decision(db, request, step=Step.SUBMIT, outcome=Outcome.SUBMITTED, actor=actor)
    levels = field_levels(dataset)
    straight_through = (
        dataset.sharing_type == SharingType.UNCONDITIONAL.value
        and not plain
        and not any(_at_least(levels[f], Classification.IMPORTANT) for f in wanted)
    )
    if straight_through:
        from gongzhi.audit.services import SystemActor

        _audit(db, request, actor, "request", new=request.snapshot())
        rule = SystemActor("data.sharing:unconditional")
        _decision(
            db,
            request,
            step=Step.SYSTEM,
            outcome=Outcome.GRANTED,
            actor=rule,
            reasons=UNCONDITIONAL_RULE,
        )
        _make_grant(db, request, fields=wanted, plaintext_fields=[], actor=rule, settings=settings)
        return request
    request.due_at = work_calendar(db, provider, settings).add_working_days(
        now, REVIEW_WORKING_DAYS
    )
    db.flush()
    _audit(db, request, actor, "request", new=request.snapshot())
    return request


def _make_grant(
    db: Session,
    request: ShareRequest,
    *,
    fields: list[str],
    plaintext_fields: list[str],
    actor: Actor,
    settings: Settings,
    until: date | None = None,
) -> ShareGrant:
    starts_at, expires_at = _local_bounds(
        request.period_start, until or request.period_end, settings.timezone
    )
    grant = ShareGrant(
        request_id=request.id,
        dataset_id=request.dataset_id,
        requester_department_id=request.requester_department_id,
        provider_department_id=request.provider_department_id,
        fields=fields,
        plaintext_fields=plaintext_fields,
        purpose=request.purpose,
        starts_at=starts_at,
        expires_at=expires_at,
        granted_at=utcnow(),
        granted_by_label=actor.audit_label,
    )
    request.status = RequestStatus.GRANTED.value
    request.due_at = None
    request.escalated_at = None
    request.grant = grant
    db.add(grant)
    db.flush()
    record(
        db,
        actor=actor,
        action="data.share.grant",
        object_type="data_share_grant",
        object_id=grant.id,
        new={
            "request_id": request.id,
            "dataset_id": request.dataset_id,
            "requester_department_id": request.requester_department_id,
            "fields": fields,
            "plaintext_fields": plaintext_fields,
            "purpose": request.purpose,
            "starts_at": starts_at,
            "expires_at": expires_at,
        },
        region_code=request.provider_department.region_code,
    )
    return grant


def _close_refused(request: ShareRequest) -> None:
    """A refusal ends the request: no deadline runs and nothing is escalated any more."""
    request.status = RequestStatus.REFUSED.value
    request.due_at = None
    request.escalated_at = None


def _expect(request: ShareRequest, status: RequestStatus) -> None:
    if request.status != status.value:
        raise Conflict(
            f"申请当前状态为 {request.status}，不能进行此操作 / the request is {request.status}",
            code="wrong_status",
        )


def is_authority(principal: Principal, request: ShareRequest) -> bool:
    return principal.can(Permission.DATA_SHARE_REVIEW, request.provider_department.region_code)


def is_provider_staff(db: Session, principal: Principal, request: ShareRequest) -> bool:
    department = staff_department(db, principal.account_id)
    return (
        department is not None
        and department.id == request.provider_department_id
        and principal.can(Permission.DATA_SHARE_DECIDE, request.provider_department.region_code)
    )


def is_requester_staff(db: Session, principal: Principal, request: ShareRequest) -> bool:
    department = staff_department(db, principal.account_id)
    return (
        department is not None
        and department.id == request.requester_department_id
        and principal.can(Permission.DATA_SHARE_REQUEST)
    )


def review_request(
    db: Session,
    request: ShareRequest,
    *,
    approve: bool,
    reasons: str = "",
    actor: Principal,
    settings: Settings | None = None,
) -> ShareRequest:
    """The data authority's review: pass on to the provider, or refuse with reasons."""
    _expect(request, RequestStatus.REVIEWING)
    if not is_authority(actor, request):
        raise Forbidden(
            "只有数据主管部门可以审核 / only the data authority reviews", code="forbidden"
        )
    reasons = (reasons or "").strip() if approve else _reasons(reasons)
    old = {"status": request.status, "due_at": request.due_at}
    _decision(
        db,
        request,
        step=Step.REVIEW,
        outcome=Outcome.APPROVED if approve else Outcome.REFUSED,
        actor=actor,
        reasons=reasons,
        due_at=request.due_at,
    )
    if approve:
        request.status = RequestStatus.DECIDING.value
        request.due_at = work_calendar(db, request.provider_department, settings).add_working_days(
            utcnow(), DECIDE_WORKING_DAYS
        )
        request.escalated_at = None
    else:
        _close_refused(request)
    db.flush()
    _audit(
        db,
        request,
        actor,
        "review",
        old=old,
        new={"status": request.status, "due_at": request.due_at},
        reason=reasons,
    )
    return request


def decide_request(
    db: Session,
    request: ShareRequest,
    *,
    grant: bool,
    reasons: str = "",
    fields: Sequence[str] | None = None,
    plaintext_fields: Sequence[str] | None = None,
    until: date | None = None,
    actor: Principal,
    settings: Settings | None = None,
) -> ShareRequest:
    """The provider's decision. A grant may narrow the request (fewer fields, fewer
    plaintext fields, an earlier end), never widen it; a refusal needs reasons."""
    settings = _settings(settings)
    _expect(request, RequestStatus.DECIDING)
    if not is_provider_staff(db, actor, request):
        raise Forbidden(
            "只有提供部门可以答复 / only the provider department decides", code="forbidden"
        )
    old = {"status": request.status, "due_at": request.due_at}
    due = request.due_at
    if not grant:
        reasons = _reasons(reasons)
        _decision(
            db,
            request,
            step=Step.DECIDE,
            outcome=Outcome.REFUSED,
            actor=actor,
            reasons=reasons,
            due_at=due,
        )
        _close_refused(request)
        db.flush()
        _audit(
            db, request, actor, "decide", old=old, new={"status": request.status}, reason=reasons
        )
        return request
    chosen = list(request.fields if fields is None else fields)
    plain = list(request.plaintext_fields if plaintext_fields is None else plaintext_fields)
    widened = [f for f in chosen if f not in request.fields] + [
        f for f in plain if f not in request.plaintext_fields
    ]
    if widened:
        raise Invalid(
            f"授权不能超出申请范围 / a grant cannot add to the request: {', '.join(widened)}",
            code="beyond_request",
        )
    chosen, plain = _check_fields(request.dataset, chosen, [f for f in plain if f in chosen])
    if until is not None and not request.period_start <= until <= request.period_end:
        raise Invalid(
            "授权截止日须在申请期限之内 / the grant must end within the requested period",
            code="invalid_period",
        )
    reasons = (reasons or "").strip()
    _decision(
        db,
        request,
        step=Step.DECIDE,
        outcome=Outcome.GRANTED,
        actor=actor,
        reasons=reasons,
        due_at=due,
    )
    _make_grant(
        db,
        request,
        fields=chosen,
        plaintext_fields=plain,
        actor=actor,
        settings=settings,
        until=until,
    )
    _audit(db, request, actor, "decide", old=old, new={"status": request.status}, reason=reasons)
    return request


def dispute_request(
    db: Session,
    request: ShareRequest,
    *,
    statement: str,
    actor: Principal,
    settings: Settings | None = None,
) -> ShareRequest:
    """The requester objects to the provider's refusal; the authority will arbitrate."""
    # Who asks comes before the request's state: another department learns nothing about it.
    if not is_requester_staff(db, actor, request):
        raise Forbidden("只有申请部门可以提出异议 / only the requester disputes", code="forbidden")
    _expect(request, RequestStatus.REFUSED)
    last = request.decisions[-1] if request.decisions else None
    if last is None or last.step != Step.DECIDE.value:
        raise Conflict(
            "只能对提供部门的不予共享答复提出异议 / only a provider's refusal can be disputed",
            code="not_disputable",
        )
    statement = _text(statement, "异议理由")
    request.status = RequestStatus.DISPUTED.value
    request.due_at = work_calendar(db, request.provider_department, settings).add_working_days(
        utcnow(), ARBITRATE_WORKING_DAYS
    )
    request.escalated_at = None
    _decision(
        db, request, step=Step.DISPUTE, outcome=Outcome.DISPUTED, actor=actor, reasons=statement
    )
    db.flush()
    _audit(
        db,
        request,
        actor,
        "dispute",
        old={"status": RequestStatus.REFUSED.value},
        new={"status": request.status},
        reason=statement,
    )
    return request


def arbitrate_dispute(
    db: Session,
    request: ShareRequest,
    *,
    grant: bool,
    reasons: str,
    actor: Principal,
    settings: Settings | None = None,
) -> ShareRequest:
    """The authority settles a dispute: grants as requested, or upholds the refusal. Either
    way it says why."""
    settings = _settings(settings)
    _expect(request, RequestStatus.DISPUTED)
    if not is_authority(actor, request):
        raise Forbidden(
            "只有数据主管部门可以协调 / only the data authority arbitrates", code="forbidden"
        )
    reasons = _reasons(reasons)
    _decision(
        db,
        request,
        step=Step.ARBITRATE,
        outcome=Outcome.GRANTED if grant else Outcome.REFUSED,
        actor=actor,
        reasons=reasons,
        due_at=request.due_at,
    )
    if grant:
        _make_grant(
            db,
            request,
            fields=list(request.fields),
            plaintext_fields=list(request.plaintext_fields),
            actor=actor,
            settings=settings,
        )
    else:
        _close_refused(request)
    db.flush()
    _audit(
        db,
        request,
        actor,
        "arbitrate",
        old={"status": RequestStatus.DISPUTED.value},
        new={"status": request.status},
        reason=reasons,
    )
    return request


def withdraw_request(db: Session, request: ShareRequest, *, actor: Principal) -> ShareRequest:
    if not is_requester_staff(db, actor, request):
        raise Forbidden("只有申请部门可以撤回 / only the requester withdraws", code="forbidden")
    if request.status not in (s.value for s in OPEN_STATUSES):
        raise Conflict("申请已结束 / the request has ended", code="wrong_status")
    old = {"status": request.status}
    request.status = RequestStatus.WITHDRAWN.value
    request.due_at = None
    _decision(db, request, step=Step.WITHDRAW, outcome=Outcome.WITHDRAWN, actor=actor)
    db.flush()
    _audit(db, request, actor, "withdraw", old=old, new={"status": request.status})
    return request


def revoke_grant(db: Session, grant: ShareGrant, *, reason: str, actor: Principal) -> ShareGrant:
    """End a grant at once: the next call on it is refused. The provider or the authority."""
    if grant.revoked_at is not None:
        raise Conflict("授权已撤销 / the grant is already revoked", code="already_revoked")
    department = staff_department(db, actor.account_id)
    region = grant.provider_department.region_code
    provider = (
        department is not None
        and department.id == grant.provider_department_id
        and actor.can(Permission.DATA_SHARE_REVOKE, region)
    )
    if not (provider or actor.can(Permission.DATA_SHARE_REVIEW, region)):
        raise Forbidden(
            "只有提供部门或数据主管部门可以撤销授权 / only the provider or the data authority "
            "revokes a grant",
            code="forbidden",
        )
    reason = _text(reason, "撤销理由")
    grant.revoked_at = utcnow()
    grant.revoked_by_id = actor.account_id
    grant.revoked_by_label = actor.audit_label
    grant.revoke_reason = reason
    db.flush()
    record(
        db,
        actor=actor,
        action="data.share.revoke",
        object_type="data_share_grant",
        object_id=grant.id,
        old={"revoked_at": None},
        new={"revoked_at": grant.revoked_at},
        reason=reason,
        region_code=region,
    )
    return grant


# -- the call log --------------------------------------------------------------------------


def record_call(
    db: Session,
    grant: ShareGrant | None,
    *,
    grant_id: int,
    principal: Principal,
    department_id: int | None,
    end_user: str,
    case_number: str | None,
    fields: Sequence[str],
    row_count: int,
    version_number: int | None,
    after: int | None,
    refusal_code: str | None = None,
) -> ShareCall | None:
    """One call on the sharing API, answered or refused: a call-log row (when the grant
    exists) and an audit event (always)."""
    outcome = CallOutcome.REFUSED if refusal_code else CallOutcome.ANSWERED
    call = None
    if grant is not None:
        call = ShareCall(
            grant_id=grant.id,
            at=utcnow(),
            account_id=principal.account_id,
            account_label=principal.audit_label,
            department_id=department_id,
            end_user=end_user[:200],
            case_number=(case_number or None) and case_number[:32],
            fields=list(fields),
            row_count=row_count,
            version_number=version_number,
            after=after,
            outcome=outcome.value,
            refusal_code=refusal_code,
        )
        db.add(call)
    record(
        db,
        actor=principal,
        action="data.share.call",
        object_type="data_share_grant",
        object_id=grant_id,
        new={
            "department_id": department_id,
            "end_user": end_user[:200],
            "case_number": case_number,
            "fields": list(fields),
            "rows": row_count,
            "version": version_number,
            "after": after,
            "outcome": outcome.value,
            "refusal": refusal_code,
        },
        region_code=grant.provider_department.region_code if grant is not None else None,
    )
    db.flush()
    return call


# -- deadlines -----------------------------------------------------------------------------

STEP_NAMES = {
    RequestStatus.REVIEWING.value: "审核",
    RequestStatus.DECIDING.value: "提供部门答复",
    RequestStatus.DISPUTED.value: "异议协调",
}


def _authority_accounts(db: Session, region_code: str) -> list[int]:
    from gongzhi.org.queries import role_holders_over

    accounts: list[int] = []
    for role, granted in ROLE_PERMISSIONS.items():
        if Permission.DATA_SHARE_REVIEW in granted:
            accounts.extend(role_holders_over(db, role, region_code))
    return list(dict.fromkeys(accounts))


def escalate_overdue(db: Session, *, now: datetime, actor: Actor, limit: int = 200) -> int:
    """Tell the data authority about every request whose current step is past its deadline,
    once per step (``escalated_at`` is set by a compare-and-set, so concurrent runs and later
    runs do nothing twice). Returns how many were escalated."""
    from gongzhi.notify.services import enqueue

    candidates = db.scalars(
        select(ShareRequest)
        .where(
            ShareRequest.status.in_([s.value for s in OPEN_STATUSES]),
            ShareRequest.due_at < now,
            ShareRequest.escalated_at.is_(None),
        )
        .order_by(ShareRequest.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    done = 0
    for request in candidates:
        claimed = db.execute(
            update(ShareRequest)
            .where(
                ShareRequest.id == request.id,
                ShareRequest.status == request.status,
                ShareRequest.escalated_at.is_(None),
            )
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        db.refresh(request)
        step = STEP_NAMES.get(request.status, request.status)
        subject = f"数据共享申请 #{request.id} {step}已超时"
        body = (
            f"{request.requester_department.name} 申请 {request.provider_department.name} 的"
            f"「{request.dataset.name}」，{step}期限为 {request.due_at:%Y-%m-%d %H:%M} UTC，"
            f"已超时。请督办：/data/sharing/requests/{request.id}"
        )
        for account_id in _authority_accounts(db, request.provider_department.region_code):
            enqueue(
                db,
                recipient_account_id=account_id,
                kind="data_share_overdue",
                subject=subject,
                body=body,
            )
        _decision(
            db,
            request,
            step=Step.ESCALATE,
            outcome=Outcome.OVERDUE,
            actor=actor,
            due_at=request.due_at,
        )
        _audit(
            db, request, actor, "escalate", new={"status": request.status, "due_at": request.due_at}
        )
        done += 1
    db.flush()
    return done
