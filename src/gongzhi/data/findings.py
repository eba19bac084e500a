"""Findings: rules over the master index that show where departments contradict each other
(docs/data.md, "Findings").

``run_findings`` runs every rule over the current person and legal-entity builds of the
master index and writes what it finds into ``data_finding``, keyed by a stable fingerprint:
a rebuild finds the same findings again (their row references and subject entity are
refreshed), a finding whose contradiction is gone from the data is marked
``resolved_by_data``, and a dismissed finding stays dismissed.

The rules read only the rows' unsealed fields (status, household number, region codes, the
legal-entity register's public fields) and the region the import resolved from an address;
no personal field is opened. Which dataset plays which part is told by the shipped schema it
was catalogued with (``ROLES``).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.data.findings_models import Finding, FindingKind, FindingStatus
from gongzhi.data.master_index_models import (
    KIND_ENTITY,
    KIND_PERSON,
    MasterEntity,
    MasterIndexBuild,
    MasterLink,
)
from gongzhi.data.models import Dataset, DatasetRow
from gongzhi.db import utcnow

# The part a dataset plays, by the name of the shipped schema it was catalogued with.
REGISTRY = "registry"  # 户籍: status (死亡) and household number (户号)
LOW_INCOME = "low_income"  # 低保
POVERTY = "poverty"  # 防返贫监测
REGISTER = "register"  # 法人登记
ROLES = {
    "household_registry": REGISTRY,
    "dibao_list": LOW_INCOME,
    "poverty_monitoring": POVERTY,
    "legal_entity": REGISTER,
}
BENEFIT_LISTS = (LOW_INCOME, POVERTY)
LIST_NAMES = {LOW_INCOME: "低保", POVERTY: "防返贫监测"}
LIST_NAMES_EN = {LOW_INCOME: "low-income support", POVERTY: "poverty monitoring"}
# Field names in the shipped schemas.
STATUS_FIELD = "人员状态"
DECEASED = "死亡"
HOUSEHOLD_FIELD = "户号"
RELATION_FIELD = "与户主关系"
HEAD = "户主"
# A low-income row whose support has stopped (停保) is not on the list.
SUPPORT_STATUS_FIELD = "保障状态"
SUPPORT_STOPPED = "停保"
CREDIT_CODE_FIELD = "统一社会信用代码"
LEGAL_REP_FIELD = "法定代表人"
CAPITAL_FIELD = "注册资本"
# The finest region level a rule compares: township (9 significant digits) or village (12).
MIN_REGION_DIGITS = 9
# Findings the next run may resolve when their contradiction is gone.
LIVE = (FindingStatus.OPEN.value, FindingStatus.CONFIRMED.value)


@dataclass
class RowRef:
    """One dataset row of the index, with the unsealed values the rules read."""

    link_id: int
    entity_id: int
    dataset: Dataset
    role: str | None
    row_id: int
    record_key: str
    row_key: str
    payload: dict[str, Any]
    region: str | None  # the most precise region code the row gives

    @property
    def identity(self) -> str:
        """Stable across versions and rebuilds: the dataset and the row's key (the primary
        key's value, or its keyed index when the key is a sealed field)."""
        return f"{self.dataset.code}:{self.row_key}"

    def reference(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.code,
            "dataset_id": self.dataset.id,
            "row_id": self.row_id,
            "record_key": self.record_key,
            "role": self.role,
        }

    @property
    def label(self) -> str:
        return f"{self.dataset.name} #{self.record_key.rsplit(':', 1)[-1]}"


@dataclass
class Candidate:
    kind: FindingKind
    fingerprint: str
    index_kind: str
    build_id: int
    subject_entity_id: int | None
    region_code: str | None
    rows: list[RowRef]
    explanation: str


@dataclass
class RunSummary:
    found: Counter[str] = field(default_factory=Counter)
    new: int = 0
    seen_again: int = 0
    reopened: int = 0
    resolved: int = 0
    evaluated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "found": dict(sorted(self.found.items())),
            "new": self.new,
            "seen_again": self.seen_again,
            "reopened": self.reopened,
            "resolved": self.resolved,
        }


