"""Reads of data sharing, through ``access_*`` helpers: a request or grant is visible to the
staff of its requesting and providing departments and to the data authority over the
provider's region; to anyone else it does not exist (NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from gongzhi.data.models import Dataset, SharingType
from gongzhi.data.sharing.models import (
    RequestStatus,
    ShareCall,
    ShareGrant,
    ShareRequest,
)
from gongzhi.data.sharing.services import staff_department
from gongzhi.db import utcnow
from gongzhi.errors import NotFound
from gongzhi.org.models import Department
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

PAGE_SIZE = 50


def _provider_in(principal: Principal, permission: Permission) -> ColumnElement[bool]:
    clauses = []
    for region in principal.regions_for(permission):
        low, high = subtree_bounds(region)
        clauses.append(Department.region_code.between(low, high))
    return or_(*clauses) if clauses else false()


def _party_filter(db: Session, principal: Principal, model: Any) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    department = staff_department(db, principal.account_id)
    if department is not None:
        clauses.append(model.requester_department_id == department.id)
        clauses.append(model.provider_department_id == department.id)
    if principal.can(Permission.DATA_SHARE_REVIEW):
        provider_ids = select(Department.id).where(
            _provider_in(principal, Permission.DATA_SHARE_REVIEW)
        )
        clauses.append(model.provider_department_id.in_(provider_ids))
    return or_(*clauses) if clauses else false()


def access_request(db: Session, principal: Principal, request_id: int) -> ShareRequest:
    found = db.scalar(
        select(ShareRequest)
        .where(ShareRequest.id == request_id, _party_filter(db, principal, ShareRequest))
        .options(selectinload(ShareRequest.decisions), joinedload(ShareRequest.dataset))
    )
    if found is None:
        raise NotFound("没有这个共享申请 / no such sharing request", code="not_found")
    return found


def access_grant(db: Session, principal: Principal, grant_id: int) -> ShareGrant:
    found = db.scalar(
        select(ShareGrant).where(
            ShareGrant.id == grant_id, _party_filter(db, principal, ShareGrant)
        )
    )
    if found is None:
        raise NotFound("没有这个授权 / no such grant", code="not_found")
    return found


def grant_for_call(db: Session, grant_id: int) -> ShareGrant | None:
    """The grant a sharing-API call names, unscoped: the call's checks decide (and log) what
    the caller may do with it (delivery.check_call)."""
    return db.get(ShareGrant, grant_id)


def shareable_datasets(db: Session, requester: Department | None) -> list[Dataset]:
    """Datasets a department may ask for: the one catalogue (Decree 809) minus what is not
    shared and minus its own."""
    query = (
        select(Dataset)
        .where(Dataset.sharing_type != SharingType.NONE.value)
        .options(joinedload(Dataset.department))
        .order_by(Dataset.code)
    )
    if requester is not None:
        query = query.where(Dataset.department_id != requester.id)
    return list(db.scalars(query))


def dataset_by_code(db: Session, code: str) -> Dataset:
    dataset = db.scalar(
        select(Dataset).where(Dataset.code == code).options(joinedload(Dataset.department))
    )
    if dataset is None:
        raise NotFound("没有这个数据集 / no such dataset", code="not_found")
    return dataset


def department_requests(db: Session, department: Department) -> list[ShareRequest]:
    """Requests the department made, newest first."""
    return list(
        db.scalars(
            select(ShareRequest)
            .where(ShareRequest.requester_department_id == department.id)
            .options(joinedload(ShareRequest.dataset))
            .order_by(ShareRequest.id.desc())
            .limit(200)
        )
    )


def review_queue(db: Session, principal: Principal) -> list[ShareRequest]:
    """Requests waiting for the authority (review or dispute), soonest deadline first."""
    return list(
        db.scalars(
            select(ShareRequest)
            .join(Department, Department.id == ShareRequest.provider_department_id)
            .where(
                ShareRequest.status.in_(
                    [RequestStatus.REVIEWING.value, RequestStatus.DISPUTED.value]
                ),
                _provider_in(principal, Permission.DATA_SHARE_REVIEW),
            )
            .options(joinedload(ShareRequest.dataset))
            .order_by(ShareRequest.due_at, ShareRequest.id)
        )
    )


def decision_queue(db: Session, principal: Principal) -> list[ShareRequest]:
    """Requests waiting for the principal's department to decide as provider."""
    department = staff_department(db, principal.account_id)
    if department is None or not principal.can(
        Permission.DATA_SHARE_DECIDE, department.region_code
    ):
        return []
    return list(
        db.scalars(
            select(ShareRequest)
            .where(
                ShareRequest.status == RequestStatus.DECIDING.value,
                ShareRequest.provider_department_id == department.id,
            )
            .options(joinedload(ShareRequest.dataset))
            .order_by(ShareRequest.due_at, ShareRequest.id)
        )
    )


@dataclass
class GrantLists:
    received: list[ShareGrant]  # grants to the principal's department
    given: list[ShareGrant]  # grants on the department's data, or in the authority's region


def grants_for(db: Session, principal: Principal) -> GrantLists:
    department = staff_department(db, principal.account_id)
    base = select(ShareGrant).options(joinedload(ShareGrant.dataset)).order_by(ShareGrant.id.desc())
    received: list[ShareGrant] = []
    if department is not None:
        received = list(
            db.scalars(base.where(ShareGrant.requester_department_id == department.id).limit(500))
        )
    given_filter: list[ColumnElement[bool]] = []
    if department is not None:
        given_filter.append(ShareGrant.provider_department_id == department.id)
    if principal.can(Permission.DATA_SHARE_REVIEW):
        given_filter.append(
            ShareGrant.provider_department_id.in_(
                select(Department.id).where(_provider_in(principal, Permission.DATA_SHARE_REVIEW))
            )
        )
    given = list(db.scalars(base.where(or_(*given_filter)).limit(500))) if given_filter else []
    received_ids = {g.id for g in received}
    return GrantLists(received, [g for g in given if g.id not in received_ids])


def calls(db: Session, grant: ShareGrant, page: int = 1) -> tuple[list[ShareCall], bool]:
    """One page of the grant's call log, newest first; and whether more follow."""
    page = max(1, page)
    rows = list(
        db.scalars(
            select(ShareCall)
            .where(ShareCall.grant_id == grant.id)
            .options(joinedload(ShareCall.department))
            .order_by(ShareCall.at.desc(), ShareCall.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def call_count(db: Session, grant: ShareGrant) -> int:
    return int(
        db.scalar(select(func.count()).select_from(ShareCall).where(ShareCall.grant_id == grant.id))
        or 0
    )


def is_overdue(request: ShareRequest) -> bool:
    return request.due_at is not None and request.due_at < utcnow()
