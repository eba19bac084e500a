"""Households of the master index: the persons whose household-registry rows carry the same
household number (户号) in the same registry dataset (docs/data.md, "Master index").

``derive_households`` is the one place that says who lives together: the person build
writes its result next to the persons (``write_households``, in the build's transaction),
the pages list and show it, and the findings rule "household on one benefits list only"
reads the stored households. Only unsealed fields are read (the household number, the
relation to the head, the person's status and the lists' support status), and nothing
personal is stored: a household is a registry's number, its members are entity references.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.data.findings import (
    HEAD,
    HOUSEHOLD_FIELD,
    LOW_INCOME,
    POVERTY,
    REGISTRY,
    RELATION_FIELD,
    RowRef,
    _deceased,
    _on_list,
    rows_by_entity,
)
from gongzhi.data.master_index_models import (
    KIND_PERSON,
    MasterHousehold,
    MasterHouseholdMember,
    MasterIndexBuild,
)


@dataclass
class Member:
    entity_id: int
    registry_row: RowRef  # the row that places the person in the household
    deceased: bool


@dataclass
class HouseholdDraft:
    dataset_id: int
    dataset_code: str
    number: str
    members: list[Member] = field(default_factory=list)
    region_code: str | None = None
    head_entity_id: int | None = None
    lists: set[str] = field(default_factory=set)

    @property
    def living(self) -> list[Member]:
        return [m for m in self.members if not m.deceased]


def _registered(rows: Iterable[RowRef]) -> list[RowRef]:
    return sorted(
        (r for r in rows if r.role == REGISTRY and r.payload.get(HOUSEHOLD_FIELD)),
        key=lambda r: r.link_id,
    )


def derive_households(by_entity: dict[int, list[RowRef]]) -> list[HouseholdDraft]:
    """The households of one person build, in the order of their first member's rows.

    A person belongs to the household of their first registry row that carries a household
    number (rows in link order), so a person registered twice (a duplicate row, a second
    registry) is in one household only. A person with no registry row has no known
    household: a list row the index could not link to the registry would otherwise look
    like a household of its own. The region, head and lists come from the living members
    (a deceased member is kept, marked, and counts for none of them); a household whose
    members are all deceased takes its region from them."""
    households: dict[tuple[int, str], HouseholdDraft] = {}
    for entity_id, rows in by_entity.items():
        registered = _registered(rows)
        if not registered:
            continue
        first = registered[0]
        number = str(first.payload[HOUSEHOLD_FIELD])
        draft = households.get((first.dataset.id, number))
        if draft is None:
            draft = HouseholdDraft(first.dataset.id, first.dataset.code, number)
            households[(first.dataset.id, number)] = draft
        draft.members.append(Member(entity_id, first, any(_deceased(r) for r in rows)))
    for draft in households.values():
        counted = draft.living or draft.members
        registry = sorted(
            (r for m in counted for r in by_entity[m.entity_id] if r.role == REGISTRY),
            key=lambda r: r.link_id,
        )
        head = next((r for r in registry if r.payload.get(RELATION_FIELD) == HEAD), None)
        draft.region_code = (head or registry[0]).region
        draft.head_entity_id = head.entity_id if head is not None and draft.living else None
        draft.lists = {
            r.role
            for m in draft.living
            for r in by_entity[m.entity_id]
            if r.role is not None and _on_list(r)
        }
    return list(households.values())


def write_households(
    db: Session, build: MasterIndexBuild, by_entity: dict[int, list[RowRef]] | None = None
) -> int:
    """Derive the households of a person build and store them with it (the caller's
    transaction); how many were written. A legal-entity build has none."""
    from gongzhi.data.master_index import _insert_returning_ids

    if build.kind != KIND_PERSON:
        return 0
    if by_entity is None:
        by_entity = rows_by_entity(db, build)
    drafts = derive_households(by_entity)
    ids = _insert_returning_ids(
        db,
        MasterHousehold,
        [
            {
                "build_id": build.id,
                "dataset_id": d.dataset_id,
                "household_number": d.number,
                "region_code": d.region_code,
                "head_entity_id": d.head_entity_id,
                "member_count": len(d.living),
                "deceased_count": len(d.members) - len(d.living),
                "on_low_income": LOW_INCOME in d.lists,
                "on_poverty": POVERTY in d.lists,
            }
            for d in drafts
        ],
    )
    _insert_returning_ids(
        db,
        MasterHouseholdMember,
        [
            {
                "household_id": household_id,
                "entity_id": m.entity_id,
                "link_id": m.registry_row.link_id,
                "deceased": m.deceased,
            }
            for household_id, d in zip(ids, drafts, strict=True)
            for m in d.members
        ],
    )
    return len(drafts)


def stored_households(
    db: Session, build: MasterIndexBuild
) -> list[tuple[MasterHousehold, str, list[int]]]:
    """The build's stored households, each with its registry's code and its living
    members' entity ids (in the order they were derived)."""
    from gongzhi.data.models import Dataset

    households = db.scalars(
        select(MasterHousehold)
        .where(MasterHousehold.build_id == build.id)
        .order_by(MasterHousehold.id)
    ).all()
    codes = dict(
        db.execute(
            select(Dataset.id, Dataset.code).where(
                Dataset.id.in_({h.dataset_id for h in households})
            )
        ).all()
    )
    members: dict[int, list[int]] = defaultdict(list)
    for household_id, entity_id in db.execute(
        select(MasterHouseholdMember.household_id, MasterHouseholdMember.entity_id)
        .join(MasterHousehold, MasterHousehold.id == MasterHouseholdMember.household_id)
        .where(MasterHousehold.build_id == build.id, MasterHouseholdMember.deceased.is_(False))
        .order_by(MasterHouseholdMember.id)
    ):
        members[household_id].append(entity_id)
    return [(h, codes[h.dataset_id], members[h.id]) for h in households]