def fingerprint(kind: str, identities: Iterable[str]) -> str:
    text = kind + "\x1f" + "\x1f".join(sorted(set(identities)))
    return hashlib.sha256(text.encode()).hexdigest()


# -- regions ------------------------------------------------------------------------------


def significant(code: str | None) -> str | None:
    """The significant prefix of a 12-digit region code (village 12, township 9, county 6,
    city 4, province 2 digits); None for no code."""
    if not code or len(code) != 12 or not code.isdigit():
        return None
    for digits, tail in ((12, 9), (9, 6), (6, 4), (4, 2)):
        if code[tail:digits].strip("0"):
            return code[:digits]
    return code[:2]


def compatible(a: str, b: str) -> bool:
    """Two places fit when one lies inside the other (a village inside its township)."""
    return a.startswith(b) or b.startswith(a)


def _region_field(dataset: Dataset) -> str | None:
    return next(
        (
            f["name"]
            for f in dataset.table_schema.get("fields", [])
            if f.get("standardise") == "region_code"
        ),
        None,
    )


def _row_region(resolved: str | None, field_value: Any) -> str | None:
    """The more precise of the region the import resolved from the address and the row's
    region-code field (a list often gives only the county's code)."""
    best: str | None = None
    for code in (resolved, str(field_value) if field_value else None):
        prefix = significant(code)
        if prefix is not None and (best is None or len(prefix) > len(significant(best) or "")):
            best = code
    return best


def _region_names(db: Session, codes: Iterable[str]) -> dict[str, str]:
    from gongzhi.regions.models import Region

    wanted = set(codes)
    townships = {c[:9] + "000" for c in wanted}
    rows = db.execute(
        select(Region.code, Region.name).where(Region.code.in_(wanted | townships))
    ).all()
    names = dict(rows)
    out = {}
    for code in wanted:
        name = names.get(code, code)
        township = code[:9] + "000"
        if township != code and township in names:
            name = names[township] + name
        out[code] = f"{name}（{code}）"
    return out


# -- reading a build ----------------------------------------------------------------------


def _rows_of_build(db: Session, build: MasterIndexBuild) -> list[RowRef]:
    result = db.execute(
        select(
            MasterLink.id,
            MasterLink.entity_id,
            MasterLink.dataset_id,
            MasterLink.row_id,
            MasterLink.record_key,
            DatasetRow.row_key,
            DatasetRow.payload,
            DatasetRow.region_code,
        )
        .join(MasterEntity, MasterEntity.id == MasterLink.entity_id)
        .join(DatasetRow, DatasetRow.id == MasterLink.row_id)
        .where(MasterEntity.build_id == build.id)
        .order_by(MasterLink.id)
    ).all()
    datasets = {
        d.id: d for d in db.scalars(select(Dataset).where(Dataset.id.in_({r[2] for r in result})))
    }
    region_fields = {i: _region_field(d) for i, d in datasets.items()}
    refs = []
    for link_id, entity_id, dataset_id, row_id, key, row_key, payload, resolved in result:
        dataset = datasets[dataset_id]
        region_field = region_fields[dataset_id]
        refs.append(
            RowRef(
                link_id=link_id,
                entity_id=entity_id,
                dataset=dataset,
                role=ROLES.get(str(dataset.table_schema.get("name", ""))),
                row_id=row_id,
                record_key=key,
                row_key=row_key,
                payload=payload or {},
                region=_row_region(resolved, (payload or {}).get(region_field or "")),
            )
        )
    return refs


def rows_by_entity(db: Session, build: MasterIndexBuild) -> dict[int, list[RowRef]]:
    """The rows of ``build``, by the entity they belong to."""
    by_entity: dict[int, list[RowRef]] = defaultdict(list)
    for ref in _rows_of_build(db, build):
        by_entity[ref.entity_id].append(ref)
    return by_entity


def _on_list(row: RowRef) -> bool:
    if row.role == LOW_INCOME:
        return row.payload.get(SUPPORT_STATUS_FIELD) != SUPPORT_STOPPED
    return row.role == POVERTY


def _deceased(row: RowRef) -> bool:
    return row.role == REGISTRY and row.payload.get(STATUS_FIELD) == DECEASED


