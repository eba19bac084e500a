"""The citizens' open-data portal (``/opendata``): search the open datasets, narrow by
providing department, read a dataset's fields, update cycle and quality, preview its first
rows and download them as CSV (``/opendata/{name}/{version}.csv``, streamed).

Everything here is public and shows what the CKAN API shows anonymously; a signed-in
principal holding ``data:catalogue:read`` may also download the conditionally open
datasets of its regions.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from gongzhi.data.labels import CLASS_NAMES, CYCLE_NAMES, DIMENSION_NAMES, TYPE_NAMES
from gongzhi.db import session_scope
from gongzhi.errors import NotFound
from gongzhi.opendata import datastore, queries
from gongzhi.opendata.queries import Hidden, Listing
from gongzhi.opendata.search import SearchQueryError, search
from gongzhi.security.deps import DB, public
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import translator
from gongzhi.web.templating import render

router = APIRouter(tags=["open data"], include_in_schema=False)

PAGE_SIZE = 20
PREVIEW_ROWS = 20


def _labels(request: Request) -> dict[str, dict[str, str]]:
    tr = translator(request)
    return {
        "dimension_names": {k: tr(v) for k, v in DIMENSION_NAMES.items()},
        "cycle_names": {k: tr(v) for k, v in CYCLE_NAMES.items()},
        "class_names": {k: tr(v) for k, v in CLASS_NAMES.items()},
        "type_names": {k: tr(v) for k, v in TYPE_NAMES.items()},
    }


@router.get("/opendata", response_class=HTMLResponse)
def portal(
    request: Request,
    db: DB,
    principal: Principal | None = public(),
    q: str = "",
    organization: str = "",
    page: int = 1,
) -> HTMLResponse:
    q = q.strip()[:100]
    organization = organization.strip()[:60]
    page = max(1, min(page, 10_000))
    listings = queries.published(db, None, include_private=False)
    # Quotes are the only query syntax a citizen's words might trip over; the portal
    # searches words, never fields.
    words = q.replace('"', " ").replace(":", " ")
    fq = f'organization:"{organization}"' if organization else ""
    try:
        found = search(
            listings,
            q=words,
            fq=fq,
            start=(page - 1) * PAGE_SIZE,
            rows=PAGE_SIZE,
            facet_fields=["organization"],
            facet_limit=-1,
        )
    except SearchQueryError:
        found = search(listings, q="", rows=0, facet_fields=["organization"])
    titles = {x.organization_name: x.department.name for x in listings}
    facet = [
        {"name": name, "title": titles.get(name, name), "count": count}
        for name, count in found.facets.get("organization", {}).items()
    ]

    def link(**changes: object) -> str:
        params = {"q": q, "organization": organization, "page": page, **changes}
        kept = {k: v for k, v in params.items() if v not in ("", None, 1)}
        return "/opendata" + ("?" + urlencode(kept) if kept else "")

    return render(
        request,
        "opendata/portal.html",
        {
            "q": q,
            "organization": organization,
            "organization_title": titles.get(organization, organization),
            "results": found.results,
            "count": found.count,
            "facet": facet,
            "page": page,
            "has_next": page * PAGE_SIZE < found.count,
            "link": link,
            **_labels(request),
        },
    )


def _listing(db: DB, principal: Principal | None, name: str) -> Listing:
    try:
        listing = queries.find(db, principal, name)
    except Hidden:
        listing = None
    if listing is None:
        raise NotFound("没有这个开放数据集 / no such open dataset", code="not_found")
    return listing


@router.get("/opendata/{name}", response_class=HTMLResponse)
def dataset_page(
    request: Request, name: str, db: DB, principal: Principal | None = public()
) -> HTMLResponse:
    listing = _listing(db, None, name)
    preview = None
    if listing.version is not None and listing.fields:
        preview = datastore.search_rows(
            db, listing.version, listing.fields, limit=PREVIEW_ROWS, include_total=False
        )
    return render(
        request,
        "opendata/dataset.html",
        {
            "listing": listing,
            "dataset": listing.dataset,
            "fields": listing.fields,
            "quality": listing.quality,
            "preview": preview,
            "preview_rows": PREVIEW_ROWS,
            "api_url": f"/api/3/action/package_show?id={quote(listing.name)}",
            **_labels(request),
        },
    )


@router.get("/opendata/{name}/{version}.csv")
def download_csv(
    request: Request, name: str, version: int, db: DB, principal: Principal | None = public()
) -> StreamingResponse:
    """The open fields of one version (immutable, so the URL is stable), streamed."""
    listing = _listing(db, principal, name)
    found = queries.version_of(db, listing, version)
    if found is None:
        raise NotFound("没有这个版本 / no such version", code="not_found")
    fields = queries.open_fields(listing.dataset, found)
    version_id = found.id
    factory = request.app.state.session_factory

    def chunks() -> Iterator[bytes]:
        # The request's session closes when this route returns; the rows stream from a
        # read-only unit of work of their own.
        with session_scope(factory, write=False) as stream_db:
            held = stream_db.get(type(found), version_id)
            assert held is not None
            for text in datastore.csv_chunks(stream_db, held, fields):
                yield text.encode("utf-8")

    filename = f"{listing.name}-v{found.number}.csv"
    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''"
            + quote(filename),
            # Versions never change; a conditionally open one stays out of shared caches.
            "Cache-Control": "private, no-store" if listing.private else "public, max-age=3600",
        },
    )
