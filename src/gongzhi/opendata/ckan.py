"""The CKAN Action API subset at ``/api/action/{name}`` and ``/api/3/action/{name}``: what
open-data clients (``ckanapi``, harvesters, portals) call to list, search and read the open
datasets. Contract: CKAN 2.10's API as ``ckanapi`` reads it (docs/opendata.md).

Read-only actions, answered to GET (query parameters) and POST (a JSON object, or a form).
Clients send numbers as strings and lists or objects as JSON strings; both are accepted.
Every answer is CKAN's envelope ``{"help", "success", "result"|"error"}``; errors carry
CKAN's ``__type`` and status, which ``ckanapi`` turns back into its exceptions. An unknown
action is a 400 whose body is a bare JSON string, as in CKAN.

``Authorization: <token>`` (or ``X-CKAN-API-Key``, or ``Bearer <token>``) may carry one of
the platform's API tokens: with ``data:catalogue:read`` over a dataset's region, the
conditionally open datasets there are visible as CKAN's private datasets. A key that is not
a valid token is ignored: the call is anonymous.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gongzhi.opendata import datastore, queries
from gongzhi.opendata.queries import Hidden, Listing, Organization
from gongzhi.opendata.search import FACET_TITLES, SearchQueryError, search
from gongzhi.security.deps import DB, public
from gongzhi.security.principal import Principal

router = APIRouter(tags=["open data (CKAN)"])

CKAN_VERSION = "2.10.4"  # the API generation this subset follows
SEARCH_ROWS_DEFAULT = 10
SEARCH_ROWS_MAX = 1000
DATASTORE_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000


# -- errors as CKAN spells them -------------------------------------------------------------


class ActionError(Exception):
    status = 500
    type = "Internal Server Error"

    def __init__(self, message: str = "", errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"__type": self.type}
        if self.message:
            error["message"] = self.message
        error.update(self.errors)
        return error


class ValidationError(ActionError):
    status = 409
    type = "Validation Error"


class NotFoundError(ActionError):
    status = 404
    type = "Not Found Error"

    def __init__(self, what: str) -> None:
        super().__init__(f"Not found: {what}")


class AuthorizationError(ActionError):
    status = 403
    type = "Authorization Error"

    def __init__(self, what: str) -> None:
        super().__init__(f"Access denied: {what}")


class QueryError(ActionError):
    status = 400
    type = "Search Query Error"

    def __init__(self, problem: str) -> None:
        super().__init__(f"Search Query is invalid: {problem}")


def _missing(name: str) -> ValidationError:
    return ValidationError(errors={name: ["Missing value"]})


# -- parameters -----------------------------------------------------------------------------


class Params:
    """An action's parameters, whatever the transport, with CKAN's coercions."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def raw(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name, default)
        return default if value == "" else value

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name, default)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        return str(value) if value is not None else default

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool):
            raise ValidationError(errors={name: ["Invalid integer"]})
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(errors={name: ["Invalid integer"]}) from None
        if number < minimum:
            raise ValidationError(errors={name: ["Must be a natural number"]})
        if maximum is not None:
            number = min(number, maximum)  # CKAN clamps to its configured maximum
        return number

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw(name, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on", "t", "y"):
            return True
        if text in ("false", "0", "no", "off", "f", "n", "none"):
            return False
        raise ValidationError(errors={name: ["Value must be one of: True, False"]})

    def structured(self, name: str) -> Any:
        """A list or object, given as such or as a JSON string."""
        value = self.raw(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{", '"'):
            try:
                return json.loads(value)
            except ValueError:
                raise ValidationError(errors={name: ["Cannot parse JSON"]}) from None
        return value

    def names(self, name: str) -> list[str]:
        value = self.structured(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [str(v) for v in value]
        raise ValidationError(errors={name: ["Must be a list"]})


async def _read_params(request: Request) -> dict[str, Any] | str:
    """The call's parameters, or a plain error string (CKAN answers those with a 400)."""
    if request.method == "GET":
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in data:
                existing = data[key]
                data[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                data[key] = value
        return data
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    body = await request.body()
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        return f"Bad request - JSON Error: {exc}"
    if not isinstance(parsed, dict):
        return "Bad request - JSON Error: Request data JSON decoded to a non-dict object"
    return parsed


# -- the result shapes ----------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without an offset."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def organization_dict(request: Request, org: Organization) -> dict[str, Any]:
    dept = org.department
    return {
        "id": org.id,
        "name": org.name,
        "title": dept.name,
        "display_name": dept.name,
        "description": dept.short_name or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": _timestamp(dept.created_at),
        "package_count": len(org.listings),
        "extras": [
            {"key": "department_code", "value": dept.code},
            {"key": "region_code", "value": dept.region_code},
        ],
    }


def resource_dict(request: Request, listing: Listing) -> dict[str, Any]:
    version = listing.version
    assert version is not None and listing.csv_path is not None
    return {
        "id": listing.resource_id,
        "package_id": listing.id,
        "name": f"{listing.dataset.name}（v{version.number}）",
        "description": f"{len(listing.fields)} fields, {version.row_count} rows",
        "format": "CSV",
        "mimetype": "text/csv",
        "url": _base_url(request) + listing.csv_path,
        "url_type": None,
        "datastore_active": True,
        "position": 0,
        "state": "active",
        "created": _timestamp(version.imported_at),
        "last_modified": _timestamp(version.imported_at),
        "metadata_modified": _timestamp(version.imported_at),
        "version": str(version.number),
        "rows": version.row_count,
    }


def package_dict(request: Request, listing: Listing) -> dict[str, Any]:
    d = listing.dataset
    dept = d.department
    org = Organization(dept, [listing])
    resources = [resource_dict(request, listing)] if listing.version is not None else []
    tags = [
        {"name": t, "display_name": t, "state": "active", "vocabulary_id": None}
        for t in listing.tags
    ]
    extras = {
        "catalogue_code": d.code,
        "provider_department_code": dept.code,
        "provider_department": dept.name,
        "resource_class": d.resource_class,
        "update_cycle": d.update_cycle,
        "update_cycle_label": listing.update_cycle_label,
        "sharing_type": d.sharing_type,
        "sharing_type_label": listing.sharing_type_label,
        "open_type": d.open_type,
        "open_type_label": listing.open_type_label,
        "release_date": d.release_date.isoformat() if d.release_date else "",
    }
    if d.open_condition:
        extras["open_condition"] = d.open_condition
    if listing.version is not None:
        extras["version"] = str(listing.version.number)
        extras["as_of"] = listing.version.as_of.isoformat()
    for dimension, value in listing.quality.items():
        if value is not None:
            extras[f"quality_{dimension}"] = f"{value:.4f}"
    license = listing.license
    return {
        "id": listing.id,
        "name": listing.name,
        "title": d.name,
        "notes": d.abstract,
        "type": "dataset",
        "state": "active",
        "private": listing.private,
        "license_id": license["id"],
        "license_title": license["title"],
        "license_url": license["url"],
        "author": dept.name,
        "maintainer": dept.name,
        "url": _base_url(request) + f"/opendata/{listing.name}",
        "version": str(listing.version.number) if listing.version is not None else None,
        "metadata_created": _timestamp(d.created_at),
        "metadata_modified": _timestamp(listing.modified),
        "owner_org": org.id,
        "organization": _org_brief(org),
        "num_resources": len(resources),
        "resources": resources,
        "num_tags": len(tags),
        "tags": tags,
        "groups": [],
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
    }


def _org_brief(org: Organization) -> dict[str, Any]:
    dept = org.department
    return {
        "id": org.id,
        "name": org.name,
        "title": dept.name,
        "description": dept.short_name or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "created": _timestamp(dept.created_at),
    }


# -- actions --------------------------------------------------------------------------------


class Call:
    """What an action needs: the request, its session, the caller, the parameters."""

    def __init__(
        self, request: Request, db: Session, principal: Principal | None, params: Params
    ) -> None:
        self.request = request
        self.db = db
        self.principal = principal
        self.params = params

    def listings(self, *, include_private: bool) -> list[Listing]:
        return queries.published(self.db, self.principal, include_private=include_private)

    def listing(self, ident: str) -> Listing:
        try:
            found = queries.find(self.db, self.principal, ident)
        except Hidden:
            raise AuthorizationError(f"not authorised to read package {ident}") from None
        if found is None:
            raise NotFoundError("Dataset not found")
        return found


def package_list(call: Call) -> list[str]:
    """Names of the openly published datasets, sorted (limit, offset)."""
    limit = call.params.integer("limit", LIST_LIMIT_MAX, maximum=LIST_LIMIT_MAX)
    offset = call.params.integer("offset", 0)
    names = [listing.name for listing in call.listings(include_private=False)]
    return sorted(names)[offset : offset + limit]


def package_search(call: Call) -> dict[str, Any]:
    """Search the published datasets: q, fq, rows, start, sort, facet.field, include_private."""
    p = call.params
    rows = p.integer("rows", SEARCH_ROWS_DEFAULT, maximum=SEARCH_ROWS_MAX)
    start = p.integer("start", 0)
    facet_fields = p.names("facet.field")
    facet_limit = p.integer("facet.limit", 50, minimum=-1)
    facet_mincount = p.integer("facet.mincount", 1)
    include_private = p.boolean("include_private", False)
    sort = p.text("sort")
    listings = call.listings(include_private=include_private)
    try:
        found = search(
            listings,
            q=p.text("q"),
            fq=p.text("fq"),
            sort=sort,
            start=start,
            rows=rows,
            facet_fields=facet_fields,
            facet_limit=facet_limit,
            facet_mincount=facet_mincount,
        )
    except SearchQueryError as exc:
        raise QueryError(str(exc)) from None
    org_titles = {listing.organization_name: listing.department.name for listing in listings}
    search_facets = {}
    for name, counts in found.facets.items():
        items = []
        for value, count in counts.items():
            display = org_titles.get(value, value) if name == "organization" else value
            items.append({"name": value, "display_name": display, "count": count})
        search_facets[name] = {"title": FACET_TITLES.get(name, name), "items": items}
    return {
        "count": found.count,
        "sort": sort or "score desc, metadata_modified desc",
        "facets": found.facets,
        "search_facets": search_facets,
        "results": [package_dict(call.request, listing) for listing in found.results],
    }


def package_show(call: Call) -> dict[str, Any]:
    """One published dataset by id, name or catalogue code."""
    ident = call.params.text("id") or call.params.text("name_or_id")
    if not ident:
        raise _missing("id")
    return package_dict(call.request, call.listing(ident))


def resource_show(call: Call) -> dict[str, Any]:
    """A dataset's resource (its latest version's open fields as CSV) by id."""
    ident = call.params.text("id")
    if not ident:
        raise _missing("id")
    listing = _listing_by_resource(call, ident)
    return resource_dict(call.request, listing)


def _listing_by_resource(call: Call, ident: str) -> Listing:
    try:
        listing = queries.find_by_resource(call.db, call.principal, ident)
    except Hidden:
        raise AuthorizationError(f"not authorised to read resource {ident}") from None
    if listing is None or listing.version is None:
        raise NotFoundError(f'Resource "{ident}" was not found.')
    return listing


def _organizations(call: Call) -> list[Organization]:
    return queries.organizations(call.listings(include_private=False))


def organization_list(call: Call) -> list[Any]:
    """Providing departments with open datasets (all_fields, limit, offset, sort)."""
    p = call.params
    all_fields = p.boolean("all_fields", False)
    limit = p.integer("limit", LIST_LIMIT_MAX, maximum=LIST_LIMIT_MAX)
    offset = p.integer("offset", 0)
    sort = p.text("sort", "title asc").strip() or "title asc"
    wanted = set(p.names("organizations"))
    orgs = _organizations(call)
    if wanted:
        orgs = [o for o in orgs if o.name in wanted or o.id in wanted]
    key, _, direction = sort.partition(" ")
    sorters: dict[str, Callable[[Organization], Any]] = {
        "title": lambda o: o.department.name,
        "name": lambda o: o.name,
        "package_count": lambda o: len(o.listings),
    }
    if key not in sorters or direction.strip().lower() not in ("", "asc", "desc"):
        raise ValidationError(errors={"sort": [f"Cannot sort by field `{key}`"]})
    orgs.sort(key=sorters[key], reverse=direction.strip().lower() == "desc")
    page = orgs[offset : offset + limit]
    if all_fields:
        return [organization_dict(call.request, o) for o in page]
    return [o.name for o in page]


def organization_show(call: Call) -> dict[str, Any]:
    """One providing department by id, name or department code (include_datasets)."""
    ident = call.params.text("id")
    if not ident:
        raise _missing("id")
    lowered = ident.strip().lower()
    for org in _organizations(call):
        if lowered in (org.name, org.id, org.department.code.lower()):
            result = organization_dict(call.request, org)
            if call.params.boolean("include_datasets", False):
                result["packages"] = [package_dict(call.request, x) for x in org.listings]
            return result
    raise NotFoundError("Organization was not found")


def datastore_search(call: Call) -> dict[str, Any]:
    """Rows of a resource: resource_id, filters, q, fields, sort, limit, offset."""
    p = call.params
    ident = p.text("resource_id") or p.text("id")
    if not ident:
        raise _missing("resource_id")
    listing = _listing_by_resource(call, ident)
    assert listing.version is not None
    limit = p.integer("limit", DATASTORE_LIMIT_DEFAULT, maximum=datastore.MAX_LIMIT)
    offset = p.integer("offset", 0)
    filters = p.structured("filters")
    q = p.structured("q")
    wanted = p.structured("fields")
    sort = p.structured("sort")
    include_total = p.boolean("include_total", True)
    try:
        page = datastore.search_rows(
            call.db,
            listing.version,
            listing.fields,
            filters=filters,
            q=q,
            wanted=wanted,
            sort=sort,
            limit=limit,
            offset=offset,
            include_total=include_total,
        )
    except datastore.DatastoreInvalid as exc:
        raise ValidationError(errors=exc.errors) from None
    path = call.request.url.path
    base = f"{path}?resource_id={listing.resource_id}"
    result: dict[str, Any] = {
        "resource_id": listing.resource_id,
        "include_total": include_total,
        "records_format": "objects",
        "fields": page.fields,
        "records": page.records,
        "limit": limit,
        "offset": offset,
        "_links": {"start": base, "next": f"{base}&offset={offset + limit}"},
    }
    if include_total:
        result["total"] = page.total
        result["total_was_estimated"] = False
    if filters:
        result["filters"] = filters
    if q:
        result["q"] = q
    if sort:
        result["sort"] = sort
    return result


def status_show(call: Call) -> dict[str, Any]:
    """The site and the CKAN API generation it follows."""
    return {
        "site_title": "共治开放数据 Gongzhi open data",
        "site_description": "城乡共治平台的开放数据目录",
        "site_url": _base_url(call.request),
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_CN",
        "extensions": ["datastore", "dcat"],
    }


def site_read(call: Call) -> bool:
    """Always true: the catalogue is readable."""
    return True


def license_list(call: Call) -> list[dict[str, Any]]:
    """Licences the published datasets use."""
    licenses = {
        listing.license["id"]: listing.license for listing in call.listings(include_private=False)
    }
    licenses.setdefault(queries.DEFAULT_LICENSE["id"], queries.DEFAULT_LICENSE)
    return [
        {"id": lic["id"], "title": lic["title"], "url": lic["url"], "status": "active"}
        for lic in sorted(licenses.values(), key=lambda lic: lic["id"])
    ]


def tag_list(call: Call) -> list[str]:
    """Tags of the published datasets."""
    tags = {t for listing in call.listings(include_private=False) for t in listing.tags}
    return sorted(tags)


def help_show(call: Call) -> str:
    """What an action does (name)."""
    name = call.params.text("name")
    action = ACTIONS.get(name)
    if action is None:
        raise NotFoundError("Action function not found")
    return (action.__doc__ or f"{name}: see docs/opendata.md").strip()


ACTIONS: dict[str, Callable[[Call], Any]] = {
    "package_list": package_list,
    "package_search": package_search,
    "package_show": package_show,
    "resource_show": resource_show,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "datastore_search": datastore_search,
    "status_show": status_show,
    "site_read": site_read,
    "license_list": license_list,
    "tag_list": tag_list,
    "help_show": help_show,
}


# -- the endpoint ---------------------------------------------------------------------------


def api_key_principal(request: Request, db: Session) -> Principal | None:
    """The principal behind CKAN's key headers (a platform API token), if valid."""
    from gongzhi.security.auth import authenticate_token

    for header in ("x-ckan-api-key", "authorization"):
        value = request.headers.get(header, "").strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        if value:
            principal = authenticate_token(db, value)
            if principal is not None:
                return principal
    return None


def _envelope(request: Request, name: str, status: int, **body: Any) -> JSONResponse:
    help_url = f"{_base_url(request)}/api/3/action/help_show?name={name}"
    return JSONResponse({"help": help_url, **body}, status_code=status)


async def _action(
    name: str, request: Request, db: Session, principal: Principal | None
) -> Response:
    action = ACTIONS.get(name)
    if action is None:
        return JSONResponse(f"Bad request - Action name not known: {name}", status_code=400)
    data = await _read_params(request)
    if isinstance(data, str):
        return JSONResponse(data, status_code=400)
    params = Params(data)

    def run() -> Response:
        caller = principal or api_key_principal(request, db)
        try:
            result = action(Call(request, db, caller, params))
        except ActionError as exc:
            return _envelope(request, name, exc.status, success=False, error=exc.body())
        return _envelope(request, name, 200, success=True, result=result)

    # The body is read on the event loop; the database work runs in the thread pool.
    return await run_in_threadpool(run)


@router.get("/api/action/{name}", summary="CKAN action (GET)")
@router.get("/api/3/action/{name}", summary="CKAN action (GET, versioned path)")
async def action_get(
    name: str, request: Request, db: DB, principal: Principal | None = public()
) -> Response:
    return await _action(name, request, db, principal)


@router.post("/api/action/{name}", summary="CKAN action (POST)")
@router.post("/api/3/action/{name}", summary="CKAN action (POST, versioned path)")
async def action_post(
    name: str, request: Request, db: DB, principal: Principal | None = public()
) -> Response:
    return await _action(name, request, db, principal)