# -- the person rules ---------------------------------------------------------------------


def deceased_on_list(
    build: MasterIndexBuild, by_entity: dict[int, list[RowRef]]
) -> list[Candidate]:
    """Registered deceased in the household registry, and on a benefits list."""
    out = []
    for entity_id, rows in by_entity.items():
        dead = [r for r in rows if _deceased(r)]
        listed = [r for r in rows if _on_list(r)]
        if not dead or not listed:
            continue
        names = "、".join(sorted({r.dataset.name for r in listed}))
        out.append(
            Candidate(
                FindingKind.DECEASED_ON_LIST,
                # The person: their death registration (the lists they are on may change).
                fingerprint(FindingKind.DECEASED_ON_LIST, (r.identity for r in dead)),
                KIND_PERSON,
                build.id,
                entity_id,
                dead[0].region,
                dead + listed,
                f"{dead[0].dataset.name}登记为死亡，仍在{names}上 / registered deceased in "
                f"{dead[0].dataset.name}, still on {names}",
            )
        )
    return out


def two_addresses(
    build: MasterIndexBuild, by_entity: dict[int, list[RowRef]], names: dict[str, str]
) -> list[Candidate]:
    """One person, two places: two datasets give regions of which neither lies inside the
    other, each at least at township level (a county-only code says nothing)."""
    out = []
    for entity_id, rows in by_entity.items():
        located = [
            (r, significant(r.region) or "")
            for r in rows
            if len(significant(r.region) or "") >= MIN_REGION_DIGITS
        ]
        involved: dict[int, RowRef] = {}
        for i, (a, pa) in enumerate(located):
            for b, pb in located[i + 1 :]:
                if a.dataset.id != b.dataset.id and not compatible(pa, pb):
                    involved[a.link_id] = a
                    involved[b.link_id] = b
        if not involved:
            continue
        chosen = sorted(involved.values(), key=lambda r: r.link_id)
        says = "；".join(f"{r.dataset.name}：{names.get(r.region or '', r.region)}" for r in chosen)
        anchor = [r for r in rows if r.role == REGISTRY]
        registry = next((r for r in chosen if r.role == REGISTRY), chosen[0])
        out.append(
            Candidate(
                FindingKind.TWO_ADDRESSES,
                # The person: their registry rows, else the rows that disagree.
                fingerprint(
                    FindingKind.TWO_ADDRESSES,
                    (r.identity for r in (anchor or chosen)),
                ),
                KIND_PERSON,
                build.id,
                entity_id,
                registry.region,
                chosen,
                f"{says} / the datasets place the person in different villages or townships",
            )
        )
    return out


@dataclass
class StoredHousehold:
    """A household of the build as ``gongzhi.data.households`` derived and stored it."""

    registry_code: str
    number: str
    region_code: str | None
    head_entity_id: int | None
    members: list[int]  # living members' entity ids


def eligible_missing_from_list(
    build: MasterIndexBuild,
    by_entity: dict[int, list[RowRef]],
    stored: list[StoredHousehold],
) -> list[Candidate]:
    """A household on one benefits list and missing from the other.

    The households are the master index's (``gongzhi.data.households``, stored with the
    person build): the persons whose registry rows carry the same household number. Persons
    with no registry row have no known household and persons registered deceased do not
    count (their contradiction is ``deceased_on_list``). Runs only when both lists are in
    the build."""
    roles = {r.role for rows in by_entity.values() for r in rows}
    if not all(role in roles for role in BENEFIT_LISTS):
        return []
    household_of = {e: h for h in stored for e in h.members}
    households: dict[tuple[str, str], list[int]] = defaultdict(list)
    found: dict[tuple[str, str], StoredHousehold] = {}
    for entity_id in by_entity:
        household = household_of.get(entity_id)
        if household is not None:
            key = (household.registry_code, household.number)
            households[key].append(entity_id)
            found[key] = household
    out = []
    for key, members in households.items():
        household = found[key]
        rows = [r for e in members for r in by_entity[e]]
        present = {
            role: [r for r in rows if r.role == role and _on_list(r)] for role in BENEFIT_LISTS
        }
        on = [role for role in BENEFIT_LISTS if present[role]]
        if len(on) != 1:
            continue
        (listed,) = on
        (missing,) = [role for role in BENEFIT_LISTS if role != listed]
        registry = sorted((r for r in rows if r.role == REGISTRY), key=lambda r: r.link_id)
        subject = household.head_entity_id or registry[0].entity_id
        identities = [f"{key[0]}:{HOUSEHOLD_FIELD}:{key[1]}", f"on:{listed}"]
        involved = sorted(present[listed] + registry, key=lambda r: r.link_id)
        list_name = present[listed][0].dataset.name
        out.append(
            Candidate(
                FindingKind.ELIGIBLE_MISSING,
                fingerprint(FindingKind.ELIGIBLE_MISSING, identities),
                KIND_PERSON,
                build.id,
                subject,
                household.region_code,
                involved,
                f"该户（{len(members)} 人）在{list_name}上，不在{LIST_NAMES[missing]}名单上 / "
                f"the household (members: {len(members)}) is on {list_name} but not on the "
                f"{LIST_NAMES_EN[missing]} list",
            )
        )
    return out


