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
    # cases (诉求/事件)
    CASE_SUBMIT = "cases:case:submit"  # report a problem (citizen, grid worker, operator)
    CASE_READ_OWN = "cases:case:read_own"  # a citizen's own requests
    CASE_READ = "cases:case:read"  # staff, within their region
    CASE_TAKE_CALL = "cases:case:take_call"  # hotline operator enters a call for someone
    CASE_TRIAGE = "cases:case:triage"  # name the lead, re-route, approve extensions, close
    CASE_HANDLE = "cases:case:handle"  # sign, handle, feed back, return (department)
    CASE_VERIFY = "cases:case:verify"  # on-site verification (grid worker)
    CASE_MERGE = "cases:case:merge"  # merge and unmerge duplicates
    CASE_SUMMON = "cases:summons:create"  # 吹哨: summon departments onto a case
    CASE_CHECK_IN = "cases:summons:check_in"  # 报到: a summoned department checks in
    CASE_INDICATORS = "cases:indicator:read"  # 三率 and the other indicators
    CLASSIFIER_TRAIN = "cases:classifier:train"
    OPEN311_KEY_MANAGE = "cases:api_key:manage"
    # data hub
    DATA_CATALOGUE_READ = "data:catalogue:read"  # the catalogue, versions, quality reports
    DATA_CATALOGUE_MANAGE = "data:catalogue:manage"  # create datasets, edit metadata, schemas
    DATA_IMPORT = "data:dataset:import"  # upload a file as a new version
    # the master index: persons and legal entities linked across datasets (personal data)
    DATA_MASTER_INDEX_READ = "data:master_index:read"
    DATA_MASTER_INDEX_BUILD = "data:master_index:build"
    # findings: where the linked datasets contradict each other; confirm, dismiss, make a case
    DATA_FINDING_READ = "data:finding:read"
    DATA_FINDING_DECIDE = "data:finding:decide"
    # sharing between departments (docs/sharing.md): a department requests, the data
    # authority (大数据局) reviews and arbitrates, the provider decides, grants are revocable
    DATA_SHARE_READ = "data:share:read"  # requests and grants the caller is party to
    DATA_SHARE_REQUEST = "data:share_request:create"  # request, dispute, withdraw
    DATA_SHARE_REVIEW = "data:share_request:review"  # the authority: review and arbitrate
    DATA_SHARE_DECIDE = "data:share_request:decide"  # the provider department decides
    DATA_SHARE_REVOKE = "data:share_grant:revoke"  # provider or authority revokes a grant
    DATA_SHARE_CALL = "data:share:call"  # the sharing API, within the department's grants
    # privacy (docs/privacy.md): reveal masked personal data for a stated purpose, look up a
    # person, a citizen's own "who used my data" list and PIPL requests
    PERSONAL_DATA_REVEAL = "privacy:personal_data:reveal"
    # The contact of an anonymous reporter, only on a legal order (stronger than the above).
    ANONYMOUS_CONTACT_REVEAL = "privacy:anonymous_contact:reveal"
    PERSON_LOOKUP = "privacy:person:lookup"
    DATA_USE_READ_OWN = "privacy:data_use:read_own"
    PRIVACY_REQUEST_SUBMIT = "privacy:request:submit"
    PRIVACY_REQUEST_HANDLE = "privacy:request:handle"
    # notifications
    NOTIFICATION_READ_OWN = "notify:notification:read_own"
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
    # A department's data steward (部门数据专员): requests data for the department, decides
    # on requests for its data, and holds the department's token for the sharing API.
    DATA_STEWARD = "data_steward"
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
        P.CASE_READ,
        P.NOTIFICATION_READ_OWN,
    }
)

