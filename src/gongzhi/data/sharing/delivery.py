"""The sharing API's answer: only the granted fields of the dataset's latest version,
masked per classification, a page at a time, each call logged.

Masking rule (docs/sharing.md): public and internal fields are returned as stored; a field
classified sensitive or above is masked by the Chinese conventions (ID number 330106****…123X,
name 张*, phone 138****1999, address cut after the township, birth date 1980-**-**, other
values hidden) unless the grant lists it in ``plaintext_fields`` — which only a provider's
decision or the authority's arbitration can do, for the purpose stated in the request.
Important and core fields are never given in plaintext.

Every call carries the end user (``X-End-User``); a call that returns any sensitive field,
masked or not, also carries the number of the case that justifies it (``X-Case-Number``),
which must exist and belong to the calling department (it leads the case or has it
assigned). Anything outside the grant is refused before a row is read; the refusal is
logged too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongzhi.crypto import CryptoProvider
from gongzhi.data.models import DatasetRow, DatasetVersion, is_sealed
from gongzhi.data.queries import row_values
from gongzhi.data.sharing.models import ShareGrant
from gongzhi.data.sharing.services import record_call, staff_department
from gongzhi.db import utcnow
from gongzhi.errors import Forbidden
from gongzhi.privacy.classification import MASKERS, Kind
from gongzhi.security.principal import Principal

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# Which masking convention a dataset field takes, from its standardisation hook or role.
_KIND_BY_HOOK = {
    "id_number": Kind.ID_NUMBER,
    "uscc": Kind.ID_NUMBER,  # 18 characters as well: first 6, last 4
    "person_name": Kind.NAME,
    "phone": Kind.PHONE,
    "address": Kind.ADDRESS,
}
_KIND_BY_ROLE = {"birth_date": Kind.BIRTH_DATE}


def mask_for(field: dict[str, Any]) -> Callable[[str | None], str]:
    kind = _KIND_BY_HOOK.get(field.get("standardise", "")) or _KIND_BY_ROLE.get(
        field.get("role", ""), Kind.TEXT
    )
    return MASKERS[kind]


class ShareRefused(Forbidden):
    """A call outside its grant: 403, nothing returned, the refusal logged."""


@dataclass
class SharePage:
    grant: ShareGrant
    version: int | None
    fields: list[str]
    masked: list[str]
    rows: list[dict[str, Any]]
    total: int
    next_after: int | None


def _refuse(code: str, message: str) -> ShareRefused:
    return ShareRefused(message, code=code)


def _case_belongs_to(db: Session, number: str, department_id: int) -> bool:
    from gongzhi.cases.models import Case, CaseAssignment

    assigned = select(CaseAssignment.case_id).where(
        CaseAssignment.department_id == department_id, CaseAssignment.active.is_(True)
    )
    found = db.scalar(
        select(Case.id).where(
            Case.number == number,
            or_(Case.lead_department_id == department_id, Case.id.in_(assigned)),
        )
    )
    return found is not None


@dataclass
class CallContext:
    """What a call says about itself (headers and query), for the checks and the log."""

    grant_id: int
    end_user: str
    case_number: str | None
    fields: Sequence[str] | None  # None: every granted field
    after: int | None
    limit: int


def check_call(
    db: Session, grant: ShareGrant | None, call: CallContext, principal: Principal
) -> tuple[ShareGrant, int, list[str]]:
    """Refuse anything outside the grant; return the grant, the calling department and the
    fields to return."""
    if grant is None:
        raise _refuse("no_grant", "没有这个授权 / no such grant")
    department = staff_department(db, principal.account_id)
    if department is None or department.id != grant.requester_department_id:
        raise _refuse(
            "not_your_grant", "该授权不属于调用部门 / this grant belongs to another department"
        )
    state = grant.state_at(utcnow())
    if state == "revoked":
        raise _refuse("grant_revoked", "授权已撤销 / the grant has been revoked")
    if state == "expired":
        raise _refuse("grant_expired", "授权已过期 / the grant has expired")
    if state == "pending":
        raise _refuse("grant_not_started", "授权尚未生效 / the grant has not started yet")
    if not call.end_user.strip():
        raise _refuse(
            "end_user_required", "请在 X-End-User 中说明最终使用人 / X-End-User is required"
        )
    wanted = list(grant.fields) if call.fields is None else list(dict.fromkeys(call.fields))
    outside = [f for f in wanted if f not in grant.fields]
    if outside or not wanted:
        raise _refuse(
            "field_not_granted",
            f"字段未获授权 / fields not granted: {', '.join(outside) or '—'}",
        )
    levels = {
        f["name"]: f.get("classification", "internal") for f in grant.dataset.table_schema["fields"]
    }
    sensitive = [f for f in wanted if is_sealed(levels.get(f, "sensitive"))]
    if sensitive and not (call.case_number or "").strip():
        raise _refuse(
            "case_number_required",
            "返回敏感字段须在 X-Case-Number 中给出办理事项的案件编号 / sensitive fields need "
            "the justifying case number in X-Case-Number",
        )
    if call.case_number and not _case_belongs_to(db, call.case_number.strip(), department.id):
        raise _refuse(
            "case_not_yours",
            "案件编号不存在或不属于调用部门 / the case does not exist or is not the calling "
            "department's",
        )
    return grant, department.id, wanted


def latest_version(db: Session, dataset_id: int) -> DatasetVersion | None:
    return db.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    )


def share_rows(
    db: Session,
    grant: ShareGrant | None,
    call: CallContext,
    *,
    principal: Principal,
    provider: CryptoProvider,
) -> SharePage:
    """Check the call, read one page of the latest version, mask, and log the call."""
    checked, department_id, wanted = check_call(db, grant, call, principal)
    grant = checked
    limit = max(1, min(call.limit, MAX_LIMIT))
    schema_fields = {f["name"]: f for f in grant.dataset.table_schema["fields"]}
    version = latest_version(db, grant.dataset_id)
    rows: list[dict[str, Any]] = []
    masked: list[str] = []
    next_after = None
    if version is not None:
        # Mask by the classification the rows were read with (the version's own schema).
        version_fields = {f["name"]: f for f in version.table_schema["fields"]}
        plaintext = set(grant.plaintext_fields)
        maskers: dict[str, Callable[[str | None], str] | None] = {}
        for name in wanted:
            spec = version_fields.get(name) or schema_fields.get(name) or {}
            level = spec.get("classification", "sensitive")
            sealed = is_sealed(level)
            if sealed and name not in plaintext:
                maskers[name] = mask_for(spec)
                masked.append(name)
            else:
                maskers[name] = None
        needs_open = any(
            is_sealed((version_fields.get(n) or {}).get("classification", "internal"))
            for n in wanted
        )
        query = (
            select(DatasetRow)
            .where(DatasetRow.version_id == version.id)
            .order_by(DatasetRow.id)
            .limit(limit + 1)
        )
        if call.after is not None:
            query = query.where(DatasetRow.id > call.after)
        found = list(db.scalars(query))
        page, more = found[:limit], len(found) > limit
        for row in page:
            values = row_values(provider, version.id, row) if needs_open else row.payload
            out: dict[str, Any] = {}
            for name in wanted:
                value = values.get(name)
                mask = maskers[name]
                if mask is not None and value is not None and value != "":
                    value = mask(str(value))
                out[name] = value
            rows.append(out)
        if more and page:
            next_after = page[-1].id
    record_call(
        db,
        grant,
        grant_id=grant.id,
        principal=principal,
        department_id=department_id,
        end_user=call.end_user.strip(),
        case_number=(call.case_number or "").strip() or None,
        fields=wanted,
        row_count=len(rows),
        version_number=version.number if version else None,
        after=call.after,
    )
    return SharePage(
        grant=grant,
        version=version.number if version else None,
        fields=wanted,
        masked=masked,
        rows=rows,
        total=version.row_count if version else 0,
        next_after=next_after,
    )


def record_refusal(
    db: Session,
    grant: ShareGrant | None,
    call: CallContext,
    refusal: ShareRefused,
    *,
    principal: Principal,
) -> None:
    department = staff_department(db, principal.account_id)
    record_call(
        db,
        grant,
        grant_id=call.grant_id,
        principal=principal,
        department_id=department.id if department else None,
        end_user=call.end_user.strip(),
        case_number=(call.case_number or "").strip() or None,
        fields=list(call.fields or []),
        row_count=0,
        version_number=None,
        after=call.after,
        refusal_code=refusal.code,
    )