def household_fingerprints(registry_code: str, number: str) -> list[str]:
    """The fingerprints a finding about this household has (one per list it is on)."""
    return [
        fingerprint(
            FindingKind.ELIGIBLE_MISSING, [f"{registry_code}:{HOUSEHOLD_FIELD}:{number}", f"on:{r}"]
        )
        for r in BENEFIT_LISTS
    ]


# -- the legal-entity rule ----------------------------------------------------------------


def _same_person_name(a: str, b: str) -> bool:
    """The same legal representative written twice: equal after simplification, equal in
    (fuzzy) pinyin, or one character apart (a clerk's typo)."""
    from gongzhi.linkage.standardise import normalise_name

    na, nb = normalise_name(a), normalise_name(b)
    if not na[0] or not nb[0]:
        return True  # nothing to compare
    if na[0] == nb[0] or na[3] == nb[3]:
        return True
    return len(na[0]) == len(nb[0]) and sum(x != y for x, y in zip(na[0], nb[0], strict=True)) <= 1


def _capital(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def entity_conflicting_registration(
    build: MasterIndexBuild, by_entity: dict[int, list[RowRef]]
) -> list[Candidate]:
    """One legal entity (one entity of the index, or rows with the same valid credit code)
    registered with a different region, legal representative or registered capital."""
    from gongzhi.data.standardise import uscc_valid

    rows = [r for rs in by_entity.values() for r in rs if r.role == REGISTER]
    parent = {r.link_id: r.link_id for r in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    first_of: dict[Any, int] = {}
    for r in rows:
        code = str(r.payload.get(CREDIT_CODE_FIELD) or "")
        for key in (("entity", r.entity_id), ("code", code) if uscc_valid(code) else None):
            if key is None:
                continue
            if key in first_of:
                union(r.link_id, first_of[key])
            else:
                first_of[key] = r.link_id
    groups: dict[int, list[RowRef]] = defaultdict(list)
    for r in rows:
        groups[find(r.link_id)].append(r)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        differs: set[str] = set()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pa, pb = significant(a.region), significant(b.region)
                if (
                    pa
                    and pb
                    and min(len(pa), len(pb)) >= MIN_REGION_DIGITS
                    and not compatible(pa, pb)
                ):
                    differs.add("region")
                ca, cb = (
                    _capital(a.payload.get(CAPITAL_FIELD)),
                    _capital(b.payload.get(CAPITAL_FIELD)),
                )
                if ca is not None and cb is not None and abs(ca - cb) > 1e-6:
                    differs.add("capital")
                if not _same_person_name(
                    str(a.payload.get(LEGAL_REP_FIELD) or ""),
                    str(b.payload.get(LEGAL_REP_FIELD) or ""),
                ):
                    differs.add("legal_rep")
        if not differs:
            continue
        members.sort(key=lambda r: r.link_id)
        codes = sorted(
            {
                f"code:{c}"
                for r in members
                if uscc_valid(c := str(r.payload.get(CREDIT_CODE_FIELD) or ""))
            }
        )
        zh = {"region": "住所行政区划", "legal_rep": "法定代表人", "capital": "注册资本"}
        en = {
            "region": "registered region",
            "legal_rep": "legal representative",
            "capital": "capital",
        }
        order = [k for k in ("region", "legal_rep", "capital") if k in differs]
        where = "、".join(r.label for r in members)
        subject = Counter(r.entity_id for r in members).most_common(1)[0][0]
        out.append(
            Candidate(
                FindingKind.ENTITY_CONFLICT,
                # The company: its valid credit codes, else its rows.
                fingerprint(FindingKind.ENTITY_CONFLICT, codes or [r.identity for r in members]),
                KIND_ENTITY,
                build.id,
                subject,
                members[0].region,
                members,
                f"{'、'.join(zh[k] for k in order)}在各登记中不同（{where}） / "
                f"{', '.join(en[k] for k in order)} differ between the registrations ({where})",
            )
        )
    return out


# -- the run ------------------------------------------------------------------------------


def candidates(
    db: Session, read: dict[int, dict[int, list[RowRef]]] | None = None
) -> tuple[list[Candidate], list[str]]:
    """Every rule over the current builds; also the index kinds that were evaluated.
    ``read``: a build's rows by entity (build id → …) its caller has read already."""
    found: list[Candidate] = []
    evaluated = []
    for kind in (KIND_PERSON, KIND_ENTITY):
        build = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == kind))
        if build is None:
            continue
        evaluated.append(kind)
        by_entity = (read or {}).get(build.id) or rows_by_entity(db, build)
        if kind == KIND_PERSON:
            codes = {r.region for rs in by_entity.values() for r in rs if r.region}
            names = _region_names(db, codes)
            from gongzhi.data.households import stored_households

            stored = [
                StoredHousehold(code, h.household_number, h.region_code, h.head_entity_id, members)
                for h, code, members in stored_households(db, build)
            ]
            found += eligible_missing_from_list(build, by_entity, stored)
            found += deceased_on_list(build, by_entity)
            found += two_addresses(build, by_entity, names)
        else:
            found += entity_conflicting_registration(build, by_entity)
    return found, evaluated


