"""The master index's pages (data officers): the entities found across datasets, and one
entity with its records from each dataset (masked) and the match-weight waterfall of each
scored pair of its records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.crypto import get_provider
from gongzhi.data import master_index as mi
from gongzhi.data.master_index_models import (
    KIND_ENTITY,
    KIND_PERSON,
    MasterIndexBuild,
    MasterLink,
    MasterPair,
)
from gongzhi.data.models import Dataset, DatasetRow
from gongzhi.data.queries import access_master_entity, list_master_entities, row_values
from gongzhi.data.sharing.delivery import mask_for
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, translator
from gongzhi.web.templating import render

router = APIRouter(tags=["data"], include_in_schema=False)

READ = Permission.DATA_MASTER_INDEX_READ
PAGE_SIZE = 50
KIND_NAMES = {KIND_PERSON: N_("自然人"), KIND_ENTITY: N_("法人")}
# A bar's length is one of these classes (CSS widths; no inline style under the CSP):
# weight magnitude in steps of 2 up to 40.
BAR_STEPS = 20


def _bar(weight: float) -> dict[str, Any]:
    step = min(BAR_STEPS, max(0, round(abs(weight) / 2)))
    return {"step": step, "sign": "pos" if weight >= 0 else "neg"}


@router.get("/data/master-index", response_class=HTMLResponse)
def master_index_page(
    request: Request,
    db: DB,
    kind: str = Query(KIND_PERSON, pattern="^(person|entity)$"),
    min_datasets: int = Query(1, ge=1, le=20),
    page: int = Query(1, ge=1, le=100000),
    principal: Principal = require(READ),
) -> HTMLResponse:
    _ = translator(request)
    build = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == kind))
    listing = list_master_entities(
        db,
        principal,
        kind=kind,
        min_datasets=min_datasets,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    total = listing.total
    return render(
        request,
        "data/master_index.html",
        {
            "build": build,
            "kind": kind,
            "kind_names": {k: _(v) for k, v in KIND_NAMES.items()},
            "by_datasets": sorted(listing.by_datasets.items()),
            "entities": listing.entities,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "min_datasets": min_datasets,
        },
    )


def _masked_record(
    db: Session, provider: Any, link: MasterLink, dataset: Dataset
) -> list[tuple[str, str]]:
    row = db.get(DatasetRow, link.row_id)
    assert row is not None
    values = row_values(provider, link.version_id, row)
    shown = []
    for f in dataset.table_schema.get("fields", []):
        value = values.get(f["name"])
        if value is None or value == "":
            continue
        text = str(value)
        if f.get("classification", "internal") not in ("public", "internal") or f.get(
            "standardise"
        ) in ("id_number", "person_name", "phone", "address"):
            text = mask_for(f)(text)
        shown.append((f.get("title") or f["name"], text))
    return shown


@router.get("/data/master-index/entities/{entity_id}", response_class=HTMLResponse)
def master_entity_page(
    request: Request, entity_id: int, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    entity = access_master_entity(db, principal, entity_id)
    build = db.get(MasterIndexBuild, entity.build_id)
    assert build is not None
    links = db.scalars(
        select(MasterLink).where(MasterLink.entity_id == entity.id).order_by(MasterLink.id)
    ).all()
    datasets = {
        d.id: d
        for d in db.scalars(select(Dataset).where(Dataset.id.in_({k.dataset_id for k in links})))
    }
    provider = get_provider(request.app.state.settings)
    records = [
        {
            "link": link,
            "dataset": datasets[link.dataset_id],
            "fields": _masked_record(db, provider, link, datasets[link.dataset_id]),
        }
        for link in links
    ]
    link_ids = [k.id for k in links]
    label = {
        k.id: f"{datasets[k.dataset_id].name} #{k.record_key.rsplit(':', 1)[-1]}" for k in links
    }
    pairs = db.scalars(
        select(MasterPair)
        .where(MasterPair.left_link_id.in_(link_ids), MasterPair.right_link_id.in_(link_ids))
        .order_by(MasterPair.match_weight.desc())
    ).all()
    waterfalls = [
        {
            "left": label[p.left_link_id],
            "right": label[p.right_link_id],
            "pair": p,
            "bars": [{**bar, **_bar(bar["weight"])} for bar in mi.waterfall(build.model, p)],
        }
        for p in pairs
    ]
    _ = translator(request)
    return render(
        request,
        "data/master_entity.html",
        {
            "entity": entity,
            "build": build,
            "kind_names": {k: _(v) for k, v in KIND_NAMES.items()},
            "records": records,
            "waterfalls": waterfalls,
        },
    )
