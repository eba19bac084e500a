"""The authorisation matrix as data: for every route of the app, the request the matrix sends
and the outcome each persona must get.

Expectations come from the platform's rules (docs/*.md, DESIGN.md and the comments of
``security.permissions``: who should do what), not from recording what the app answers. A
route added to the app without a row here fails ``test_every_route_is_in_the_matrix``.

Outcomes:
- ``OK``: the request gets through authorisation and object scope. For a read that is a 2xx
  (or a redirect that is not to the sign-in page); for a state change the business rules
  may still refuse it after the guard, so 400, 409 and 422 also count (a case that is not
  closed cannot be rated, an empty form is invalid).
- ``LOGIN``: 401, or a redirect to the sign-in page.
- ``DENY``: 403 (no such permission, or the permission but not for this object).
- ``HIDE``: 404 (the object exists but is outside what the caller may see).

Each row names its objects with the world's ids (``{case_a}`` …, see matrix_world.py): case A
is the citizen's, in 玉华村 (鄣吴镇), signed by the enforcement bureau (handler_own) which asked
for an extension, the housing bureau (handler_other) summoned onto it; case C is like A but
not signed yet; case B is citizen_b's, in 递铺街道, led by housing.
Personas not named in a row get ``DENY`` when signed in and ``LOGIN`` when anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK, LOGIN, DENY, HIDE = "ok", "login", "deny", "hide"

CITIZENS = frozenset({"citizen", "citizen_b"})
STAFF = frozenset(
    {
        "grid_worker",
        "township_clerk",
        "handler_own",
        "handler_other",
        "dispatcher",
        "leader",
        "data_officer",
        "steward",
        "system_admin",
        "security_admin",
        "audit_admin",
    }
)
SIGNED_IN = CITIZENS | STAFF
# 三员分立: the three administrators run the platform and read no case (docs/security.md).
ADMINS = frozenset({"system_admin", "security_admin", "audit_admin"})
CASE_READERS = STAFF - ADMINS
PERSONAS = (*sorted(SIGNED_IN), "anonymous")
HANDLERS = frozenset({"handler_own", "handler_other"})
# cases:case:submit: citizens report; grid workers, township clerks and the hotline enter.
SUBMITTERS = CITIZENS | {"grid_worker", "township_clerk", "dispatcher"}
# cases:indicator:read: the township, the dispatch centre, leaders and the data authority.
INDICATORS = frozenset({"township_clerk", "dispatcher", "leader", "data_officer"})
CATALOGUE = frozenset({"leader", "data_officer"})
SHARING = frozenset({"data_officer", "steward"})


@dataclass(frozen=True)
class Row:
    route: str  # "METHOD /path/{template}" exactly as the app declares it
    url: str  # the concrete URL, with world ids in braces
    expect: dict[str, str]
    json: Any = None
    form: dict[str, Any] | None = None
    # persona -> reason: the outcome differs today and the fix belongs to work in progress
    xfail: dict[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]


ROWS: list[Row] = []


def row(
    route: str,
    url: str | None = None,
    *,
    ok: frozenset[str] | set[str] = frozenset(),
    hide: frozenset[str] | set[str] = frozenset(),
    deny: frozenset[str] | set[str] = frozenset(),
    public: bool = False,
    anonymous: str | None = None,
    everyone: str | None = None,
    json: Any = None,
    form: dict[str, Any] | None = None,
    xfail: dict[str, str] | None = None,
) -> None:
    """Add one route. ``public``: every persona OK (anonymous too, unless ``anonymous``
    says otherwise); ``everyone``: one outcome for every signed-in persona."""
    expect: dict[str, str] = {}
    for persona in SIGNED_IN:
        if everyone is not None:
            expect[persona] = everyone
        elif public:
            expect[persona] = OK
        else:
            expect[persona] = DENY
    for group, outcome in ((ok, OK), (hide, HIDE), (deny, DENY)):
        for persona in group:
            assert persona in SIGNED_IN, persona
            expect[persona] = outcome
    expect["anonymous"] = anonymous or (OK if public else LOGIN)
    path = route.split(" ", 1)[1]
    ROWS.append(Row(route, url or path, expect, json, form, xfail or {}))


# --- the web shell and health ------------------------------------------------------------------

row("GET /healthz", public=True)
row("GET /readyz", public=True)
row("GET /api/docs", public=True)
row("GET /", public=True)
row("GET /prefs", public=True)
row("GET /citizen", ok=CITIZENS)
row("GET /staff", ok=STAFF)

# --- sign-in and one's own account (security) --------------------------------------------------

row("GET /login", public=True)
row("POST /login", public=True, form={})
# The second-factor steps belong to a sign-in in progress: without one, back to the sign-in.
row("GET /login/totp", everyone=OK, anonymous=LOGIN)
row("POST /login/totp", everyone=OK, anonymous=LOGIN, form={"code": "000000"})
row("GET /login/totp/setup", everyone=OK, anonymous=LOGIN)
row("POST /login/totp/setup", everyone=OK, anonymous=LOGIN, form={"code": "000000"})
# Signing out lands on the sign-in page, for everyone.
row("POST /logout", everyone=LOGIN, anonymous=LOGIN, form={})
row("GET /account", ok=SIGNED_IN)
row("GET /account/password", ok=SIGNED_IN)
row("POST /account/password", ok=SIGNED_IN, form={})
row("GET /api/v1/me", ok=SIGNED_IN)
row("POST /api/v1/auth/tokens", public=True, json={})
row("GET /api/v1/auth/tokens", ok=SIGNED_IN)
# The citizen's own token: nobody else can even see it.
row(
    "DELETE /api/v1/auth/tokens/{token_id}",
    "/api/v1/auth/tokens/{token_a}",
    ok={"citizen"},
    hide=SIGNED_IN - {"citizen"},
)
# Accounts are the system administrator's; role grants the security administrator's (三员分立).
row("GET /api/v1/accounts", ok={"system_admin"})
row("POST /api/v1/accounts", ok={"system_admin"}, json={})
row(
    "POST /api/v1/accounts/{account_id}/roles",
    "/api/v1/accounts/{grid_worker_account}/roles",
    ok={"security_admin"},
    json={"role": "grid_worker", "region_code": "330523103202"},
)
row(
    "DELETE /api/v1/accounts/{account_id}/roles/{role}/{region_code}",
    "/api/v1/accounts/{grid_worker_account}/roles/grid_worker/330523103202",
    ok={"security_admin"},
)
row(
    "POST /api/v1/accounts/{account_id}/unlock",
    "/api/v1/accounts/{clerk_account}/unlock",
    ok={"system_admin"},
)

# --- regions: reference data for staff; grids for the data officer and system admin ------------

GRIDS = {"data_officer", "system_admin"}
row("GET /regions", ok=STAFF)
row("GET /regions/{code}", "/regions/330523103000", ok=STAFF)
row(
    "POST /regions/{code}/grids", "/regions/330523103202/grids", ok=GRIDS, form={"name": "矩阵网格"}
)
row("GET /api/v1/regions/search", "/api/v1/regions/search?q=玉华", ok=STAFF)
row("GET /api/v1/regions/resolve", "/api/v1/regions/resolve?q=安吉县鄣吴镇玉华村", ok=SIGNED_IN)
row("GET /api/v1/regions/{code}", "/api/v1/regions/330523103000", ok=STAFF)
row("GET /api/v1/regions/{code}/children", "/api/v1/regions/330523103000/children", ok=STAFF)
row("GET /api/v1/regions/{code}/ancestors", "/api/v1/regions/330523103202/ancestors", ok=STAFF)
row(
    "POST /api/v1/regions/{village_code}/grids",
    "/api/v1/regions/330523103202/grids",
    ok=GRIDS,
    json={"name": "矩阵网格二"},
)
row("PATCH /api/v1/regions/{code}", "/api/v1/regions/{grid}", ok=GRIDS, json={"name": "改名网格"})

# --- org: read by staff, managed by the system administrator -----------------------------------

ORG_ADMIN = {"system_admin"}
row("GET /org/departments", ok=STAFF)
row("GET /org/departments/{code}", "/org/departments/330523-ZHZF", ok=STAFF)
# An empty choice names nobody: a real state change, for the org administrator only.
row("POST /org/departments/{code}/head", "/org/departments/330523-ZHZF/head", ok=ORG_ADMIN, form={})
row("GET /org/responsibilities", ok=STAFF)
row("POST /org/responsibilities/import", ok=ORG_ADMIN, form={})
row("GET /org/calendar", ok=STAFF)
row(
    "POST /org/calendar/overrides",
    ok=ORG_ADMIN,
    form={"day": "2026-10-12", "is_workday": "true", "note": "调休"},
)
row(
    "POST /org/calendar/overrides/{override_id}/delete",
    "/org/calendar/overrides/{override}/delete",
    ok=ORG_ADMIN,
    form={},
)
row("GET /api/v1/org/departments", ok=STAFF)
row("GET /api/v1/org/departments/{code}", "/api/v1/org/departments/330523-ZHZF", ok=STAFF)
row("POST /api/v1/org/departments", ok=ORG_ADMIN, json={})
row(
    "PATCH /api/v1/org/departments/{code}",
    "/api/v1/org/departments/330523-ZHZF",
    ok=ORG_ADMIN,
    json={},
)
row(
    "POST /api/v1/org/departments/{code}/deactivate",
    "/api/v1/org/departments/330523-ZJ/deactivate?reason=matrix",
    ok=ORG_ADMIN,
)
row("GET /api/v1/org/staff", ok=STAFF)
row("GET /api/v1/org/matters", ok=STAFF)
row("GET /api/v1/org/matters/{code}", "/api/v1/org/matters/{matter}", ok=STAFF)
row("GET /api/v1/org/responsibilities/export.csv", ok=STAFF)
row("GET /api/v1/org/lead", "/api/v1/org/lead?matter={matter}&region=330523103202", ok=STAFF)
row("POST /api/v1/org/responsibilities/import", ok=ORG_ADMIN, form={})
row(
    "GET /api/v1/org/calendar/add",
    "/api/v1/org/calendar/add?start=2026-09-16T09:00:00%2B08:00&days=3",
    ok=STAFF,
)
row(
    "GET /api/v1/org/calendar/days",
    "/api/v1/org/calendar/days?start=2026-10-01&end=2026-10-08",
    ok=STAFF,
)
row("GET /api/v1/org/calendar/overrides", ok=STAFF)
row(
    "PUT /api/v1/org/calendar/overrides/{day}",
    "/api/v1/org/calendar/overrides/{day}",
    ok=ORG_ADMIN,
    json={"is_workday": True, "note": "调休"},
)
row(
    "DELETE /api/v1/org/calendar/overrides/{override_id}",
    "/api/v1/org/calendar/overrides/{override}?reason=matrix",
    ok=ORG_ADMIN,
)

# --- cases: the citizen's report wizard and own pages ------------------------------------------

for step in ("", "/problem", "/where", "/where/confirm", "/photos", "/contact", "/check"):
    row(f"GET /report{step}", ok=SUBMITTERS)
for step in (
    "/problem",
    "/where",
    "/where/confirm",
    "/photos",
    "/photos/remove",
    "/contact",
    "/check",
):
    row(f"POST /report{step}", ok=SUBMITTERS, form={})
# Citizen A's case: its reporter sees it; the other citizen does not know it exists.
row("GET /report/sent/{number}", "/report/sent/{case_a}", ok={"citizen"}, hide={"citizen_b"})
row("GET /my/cases", ok=CITIZENS)
row("GET /my/cases/{number}", "/my/cases/{case_a}", ok={"citizen"}, hide={"citizen_b"})
row(
    "POST /my/cases/{number}/rate",
    "/my/cases/{case_a}/rate",
    ok={"citizen"},
    hide={"citizen_b"},
    form={"rating": "5"},
)
row(
    "POST /my/cases/{number}/reopen",
    "/my/cases/{case_a}/reopen",
    ok={"citizen"},
    hide={"citizen_b"},
    form={"reason": "没有修好"},
)
# A photo follows its case: the reporter and staff whose scope holds the case.
row(
    "GET /cases/{number}/photos/{sha256}",
    "/cases/{case_a}/photos/{photo_a}",
    ok=CASE_READERS | {"citizen"},
    hide={"citizen_b"},
)

# --- cases: staff pages -------------------------------------------------------------------------

row("GET /cases/console", ok={"dispatcher"})
row("GET /cases/console/preview", "/cases/console/preview?description=井盖", ok={"dispatcher"})
row("POST /cases/console", ok={"dispatcher"}, form={})
row("GET /cases/triage", ok={"dispatcher"})
row(
    "POST /cases/{number:case_number}/dispatch",
    "/cases/{case_a}/dispatch",
    ok={"dispatcher"},
    form={"department": "330523-ZJ"},
)
row(
    "POST /cases/{number:case_number}/close",
    "/cases/{case_a}/close",
    ok={"dispatcher"},
    form={"outcome": "resolved"},
)
row(
    "POST /cases/{number:case_number}/extension/decision",
    "/cases/{case_a}/extension/decision",
    ok={"dispatcher"},
    form={"approve": "true"},
)
row("GET /cases/inbox", ok=HANDLERS)
# Only the lead department's staff act on a case; another department is refused.
row(
    "POST /cases/{number:case_number}/accept", "/cases/{case_c}/accept", ok={"handler_own"}, form={}
)
row(
    "POST /cases/{number:case_number}/return",
    "/cases/{case_a}/return",
    ok={"handler_own"},
    form={"reason": "not_our_duty"},
)
row(
    "POST /cases/{number:case_number}/feedback",
    "/cases/{case_a}/feedback",
    ok={"handler_own"},
    form={"note": "已到现场"},
)
row(
    "POST /cases/{number:case_number}/extension",
    "/cases/{case_a}/extension",
    ok={"handler_own"},
    form={"due_at": "2030-01-01T00:00", "reason": "需要协调"},
)
row("GET /cases/grid", ok={"grid_worker"})
row(
    "POST /cases/{number:case_number}/verify",
    "/cases/{case_a}/verify",
    ok={"grid_worker"},
    form={"passed": "true"},
)
row("POST /cases/grid/report", ok={"grid_worker"}, form={})
row("GET /cases/overdue", ok=INDICATORS)
row("GET /cases/{number:case_number}", "/cases/{case_a}", ok=CASE_READERS)
row(
    "POST /cases/{number:case_number}/merge",
    "/cases/{case_a}/merge",
    ok={"dispatcher"},
    form={"into": "{case_b}"},
)
row(
    "POST /cases/{number:case_number}/unmerge",
    "/cases/{case_a}/unmerge",
    ok={"dispatcher"},
    form={},
)
# 吹哨: the township summons departments onto a case in its area.
row(
    "POST /cases/{number:case_number}/summons",
    "/cases/{case_a}/summons",
    ok={"township_clerk"},
    form={"reason": "needs_enforcement", "departments": "330523-ZJ"},
)
# 报到: only a summoned department checks in (housing was summoned onto case A); for any
# other department there is no check-in to find.
row(
    "POST /cases/summons/{summons_id}/check-in",
    "/cases/summons/{summons_a}/check-in",
    ok={"handler_other"},
    hide={"handler_own"},
    form={},
)
row("GET /cases/summons/stats", ok=INDICATORS)
row("GET /cases/indicators", ok=INDICATORS)

# --- cases: JSON API ----------------------------------------------------------------------------

row("POST /api/v1/duplicates/check", ok=SUBMITTERS, json={"description": "井盖不见了"})
row(
    "GET /api/v1/cases/{number}/duplicates",
    "/api/v1/cases/{case_a}/duplicates",
    ok=CASE_READERS,
)
row(
    "POST /api/v1/cases/{number}/merge",
    "/api/v1/cases/{case_a}/merge",
    ok={"dispatcher"},
    json={"into": "{case_b}"},
)
row("POST /api/v1/cases/{number}/unmerge", "/api/v1/cases/{case_a}/unmerge", ok={"dispatcher"})
# "Me too": anyone who may report backs an open case by its number (the answer is only the
# count; a case's public status is public through Open311 anyway). Its reporter cannot.
row(
    "POST /api/v1/cases/{number}/support",
    "/api/v1/cases/{case_a}/support",
    ok=SUBMITTERS,
)
row(
    "GET /api/v1/cases/{number}/support",
    "/api/v1/cases/{case_a}/support",
    ok=CASE_READERS | {"citizen"},
    hide={"citizen_b"},
)
row(
    "POST /api/v1/cases/{number}/summons",
    "/api/v1/cases/{case_a}/summons",
    ok={"township_clerk"},
    json={"departments": ["330523-ZJ"], "reason": "needs_enforcement"},
)
row("GET /api/v1/cases/{number}/summons", "/api/v1/cases/{case_a}/summons", ok=CASE_READERS)
row(
    "POST /api/v1/summons/{summons_id}/check-in",
    "/api/v1/summons/{summons_a}/check-in",
    ok={"handler_other"},
    hide={"handler_own"},
    json={},
)
row("GET /api/v1/summons/stats", ok=INDICATORS)
row("GET /api/v1/cases/indicators", ok=INDICATORS)
row("POST /api/v1/cases", ok=SUBMITTERS, json={})
row("GET /api/v1/cases", ok=SIGNED_IN - ADMINS)
row(
    "GET /api/v1/cases/{number}",
    "/api/v1/cases/{case_a}",
    ok=CASE_READERS | {"citizen"},
    hide={"citizen_b"},
)
row(
    "POST /api/v1/cases/{number}/dispatch",
    "/api/v1/cases/{case_a}/dispatch",
    ok={"dispatcher"},
    json={"department": "330523-ZJ"},
)
for action, body in (
    ("return", {"reason": "not_our_duty"}),
    ("feedback", {"note": "已到现场"}),
    ("extension", {"due_at": "2030-01-01T00:00:00+08:00", "reason": "需要协调"}),
):
    row(
        f"POST /api/v1/cases/{{number}}/{action}",
        f"/api/v1/cases/{{case_a}}/{action}",
        ok={"handler_own"},
        json=body,
    )
row("POST /api/v1/cases/{number}/accept", "/api/v1/cases/{case_c}/accept", ok={"handler_own"})
# Pause for the citizen and resume: the lead department, or the dispatch centre.
row(
    "POST /api/v1/cases/{number}/pause",
    "/api/v1/cases/{case_a}/pause",
    ok={"handler_own", "dispatcher"},
    json={"reason": "等待群众补充材料"},
)
row(
    "POST /api/v1/cases/{number}/resume",
    "/api/v1/cases/{case_a}/resume",
    ok={"handler_own", "dispatcher"},
)
row(
    "POST /api/v1/cases/{number}/verify",
    "/api/v1/cases/{case_a}/verify",
    ok={"grid_worker"},
    json={"passed": True},
)
row(
    "POST /api/v1/cases/{number}/close",
    "/api/v1/cases/{case_a}/close",
    ok={"dispatcher"},
    json={"outcome": "resolved"},
)
row(
    "POST /api/v1/cases/{number}/rate",
    "/api/v1/cases/{case_a}/rate",
    ok={"citizen"},
    hide={"citizen_b"},
    json={"rating": 5},
)
row(
    "POST /api/v1/cases/{number}/reopen",
    "/api/v1/cases/{case_a}/reopen",
    ok={"citizen"},
    hide={"citizen_b"},
    json={"reason": "没有修好"},
)
row(
    "POST /api/v1/cases/{number}/extension/decision",
    "/api/v1/cases/{case_a}/extension/decision",
    ok={"dispatcher"},
    json={"approve": True},
)

# --- Open311 GeoReport v2: public by the standard (writes need an API key) ---------------------

row("GET /open311/v2/discovery.{fmt}", "/open311/v2/discovery.json", public=True)
row("GET /open311/v2/services.{fmt}", "/open311/v2/services.json", public=True)
row("GET /open311/v2/services/{resource}", "/open311/v2/services/{matter}.json", public=True)
row("GET /open311/v2/service/{resource}", "/open311/v2/service/{matter}.json", public=True)
# Posting a request needs the client's API key (GeoReport v2), whoever is signed in.
row(
    "POST /open311/v2/requests.{fmt}",
    "/open311/v2/requests.json",
    everyone=DENY,
    anonymous=DENY,
    form={},
)
row("GET /open311/v2/requests.{fmt}", "/open311/v2/requests.json", public=True)
row("GET /open311/v2/requests/{resource}", "/open311/v2/requests/{case_a}.json", public=True)
# A token of an unknown request: not found, for everyone alike.
row(
    "GET /open311/v2/tokens/{resource}",
    "/open311/v2/tokens/0000.json",
    everyone=HIDE,
    anonymous=HIDE,
)
row("GET /open311/v2/{rest:path}", "/open311/v2/nothing-here", everyone=HIDE, anonymous=HIDE)
row(
    "POST /open311/v2/{rest:path}",
    "/open311/v2/nothing-here",
    everyone=HIDE,
    anonymous=HIDE,
    form={},
)

# --- notifications: one's own ------------------------------------------------------------------

row("GET /api/v1/notifications", ok=SIGNED_IN)
row("POST /api/v1/notifications/read-all", ok=SIGNED_IN)
row(
    "POST /api/v1/notifications/{notification_id}/read",
    "/api/v1/notifications/{notification_a}/read",
    ok={"citizen"},
    hide=SIGNED_IN - {"citizen"},
)
row("GET /notifications", ok=SIGNED_IN)
row(
    "POST /notifications/{notification_id}/read",
    "/notifications/{notification_a}/read",
    ok={"citizen"},
    hide=SIGNED_IN - {"citizen"},
    form={},
)
row("POST /notifications/read-all", ok=SIGNED_IN, form={})

# --- data hub: the catalogue (leaders read; the data officer manages) --------------------------

DATA_ADMIN = {"data_officer"}
row("GET /data", ok=CATALOGUE)
row("GET /data/new", ok=DATA_ADMIN)
# The master index holds every department's personal records: the data authority only,
# within its region (an entity with no row in the reader's region is not found).
row("GET /data/master-index", ok={"data_officer"})
row(
    "GET /data/master-index/entities/{entity_id}",
    "/data/master-index/entities/{master_entity}",
    ok={"data_officer"},
)
row(
    "GET /data/master-index/households/{household_id}",
    "/data/master-index/households/{master_household}",
    ok={"data_officer"},
)
# Findings read the master index's rows: the data authority only (a finding 0 exists nowhere).
row("GET /data/findings", ok={"data_officer"})
row("GET /data/findings/{finding_id}", "/data/findings/0", hide={"data_officer"})
for _step in ("confirm", "dismiss", "case"):
    row(
        f"POST /data/findings/{{finding_id}}/{_step}",
        f"/data/findings/0/{_step}",
        hide={"data_officer"},
        form={},
    )
row("POST /data/new", ok=DATA_ADMIN, form={})
row("GET /data/datasets/{code}", "/data/datasets/{dataset}", ok=CATALOGUE)
row(
    "POST /data/datasets/{code}/imports", "/data/datasets/{dataset}/imports", ok=DATA_ADMIN, form={}
)
row("GET /data/imports/{job_id}", "/data/imports/{job}", ok=CATALOGUE)
row("GET /data/imports/{job_id}/progress", "/data/imports/{job}/progress", ok=CATALOGUE)
row("GET /data/imports/{job_id}/issues.csv", "/data/imports/{job}/issues.csv", ok=CATALOGUE)
row(
    "GET /data/datasets/{code}/versions/{number}",
    "/data/datasets/{dataset}/versions/1",
    ok=CATALOGUE,
)
row(
    "GET /data/datasets/{code}/compare",
    "/data/datasets/{dataset}/compare?from=1&to=2",
    ok=CATALOGUE,
)
row("GET /api/v1/data/standard-schemas", ok=CATALOGUE)
row("GET /api/v1/data/datasets", ok=CATALOGUE)
row("POST /api/v1/data/datasets", ok=DATA_ADMIN, json={})
row("GET /api/v1/data/datasets/{code}", "/api/v1/data/datasets/{dataset}", ok=CATALOGUE)
row(
    "PUT /api/v1/data/datasets/{code}/schema",
    "/api/v1/data/datasets/{dataset}/schema",
    ok=DATA_ADMIN,
    json={},
)
row(
    "GET /api/v1/data/datasets/{code}/versions",
    "/api/v1/data/datasets/{dataset}/versions",
    ok=CATALOGUE,
)
row(
    "GET /api/v1/data/datasets/{code}/versions/{number}",
    "/api/v1/data/datasets/{dataset}/versions/1",
    ok=CATALOGUE,
)
row(
    "GET /api/v1/data/datasets/{code}/compare",
    "/api/v1/data/datasets/{dataset}/compare?from=1&to=2",
    ok=CATALOGUE,
)
row(
    "POST /api/v1/data/datasets/{code}/imports",
    "/api/v1/data/datasets/{dataset}/imports",
    ok=DATA_ADMIN,
    form={},
)
row("GET /api/v1/data/imports/{job_id}", "/api/v1/data/imports/{job}", ok=CATALOGUE)
row(
    "GET /api/v1/data/imports/{job_id}/issues.csv",
    "/api/v1/data/imports/{job}/issues.csv",
    ok=CATALOGUE,
)

# --- data sharing: the data authority (data officer) and the departments' stewards ------------
# The steward persona is civil affairs' (the provider of the shared dataset); agriculture
# asked for it. Requesting, disputing and withdrawing are the requester's acts.

row("GET /data/sharing", ok=SHARING)
row("GET /data/sharing/requests/new", ok={"steward"})
row("POST /data/sharing/requests", ok={"steward"}, form={})
row("GET /data/sharing/requests/{request_id}", "/data/sharing/requests/{share_request}", ok=SHARING)
row(
    "POST /data/sharing/requests/{request_id}/review",
    "/data/sharing/requests/{share_request}/review",
    ok={"data_officer"},
    form={"decision": "approve"},
)
row(
    "POST /data/sharing/requests/{request_id}/decide",
    "/data/sharing/requests/{share_request}/decide",
    ok={"steward"},
    form={"decision": "grant"},
)
row(
    "POST /data/sharing/requests/{request_id}/dispute",
    "/data/sharing/requests/{share_request}/dispute",
    form={"statement": "理由"},
)
row(
    "POST /data/sharing/requests/{request_id}/arbitrate",
    "/data/sharing/requests/{share_request}/arbitrate",
    ok={"data_officer"},
    form={"decision": "uphold"},
)
row(
    "POST /data/sharing/requests/{request_id}/withdraw",
    "/data/sharing/requests/{share_request}/withdraw",
    form={},
)
row("GET /data/sharing/review", ok={"data_officer"})
row("GET /data/sharing/decisions", ok={"steward"})
row("GET /data/sharing/grants/{grant_id}", "/data/sharing/grants/{grant}", ok=SHARING)
row(
    "POST /data/sharing/grants/{grant_id}/revoke",
    "/data/sharing/grants/{grant}/revoke",
    ok=SHARING,
    form={"reason": "不再需要"},
)
row("POST /api/v1/share/requests", ok={"steward"}, json={})
row("GET /api/v1/share/requests/{request_id}", "/api/v1/share/requests/{share_request}", ok=SHARING)
row("GET /api/v1/share/grants", ok=SHARING)
row(
    "POST /api/v1/share/grants/{grant_id}/revoke",
    "/api/v1/share/grants/{grant}/revoke",
    ok=SHARING,
    json={"reason": "不再需要"},
)
row("GET /api/v1/share/grants/{grant_id}/calls", "/api/v1/share/grants/{grant}/calls", ok=SHARING)
# Only the granted (requesting) department calls the rows; the provider's steward may not.
row("GET /api/v1/share/{grant_id}/rows", "/api/v1/share/{grant}/rows")

# --- open data: public --------------------------------------------------------------------------

row("GET /api/3/action/{name}", "/api/3/action/package_list", public=True)
row("GET /api/action/{name}", "/api/action/package_list", public=True)
row("POST /api/3/action/{name}", "/api/3/action/package_list", public=True, json={})
row("POST /api/action/{name}", "/api/action/package_list", public=True, json={})
row("GET /catalog.jsonld", public=True)
row("GET /opendata", public=True)
row("GET /opendata/{name}", "/opendata/{open_dataset}", public=True)
row("GET /opendata/{name}/{version}.csv", "/opendata/{open_dataset}/1.csv", public=True)

# --- audit: the audit administrator alone ------------------------------------------------------

AUDITOR = {"audit_admin"}
row("GET /audit/events", ok=AUDITOR)
row("GET /audit/events/{event_id}", "/audit/events/{event}", ok=AUDITOR)
row("GET /audit/status", ok=AUDITOR)
row("GET /api/v1/audit/checkpoints/latest", ok=AUDITOR)
row(
    "GET /api/v1/audit/proofs/inclusion",
    "/api/v1/audit/proofs/inclusion?event_id={event}",
    ok=AUDITOR,
)
row("GET /api/v1/audit/proofs/consistency", "/api/v1/audit/proofs/consistency?first=1", ok=AUDITOR)
row("GET /api/v1/audit/public-key", ok=AUDITOR)

# --- privacy (docs/privacy.md) -----------------------------------------------------------------
# A case contact is revealed by the lead department's handler and by the dispatch centre; a
# person in the register by the township clerk (residents of the township) and the dispatch
# centre (verifying callers). Other holders of the reveal permission are refused per object.
# The security administrator holds the legal-order reveal but reads no case: a case whose
# reporter is not anonymous is, for it, not there.

CONTACT_REVEAL = {"handler_own", "dispatcher"}
PERSON_REVEAL = {"township_clerk", "dispatcher"}
row(
    "GET /privacy/reveal/case/{number:case_number}",
    "/privacy/reveal/case/{case_a}",
    ok=CONTACT_REVEAL,
    hide={"security_admin"},
)
row(
    "POST /privacy/reveal/case/{number:case_number}",
    "/privacy/reveal/case/{case_a}",
    ok=CONTACT_REVEAL,
    hide={"security_admin"},
    form={"fields": "phone", "purpose": "call_back"},
)
# 依法调取: the page where the security administrator enters the case number of a legal order.
row("GET /privacy/legal-order", ok={"security_admin"})
row("GET /privacy/people", ok=PERSON_REVEAL)
row("POST /privacy/people", ok=PERSON_REVEAL, form={"id_number": "{id_number}"})
# Handlers hold the reveal permission for their cases' contacts, not the register: for them
# the person is not there.
row(
    "GET /privacy/reveal/person/{person_id}",
    "/privacy/reveal/person/{person}",
    ok=PERSON_REVEAL,
    hide=HANDLERS,
)
row(
    "POST /privacy/reveal/person/{person_id}",
    "/privacy/reveal/person/{person}",
    ok=PERSON_REVEAL,
    hide=HANDLERS,
    form={"fields": "phone", "purpose": "verify_identity"},
)
row("GET /my/data-use", ok=CITIZENS)
row("POST /my/identity", ok=CITIZENS, form={})
row("GET /my/privacy-requests", ok=CITIZENS)
row("POST /my/privacy-requests", ok=CITIZENS, form={})
row(
    "GET /my/privacy-requests/{request_id}/export",
    "/my/privacy-requests/{pipl_a}/export",
    ok={"citizen"},
    hide={"citizen_b"},
)
# PIPL requests are answered by the security administrator (the protection officer).
row("GET /privacy/requests", ok={"security_admin"})
row("GET /privacy/requests/{request_id}", "/privacy/requests/{pipl_a}", ok={"security_admin"})
row(
    "POST /privacy/requests/{request_id}/{step}",
    "/privacy/requests/{pipl_a}/accept",
    ok={"security_admin"},
    form={},
)
row("GET /api/v1/privacy/classification", ok=STAFF)
row(
    "POST /api/v1/privacy/case-contacts/{number}/reveal",
    "/api/v1/privacy/case-contacts/{case_a}/reveal",
    ok=CONTACT_REVEAL,
    hide={"security_admin"},
    json={"fields": ["phone"], "purpose": "call_back"},
)
row(
    "POST /api/v1/privacy/people/lookup",
    ok=PERSON_REVEAL,
    json={"id_number": "{id_number}"},
)
row(
    "POST /api/v1/privacy/people/{person_id}/reveal",
    "/api/v1/privacy/people/{person}/reveal",
    ok=PERSON_REVEAL,
    hide=HANDLERS,
    json={"fields": ["phone"], "purpose": "verify_identity"},
)
row("GET /api/v1/privacy/my/data-use", ok=CITIZENS)
row(
    "GET /api/v1/privacy/my/data-use/{access_id}/proof",
    "/api/v1/privacy/my/data-use/{access_a}/proof",
    ok={"citizen"},
    hide={"citizen_b"},
)
row("POST /api/v1/privacy/my/identity", ok=CITIZENS, json={})
row("GET /api/v1/privacy/my/requests", ok=CITIZENS)
row("POST /api/v1/privacy/my/requests", ok=CITIZENS, json={})
row(
    "GET /api/v1/privacy/my/requests/{request_id}/export",
    "/api/v1/privacy/my/requests/{pipl_a}/export",
    ok={"citizen"},
    hide={"citizen_b"},
)
row("GET /api/v1/privacy/requests", ok={"security_admin"})
row(
    "POST /api/v1/privacy/requests/{request_id}/{step}",
    "/api/v1/privacy/requests/{pipl_a}/accept",
    ok={"security_admin"},
    json={},
)

BY_ROUTE: dict[str, Row] = {}
for _row in ROWS:
    assert _row.route not in BY_ROUTE, f"two rows for {_row.route}"
    BY_ROUTE[_row.route] = _row