def run_findings(
    db: Session,
    *,
    actor: Actor,
    now: datetime | None = None,
    read: dict[int, dict[int, list[RowRef]]] | None = None,
) -> RunSummary:
    """Run the rules and bring ``data_finding`` up to date (in the caller's transaction);
    one audit event ``data.findings.run`` with the counts. ``read``: as for
    :func:`candidates` (a master-index build hands over the rows it has just read)."""
    now = now or utcnow()
    found, evaluated = candidates(db, read)
    summary = RunSummary(evaluated=evaluated)
    existing = {
        f.fingerprint: f
        for f in db.scalars(select(Finding).where(Finding.index_kind.in_(evaluated or [""])))
    }
    seen: set[str] = set()
    for c in found:
        if c.fingerprint in seen:
            continue
        seen.add(c.fingerprint)
        summary.found[c.kind.value] += 1
        finding = existing.get(c.fingerprint)
        if finding is None:
            finding = Finding(
                kind=c.kind.value,
                fingerprint=c.fingerprint,
                status=FindingStatus.OPEN.value,
                index_kind=c.index_kind,
                first_seen_at=now,
            )
            db.add(finding)
            summary.new += 1
        else:
            summary.seen_again += 1
            if finding.status == FindingStatus.RESOLVED_BY_DATA.value:
                finding.status = FindingStatus.OPEN.value
                summary.reopened += 1
        finding.build_id = c.build_id
        finding.subject_entity_id = c.subject_entity_id
        finding.region_code = c.region_code
        finding.rows = [r.reference() for r in c.rows]
        finding.explanation = c.explanation
        finding.last_seen_at = now
        finding.gone_at = None
    for fp, finding in existing.items():
        if fp in seen or finding.gone_at is not None:
            continue
        finding.gone_at = now
        if finding.status in LIVE:
            finding.status = FindingStatus.RESOLVED_BY_DATA.value
            summary.resolved += 1
    db.flush()
    record(
        db,
        actor=actor,
        action="data.findings.run",
        object_type="data_finding",
        new=summary.as_dict(),
    )
    db.flush()
    return summary