# The three administrators (三员分立, GB/T 22239-2019 level 3) run the platform, not its
# business: none of them reads cases by virtue of the role (no CASE_READ), so a reporter's
# contact and the description of a problem are out of their reach. The system administrator
# manages accounts and configuration; the security administrator grants roles and, on a legal
# order only, opens an anonymous reporter's contact (privacy.queries.access_case_for_reveal:
# the contact, never the rest of the case); the audit administrator reads the audit log, which
# holds no personal value in the clear. docs/security.md, "The three administrators".
_ADMIN_BASE = _STAFF_BASE - {P.CASE_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset(
        {
            P.CITIZEN_HOME,
            P.OWN_ACCOUNT,
            P.ADDRESS_RESOLVE,
            P.CASE_SUBMIT,
            P.CASE_READ_OWN,
            P.NOTIFICATION_READ_OWN,
            P.DATA_USE_READ_OWN,
            P.PRIVACY_REQUEST_SUBMIT,
        }
    ),
    Role.GRID_WORKER: _STAFF_BASE | {P.CASE_SUBMIT, P.CASE_VERIFY},
    # Reveal (privacy.policy): a township clerk verifies the identity of residents registered
    # in the township; a handler reveals the contact of a case its department leads; the
    # dispatcher calls reporters back and verifies callers. Leaders, data officers and the
    # three administrators see personal data masked only.
    Role.TOWNSHIP_CLERK: _STAFF_BASE
    | {
        P.CASE_SUBMIT,
        P.CASE_SUMMON,
        P.CASE_INDICATORS,
        P.PERSON_LOOKUP,
        P.PERSONAL_DATA_REVEAL,
    },
    Role.DEPARTMENT_HANDLER: _STAFF_BASE | {P.CASE_HANDLE, P.CASE_CHECK_IN, P.PERSONAL_DATA_REVEAL},
    Role.DISPATCHER: _STAFF_BASE
    | {
        P.CASE_SUBMIT,
        P.CASE_TAKE_CALL,
        P.CASE_TRIAGE,
        P.CASE_MERGE,
        P.CASE_INDICATORS,
        P.PERSON_LOOKUP,
        P.PERSONAL_DATA_REVEAL,
    },
    Role.LEADER: _STAFF_BASE | {P.CASE_INDICATORS, P.DATA_CATALOGUE_READ},
    Role.DATA_OFFICER: _STAFF_BASE
    | {
        P.REGION_IMPORT,
        P.GRID_MANAGE,
        P.CASE_INDICATORS,
        P.CLASSIFIER_TRAIN,
        P.DATA_CATALOGUE_READ,
        P.DATA_CATALOGUE_MANAGE,
        P.DATA_IMPORT,
        P.DATA_MASTER_INDEX_READ,
        P.DATA_MASTER_INDEX_BUILD,
        P.DATA_FINDING_READ,
        P.DATA_FINDING_DECIDE,
        # The data officer works for the data authority (大数据局): reviews requests,
        # arbitrates disputes, revokes grants.
        P.DATA_SHARE_READ,
        P.DATA_SHARE_REVIEW,
        P.DATA_SHARE_REVOKE,
    },
    Role.DATA_STEWARD: _STAFF_BASE
    | {
        P.DATA_SHARE_READ,
        P.DATA_SHARE_REQUEST,
        P.DATA_SHARE_DECIDE,
        P.DATA_SHARE_REVOKE,
        P.DATA_SHARE_CALL,
    },
    # System administrator: configuration, organisation and accounts; never audit records.
    Role.SYSTEM_ADMIN: _ADMIN_BASE
    | {
        P.REGION_IMPORT,
        P.GRID_MANAGE,
        P.DEPARTMENT_MANAGE,
        P.STAFF_MANAGE,
        P.RESPONSIBILITY_IMPORT,
        P.CALENDAR_MANAGE,
        P.ACCOUNT_MANAGE,
        P.OPEN311_KEY_MANAGE,
        P.CLASSIFIER_TRAIN,
    },
    # Security administrator: who holds which role; no business data changes. Also the
    # personal-information protection officer (PIPL Art. 52): answers citizens' PIPL
    # requests and alone may open an anonymous reporter's contact, on a legal order.
    Role.SECURITY_ADMIN: _ADMIN_BASE
    | {P.ROLE_GRANT, P.PRIVACY_REQUEST_HANDLE, P.ANONYMOUS_CONTACT_REVEAL},
    # Audit administrator: reads everything in the audit log, changes nothing.
    Role.AUDIT_ADMIN: _ADMIN_BASE | {P.AUDIT_READ},
}
