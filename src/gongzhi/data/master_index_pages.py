"""The master index's pages (data officers): the entities found across datasets, and one
entity with its records from each dataset (masked) and the match-weight waterfall of each
scored pair of its records; the persons' households, and one household with its members
(masked), the benefits lists it is on and the findings about it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongzhi.crypto import get_provider
from gongzhi.data import findings as rules
from gongzhi.data import master_index as mi
from gongzhi.data.findings_models import KIND_NAMES as FINDING_KIND_NAMES
from gongzhi.data.findings_models import STATUS_NAMES as FINDING_STATUS_NAMES
from gongzhi.data.findings_models import Finding
from gongzhi.data.master_index_models import (
    KIND_ENTITY,
    KIND_PERSON,
    MasterHousehold,
    MasterIndexBuild,
    MasterLink,
    MasterPair,
)
from gongzhi.data.models import Dataset, DatasetRow
from gongzhi.data.queries import (
    access_master_entity,
    access_master_household,
    household_members,
    household_of_entity,
    list_master_entities,
    list_master_households,
    row_values,
)
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
# The page's tabs: the persons, their households, the legal entities.
HOUSEHOLDS = "household"
TAB_NAMES = {KIND_PERSON: N_("自然人"), HOUSEHOLDS: N_("户"), KIND_ENTITY: N_("法人")}
LIST_NAMES = {rules.LOW_INCOME: N_("低保"), rules.POVERTY: N_("防返贫监测")}
Id = Annotated[int, Path(le=2**62)]
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
    kind: str = Query(KIND_PERSON, pattern="^(person|entity|household)$"),
    min_datasets: int = Query(1, ge=1, le=20),
    one_list: bool = Query(False),
    page: int = Query(1, ge=1, le=100000),
    principal: Principal = require(READ),
) -> HTMLResponse:
    _ = translator(request)
    build_kind = KIND_PERSON if kind == HOUSEHOLDS else kind
    build = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == build_kind))
    context: dict[str, Any] = {
        "build": build,
        "kind": kind,
        "tab_names": {k: _(v) for k, v in TAB_NAMES.items()},
        "page": page,
        "min_datasets": min_datasets,
        "one_list": one_list,
    }
    if kind == HOUSEHOLDS:
        households = list_master_households(
            db,
            principal,
            one_list_only=one_list,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        total = households.total
        context |= {
            "households": households.households,
            "one_list_count": households.one_list_only,
            "region_names": rules._region_names(
                db, {h.region_code for h in households.households if h.region_code}
            ),
            "list_names": _list_names(request),
        }
    else:
        listing = list_master_entities(
            db,
            principal,
            kind=kind,
            min_datasets=min_datasets,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        total = listing.total
        context |= {
            "by_datasets": sorted(listing.by_datasets.items()),
            "entities": listing.entities,
        }
    context |= {"total": total, "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)}
    return render(request, "data/master_index.html", context)


def _list_names(request: Request) -> dict[str, str]:
    _ = translator(request)
    return {k: _(v) for k, v in LIST_NAMES.items()}


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
    household = household_of_entity(db, principal, entity)
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
            "household": household,
        },
    )


def _member_row(
    db: Session, provider: Any, link: MasterLink, dataset: Dataset
) -> dict[str, str | None]:
    """A member's name and ID number (masked, as on the entity page) and, where the registry
    keeps them unsealed, the relation to the head and the person's status."""
    row = db.get(DatasetRow, link.row_id)
    assert row is not None
    values = row_values(provider, link.version_id, row)
    shown: dict[str, str | None] = {"name": None, "id_number": None}
    columns = {"person_name": "name", "id_number": "id_number"}
    for f in dataset.table_schema.get("fields", []):
        column = columns.get(f.get("standardise") or "")
        if column and shown[column] is None and values.get(f["name"]) not in (None, ""):
            shown[column] = mask_for(f)(str(values[f["name"]]))
    unsealed = row.payload or {}
    shown["relation"] = unsealed.get(rules.RELATION_FIELD)
    shown["status"] = unsealed.get(rules.STATUS_FIELD)
    return shown


def _household_findings(
    db: Session, principal: Principal, household: MasterHousehold, code: str, members: list[int]
) -> list[Finding]:
    """The findings about the household (on one list only) and about its members, those the
    principal may read."""
    if not principal.can(Permission.DATA_FINDING_READ):
        return []
    found = db.scalars(
        select(Finding)
        .where(
            or_(
                Finding.fingerprint.in_(
                    rules.household_fingerprints(code, household.household_number)
                ),
                Finding.subject_entity_id.in_(members),
            )
        )
        .order_by(Finding.id)
    ).all()
    return [
        f
        for f in found
        if f.region_code is None or principal.can(Permission.DATA_FINDING_READ, f.region_code)
    ]


@router.get("/data/master-index/households/{household_id}", response_class=HTMLResponse)
def master_household_page(
    request: Request, household_id: Id, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    household = access_master_household(db, principal, household_id)
    registry = db.get(Dataset, household.dataset_id)
    assert registry is not None
    provider = get_provider(request.app.state.settings)
    members = household_members(db, household)
    links = {
        k.id: k
        for k in db.scalars(
            select(MasterLink).where(MasterLink.id.in_([m.link_id for m in members]))
        )
    }
    rows = [
        {
            "member": m,
            "head": m.entity_id == household.head_entity_id,
            **_member_row(db, provider, links[m.link_id], registry),
        }
        for m in members
    ]
    entity_ids = [m.entity_id for m in members]
    _ = translator(request)
    lists = [name for key, name in _list_names(request).items() if getattr(household, f"on_{key}")]
    return render(
        request,
        "data/master_household.html",
        {
            "household": household,
            "registry": registry,
            "region": rules._region_names(db, [household.region_code])[household.region_code]
            if household.region_code
            else None,
            "members": rows,
            "lists": lists,
            "findings": _household_findings(db, principal, household, registry.code, entity_ids),
            "finding_kind_names": {k.value: _(v) for k, v in FINDING_KIND_NAMES.items()},
            "finding_status_names": {s.value: _(v) for s, v in FINDING_STATUS_NAMES.items()},
            "build": db.get(MasterIndexBuild, household.build_id),
        },
    )
