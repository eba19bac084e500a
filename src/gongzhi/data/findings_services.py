"""A data officer's decisions on a finding: confirm it, dismiss it (with a reason), or turn it
into a case for verification through the cases domain's intake. Each writes its audit event
in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.config import Settings
from gongzhi.data.findings_models import Finding, FindingKind, FindingStatus
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid

# Statuses a decision may start from.
UNDECIDED = (FindingStatus.OPEN.value, FindingStatus.CONFIRMED.value)
# The responsibility list's matter for a person's benefits (困难群众救助, 县民政局 leads); a
# company's registrations go to triage, where the dispatcher picks the office.
PERSON_MATTER = "XC-067"
MAX_REASON = 2000

CASE_TEXT = {
    FindingKind.ELIGIBLE_MISSING: "一户家庭只在低保和防返贫监测两个名单中的一个上",
    FindingKind.DECEASED_ON_LIST: "户籍登记为死亡的人员仍在救助名单上",
    FindingKind.TWO_ADDRESSES: "同一人在不同部门登记的居住地不一致",
    FindingKind.ENTITY_CONFLICT: "同一法人在不同登记中的住所、法定代表人或注册资本不一致",
}


def _require_undecided(finding: Finding) -> None:
    if finding.status not in UNDECIDED:
        raise Conflict(
            "这条比对发现已处理或数据已一致 / the finding is already decided or resolved",
            code="finding_decided",
        )


def _decide(
    db: Session,
    finding: Finding,
    status: FindingStatus,
    *,
    action: str,
    actor: Actor,
    reason: str | None,
    new: dict[str, str] | None = None,
) -> Finding:
    """Record the decision on the finding and its audit event (``new``: what else the event
    says of the decision, e.g. the case it became)."""
    old = finding.status
    finding.status = status.value
    finding.decided_at = utcnow()
    finding.decided_by_id = actor.audit_id
    finding.decided_by_label = actor.audit_label
    finding.reason = reason
    record(
        db,
        actor=actor,
        action=action,
        object_type="data_finding",
        object_id=finding.id,
        old={"status": old},
        new={"status": finding.status, **(new or {})},
        reason=reason,
        region_code=finding.region_code,
    )
    db.flush()
    return finding


def confirm_finding(
    db: Session, finding: Finding, *, actor: Actor, note: str | None = None
) -> Finding:
    """The officer checked the rows: the departments do contradict each other."""
    if finding.status != FindingStatus.OPEN.value:
        _require_undecided(finding)
        raise Conflict("已确认 / already confirmed", code="finding_confirmed")
    note = (note or "").strip()[:MAX_REASON] or None
    return _decide(
        db,
        finding,
        FindingStatus.CONFIRMED,
        action="data.finding.confirm",
        actor=actor,
        reason=note,
    )


def dismiss_finding(db: Session, finding: Finding, *, actor: Actor, reason: str) -> Finding:
    """Not a contradiction (e.g. two persons the index joined, a move already reported); a
    later run that finds it again leaves it dismissed."""
    _require_undecided(finding)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请说明排除的理由 / give the reason for dismissing", code="reason_required")
    return _decide(
        db,
        finding,
        FindingStatus.DISMISSED,
        action="data.finding.dismiss",
        actor=actor,
        reason=reason[:MAX_REASON],
    )


def finding_to_case(
    db: Session,
    finding: Finding,
    *,
    actor: Actor,
    note: str | None = None,
    settings: Settings | None = None,
) -> Finding:
    """A case for verification on the spot, taken in through the cases domain's intake.

    The description names the finding's number and kind, never a personal value: the
    handler opens the finding's rows through the pages their own permissions allow. The
    place is the subject's village (or township) by name, so intake routes it there."""
    from gongzhi.cases import services as cases
    from gongzhi.cases.models import Channel
    from gongzhi.regions.queries import path_names

    _require_undecided(finding)
    note = (note or "").strip()[:MAX_REASON] or None
    kind = FindingKind(finding.kind)
    description = f"数据比对发现 {finding.number}：{CASE_TEXT[kind]}，请现场核实并反馈。" + (
        f"\n{note}" if note else ""
    )
    address = "".join(path_names(db, finding.region_code)) if finding.region_code else None
    case = cases.submit_case(
        db,
        channel=Channel.WEB,
        description=description,
        actor=actor,
        address_text=address or None,
        matter_code=None if kind == FindingKind.ENTITY_CONFLICT else PERSON_MATTER,
        attributes={"finding": finding.number},
        settings=settings,
    )
    finding.case_id = case.id
    finding.case_number = case.number
    return _decide(
        db,
        finding,
        FindingStatus.TURNED_INTO_CASE,
        action="data.finding.to_case",
        actor=actor,
        reason=note,
        new={"case": case.number},
    )
