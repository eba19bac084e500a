"""Who may reveal which personal value (docs/privacy.md, "who can reveal what").

A reveal needs all three of: a role that grants ``PERSONAL_DATA_REVEAL`` (or, for an
anonymous reporter, ``ANONYMOUS_CONTACT_REVEAL``), the subject inside that grant's region,
and a purpose (checked by the services). On top of the permission each subject has its own
rule:

* a case's reporter contact: the dispatch centre of the case's region (it calls reporters
  back and completes the record), or a handler of the case's *lead* department (it handles
  the case). Co-handling, summoned and other departments see the contact masked or not at
  all. An anonymous reporter's contact: only the security administrator, on a legal order.
* a person in the register: staff who may look people up (``PERSON_LOOKUP``) and reveal,
  both in the region of the person's household registration.

Not in the rules, on purpose: leaders (dashboards need figures, not phone numbers), the data
officer, the system administrator and the audit administrator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases.models import Case
from gongzhi.people.models import Person
from gongzhi.security.permissions import ROLE_PERMISSIONS, Permission, Role
from gongzhi.security.principal import Principal


@dataclass(frozen=True)
class RevealRight:
    allowed: bool
    role: Role | None = None  # the role the reveal is made under (recorded in the audit event)
    anonymous: bool = False  # an anonymous reporter: only on a legal order


DENIED = RevealRight(False)


def _role_with(
    principal: Principal, permissions: tuple[Permission, ...], region: str | None
) -> Role | None:
    """The first of the principal's roles that holds every one of ``permissions`` over a
    grant covering ``region`` (any grant when the subject has no region)."""
    from gongzhi.regions.codes import is_within

    for grant in sorted(principal.grants, key=lambda g: (g.role, g.region_code)):
        held = ROLE_PERMISSIONS.get(grant.role, frozenset())
        if all(p in held for p in permissions) and (
            region is None or is_within(region, grant.region_code)
        ):
            return grant.role
    return None


def staff_department_id(db: Session, account_id: int) -> int | None:
    from gongzhi.org.models import StaffProfile

    return db.scalar(
        select(StaffProfile.department_id).where(StaffProfile.account_id == account_id)
    )


def case_contact_right(db: Session, principal: Principal, case: Case) -> RevealRight:
    if case.contact is None or principal.account_id == case.reporter_account_id:
        return DENIED  # nothing to reveal, or the reporter's own data (always shown in full)
    region = case.region_code
    if case.anonymous:
        role = _role_with(principal, (Permission.ANONYMOUS_CONTACT_REVEAL,), region)
        return RevealRight(role is not None, role, anonymous=True)
    dispatcher = _role_with(
        principal, (Permission.PERSONAL_DATA_REVEAL, Permission.CASE_TRIAGE), region
    )
    if dispatcher is not None:
        return RevealRight(True, dispatcher)
    handler = _role_with(
        principal, (Permission.PERSONAL_DATA_REVEAL, Permission.CASE_HANDLE), region
    )
    if (
        handler is not None
        and case.lead_department_id is not None
        and staff_department_id(db, principal.account_id) == case.lead_department_id
    ):
        return RevealRight(True, handler)
    return DENIED


def person_right(principal: Principal, person: Person) -> RevealRight:
    region = person.household_region_code
    if region is None:
        return DENIED
    role = _role_with(
        principal, (Permission.PERSON_LOOKUP, Permission.PERSONAL_DATA_REVEAL), region
    )
    return RevealRight(role is not None, role)


def may_look_up(principal: Principal, person: Person) -> bool:
    region = person.household_region_code
    return region is not None and principal.can(Permission.PERSON_LOOKUP, region)
