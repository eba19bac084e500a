"""Permissions (``domain:resource:action``) and the roles that hold them.

Deny by default: a route declares exactly one permission (or is explicitly public), and a
principal may use it only if one of its role grants carries that permission and, where the
object has a region, the grant's region subtree contains it.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    # regions
    REGION_READ = "regions:region:read"
    REGION_IMPORT = "regions:region:import"
    GRID_MANAGE = "regions:grid:manage"
    ADDRESS_RESOLVE = "regions:address:resolve"
    # org
    DEPARTMENT_READ = "org:department:read"
    DEPARTMENT_MANAGE = "org:department:manage"
    STAFF_READ = "org:staff:read"
    STAFF_MANAGE = "org:staff:manage"
    RESPONSIBILITY_READ = "org:responsibility:read"
    RESPONSIBILITY_IMPORT = "org:responsibility:import"
    CALENDAR_READ = "org:calendar:read"
    CALENDAR_MANAGE = "org:calendar:manage"
    # security (accounts)
    ACCOUNT_MANAGE = "security:account:manage"
    ROLE_GRANT = "security:role:grant"
    OWN_ACCOUNT = "security:own_account:manage"
    # audit
    AUDIT_READ = "audit:event:read"
    # web shell
    STAFF_HOME = "web:staff_home:view"
    CITIZEN_HOME = "web:citizen_home:view"


class Role(StrEnum):
    CITIZEN = "citizen"
    GRID_WORKER = "grid_worker"
    TOWNSHIP_CLERK = "township_clerk"
    DEPARTMENT_HANDLER = "department_handler"
    DISPATCHER = "dispatcher"
    LEADER = "leader"
    DATA_OFFICER = "data_officer"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"


# The three separated administrators (三员分立) must sign in with a second factor.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}

P = Permission
_STAFF_BASE = frozenset(
    {
        P.REGION_READ,
        P.ADDRESS_RESOLVE,
        P.DEPARTMENT_READ,
        P.STAFF_READ,
        P.RESPONSIBILITY_READ,
        P.CALENDAR_READ,
        P.OWN_ACCOUNT,
        P.STAFF_HOME,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset({P.CITIZEN_HOME, P.OWN_ACCOUNT, P.ADDRESS_RESOLVE}),
    Role.GRID_WORKER: _STAFF_BASE,
    Role.TOWNSHIP_CLERK: _STAFF_BASE,
    Role.DEPARTMENT_HANDLER: _STAFF_BASE,
    Role.DISPATCHER: _STAFF_BASE,
    Role.LEADER: _STAFF_BASE,
    Role.DATA_OFFICER: _STAFF_BASE | {P.REGION_IMPORT, P.GRID_MANAGE},
    # System administrator: configuration, organisation and accounts; never audit records.
    Role.SYSTEM_ADMIN: _STAFF_BASE
    | {
        P.REGION_IMPORT,
        P.GRID_MANAGE,
        P.DEPARTMENT_MANAGE,
        P.STAFF_MANAGE,
        P.RESPONSIBILITY_IMPORT,
        P.CALENDAR_MANAGE,
        P.ACCOUNT_MANAGE,
    },
    # Security administrator: who holds which role; no business data changes.
    Role.SECURITY_ADMIN: _STAFF_BASE | {P.ROLE_GRANT},
    # Audit administrator: reads everything in the audit log, changes nothing.
    Role.AUDIT_ADMIN: _STAFF_BASE | {P.AUDIT_READ},
}
