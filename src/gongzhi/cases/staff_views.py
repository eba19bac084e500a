"""What the staff pages show of duplicates and 吹哨报到, as plain dicts for the templates.

``staff_pages`` owns the routes; this module turns the services' objects into rows with
their words already translated (a reason code, a distance, a lateness in hours and
minutes), so that the templates stay free of arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases import duplicates, queries, summons
from gongzhi.cases.models import Case, CaseStatus
from gongzhi.config import Settings
from gongzhi.org.models import Department, DepartmentKind
from gongzhi.org.queries import list_departments
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, translator

SUMMONS_REASON_LABELS = {
    summons.SummonsReason.BEYOND_POWER: N_("超出乡镇职权"),
    summons.SummonsReason.NEEDS_ENFORCEMENT: N_("需要执法力量"),
    summons.SummonsReason.EMERGENCY: N_("突发紧急"),
}
CHECK_IN_LABELS = {
    summons.CheckInState.WAITING: N_("待报到"),
    summons.CheckInState.MISSING: N_("超时未报到"),
    summons.CheckInState.ON_TIME: N_("按时报到"),
    summons.CheckInState.LATE: N_("迟到报到"),
}
# One line after an action, chosen by a fixed key in the redirect (never text from the URL).
NOTICES = {
    "merged": N_("已合并：本案按重复件结案，报告人转为主案件的附议人。"),
    "unmerged": N_("已撤销合并，案件恢复办理。"),
    "summoned": N_("已吹哨，被召集部门会在待办中看到召集和报到时限。"),
    "checked_in": N_("已报到。"),
}


def notice(request: Request) -> str | None:
    key = request.query_params.get("notice")
    if key not in NOTICES:
        return None
    return translator(request)(NOTICES[key])


def hours_minutes(seconds: float) -> tuple[int, int]:
    minutes = int(abs(seconds)) // 60
    return minutes // 60, minutes % 60


# -- duplicates ------------------------------------------------------------------------------


def may_merge(principal: Principal, case: Case) -> bool:
    if not principal.can(Permission.CASE_MERGE):
        return False
    return case.region_code is None or principal.can(Permission.CASE_MERGE, case.region_code)


def _reason_words(request: Request, found: duplicates.DuplicateSuggestion) -> list[str]:
    _ = translator(request)
    words = []
    for reason in found.reasons:
        if reason == "same_category":
            words.append(_("同一事项类别"))
        elif reason == "within_distance" and found.distance_m is not None:
            words.append(_("相距 %(m)s 米", m=round(found.distance_m)))
        elif reason == "same_village":
            words.append(_("同一村（社区）"))
        elif reason == "recent":
            words.append(_("相隔 %(d)s 天", d=round(found.days_apart, 1)))
        elif reason == "similar_text":
            words.append(_("描述相似度 %(p)s%%", p=round(found.text_similarity * 100)))
    return words


def duplicate_suggestions(
    request: Request, db: Session, principal: Principal, case: Case, *, limit: int = 3
) -> list[dict[str, Any]]:
    """Open cases that are probably the same problem as ``case``, within the viewer's scope,
    best first, with the score and the reasons in words."""
    if case.status == CaseStatus.CLOSED:
        return []
    found = duplicates.suggest_duplicates(
        db, case, limit=limit, scope=queries.scope_filter(db, principal)
    )
    return [
        {
            "case": s.case,
            "score": round(s.score * 100),
            "reasons": _reason_words(request, s),
            "can_merge": may_merge(principal, s.case),
        }
        for s in found
    ]


def merge_context(db: Session, principal: Principal, case: Case) -> dict[str, Any]:
    """The case page's part about duplicates: what it is merged into, what was merged into
    it (history included), how many back it."""
    into = duplicates.merged_into(db, case)
    return {
        "merged_into": into,
        "merged_here": duplicates.merges_into(db, case),
        "supporters": duplicates.support_count(db, case),
        "can_merge": may_merge(principal, case),
    }


# -- 吹哨报到 ---------------------------------------------------------------------------------


def may_summon(principal: Principal, case: Case) -> bool:
    return (
        case.status != CaseStatus.CLOSED
        and case.region_code is not None
        and principal.can(Permission.CASE_SUMMON, case.region_code)
    )


def department_entry(request: Request, entry: Any, now: datetime) -> dict[str, Any]:
    """One summoned department's standing, in words: waiting (time left), missing (how long
    past the deadline), on time, or late (by how much)."""
    _ = translator(request)
    state = summons.check_in_state(entry, now)
    if state == summons.CheckInState.WAITING:
        h, m = hours_minutes((entry.due_at - now).total_seconds())
        detail = _("剩余 %(h)s 小时 %(m)s 分", h=h, m=m)
    elif state == summons.CheckInState.MISSING:
        h, m = hours_minutes((now - entry.due_at).total_seconds())
        detail = _("已超过时限 %(h)s 小时 %(m)s 分", h=h, m=m)
    elif state == summons.CheckInState.LATE:
        h, m = hours_minutes((entry.checked_in_at - entry.due_at).total_seconds())
        detail = _("迟到 %(h)s 小时 %(m)s 分", h=h, m=m)
    else:
        detail = ""
    return {
        "entry": entry,
        "state": state.value,
        "state_label": _(CHECK_IN_LABELS[state]),
        "detail": detail,
        "alert": state in (summons.CheckInState.MISSING, summons.CheckInState.LATE),
    }


def case_summons(request: Request, db: Session, case: Case, now: datetime) -> list[dict[str, Any]]:
    _ = translator(request)
    rows = summons.case_summons(db, case)
    ids = {d.department_id for s in rows for d in s.departments}
    names = {
        i: name
        for i, name in db.execute(
            select(Department.id, Department.name).where(Department.id.in_(ids or {0}))
        )
    }
    out = []
    for whistle in rows:
        reason = summons.SummonsReason(whistle.reason)
        out.append(
            {
                "summons": whistle,
                "reason": _(SUMMONS_REASON_LABELS[reason]),
                "departments": [
                    {
                        **department_entry(request, d, now),
                        "name": names.get(d.department_id, str(d.department_id)),
                    }
                    for d in whistle.departments
                ],
            }
        )
    return out


def summon_form(request: Request, db: Session, case: Case, settings: Settings) -> dict[str, Any]:
    """Choices for the 吹哨 form: the county departments serving the case's place, the
    reasons, and the default time limits from the settings (in words for the hint)."""
    _ = translator(request)
    window, hours = summons.default_limits(settings)
    departments = list_departments(db, region_code=case.region_code, kind=DepartmentKind.FUNCTIONAL)
    return {
        "departments": departments,
        "reasons": [(r.value, _(label)) for r, label in SUMMONS_REASON_LABELS.items()],
        "emergency_minutes": int(window.total_seconds() // 60),
        "working_hours": hours,
        "is_emergency_case": summons.is_emergency(case, ""),
    }


def pending_summons(
    request: Request, db: Session, department_id: int, now: datetime
) -> list[dict[str, Any]]:
    """A department's unanswered summons for its inbox, the most urgent first."""
    _ = translator(request)
    rows = []
    for item in summons.pending_for_department(db, department_id):
        reason = summons.SummonsReason(item.summons.reason)
        rows.append(
            {
                **department_entry(request, item.entry, now),
                "summons": item.summons,
                "case_number": item.case_number,
                "reason": _(SUMMONS_REASON_LABELS[reason]),
            }
        )
    return rows
