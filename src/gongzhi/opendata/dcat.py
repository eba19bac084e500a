"""The open catalogue as DCAT (DCAT-AP style) JSON-LD at ``/catalog.jsonld``, for
harvesters (CKAN's ckanext-dcat, data.europa.eu-style portals, national catalogues).

One ``dcat:Catalog`` with every openly published dataset (conditionally open ones are left
out: a harvester is anonymous). The context is inline, so the document expands without
fetching anything; update cycles use the EU Publications Office frequency vocabulary and
media types IANA's URIs, as DCAT-AP asks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gongzhi.data.models import UpdateCycle
from gongzhi.opendata import queries
from gongzhi.opendata.queries import Listing
from gongzhi.security.deps import DB, public
from gongzhi.security.principal import Principal

router = APIRouter(tags=["open data (DCAT)"])

MEDIA_TYPE = "application/ld+json"
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    UpdateCycle.REALTIME.value: "UPDATE_CONT",
    UpdateCycle.DAILY.value: "DAILY",
    UpdateCycle.WEEKLY.value: "WEEKLY",
    UpdateCycle.MONTHLY.value: "MONTHLY",
    UpdateCycle.QUARTERLY.value: "QUARTERLY",
    UpdateCycle.HALF_YEARLY.value: "ANNUAL_2",
    UpdateCycle.YEARLY.value: "ANNUAL",
    UpdateCycle.IRREGULAR.value: "IRREG",
}
CSV_MEDIA_TYPE = "http://www.iana.org/assignments/media-types/text/csv"

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:modified": {"@type": "xsd:dateTime"},
    "dct:issued": {"@type": "xsd:date"},
    "dcat:keyword": {"@language": "zh"},
    "dct:title": {"@language": "zh"},
    "dct:description": {"@language": "zh"},
    "foaf:name": {"@language": "zh"},
    "dcat:byteSize": {"@type": "xsd:decimal"},
}


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dataset(base: str, listing: Listing) -> dict[str, Any]:
    d = listing.dataset
    dept = d.department
    node: dict[str, Any] = {
        "@id": f"{base}/opendata/{listing.name}",
        "@type": "dcat:Dataset",
        "dct:identifier": d.code,
        "dct:title": d.name,
        "dct:description": d.abstract or d.name,
        "dct:publisher": {
            "@id": f"{base}/opendata?organization={listing.organization_name}",
            "@type": "foaf:Organization",
            "foaf:name": dept.name,
        },
        "dct:modified": _utc(listing.modified),
        "dct:accrualPeriodicity": {"@id": FREQUENCY + FREQUENCIES[d.update_cycle]},
        "dcat:landingPage": {"@id": f"{base}/opendata/{listing.name}"},
        "dct:license": {"@id": listing.license["url"] or listing.license["id"]},
        "dcat:keyword": listing.tags,
    }
    if d.release_date is not None:
        node["dct:issued"] = d.release_date.isoformat()
    if listing.version is not None and listing.csv_path is not None:
        url = base + listing.csv_path
        node["dcat:distribution"] = [
            {
                "@id": url,
                "@type": "dcat:Distribution",
                "dct:title": f"{d.name}（v{listing.version.number}，CSV）",
                "dcat:downloadURL": {"@id": url},
                "dcat:accessURL": {"@id": f"{base}/opendata/{listing.name}"},
                "dcat:mediaType": {"@id": CSV_MEDIA_TYPE},
                "dct:format": "CSV",
                "dct:modified": _utc(listing.version.imported_at),
            }
        ]
    else:
        node["dcat:distribution"] = []
    return node


def catalog(base: str, listings: list[Listing]) -> dict[str, Any]:
    modified = max((x.modified for x in listings), default=None)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base}/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": "共治开放数据目录",
        "dct:description": "城乡共治平台各部门无条件开放的数据集",
        "foaf:homepage": {"@id": f"{base}/opendata"},
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/ZHO"},
        "dcat:dataset": [_dataset(base, x) for x in listings],
    }
    if modified is not None:
        doc["dct:modified"] = _utc(modified)
    return doc


@router.get("/catalog.jsonld", summary="The open catalogue as DCAT JSON-LD")
def catalog_jsonld(
    request: Request, db: DB, principal: Principal | None = public()
) -> JSONResponse:
    listings = queries.published(db, None, include_private=False)
    base = str(request.base_url).rstrip("/")
    return JSONResponse(catalog(base, listings), media_type=MEDIA_TYPE)
