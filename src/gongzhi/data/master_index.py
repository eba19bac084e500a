"""The master index: one entity per person or legal entity found across the current versions
of the department datasets, built by the linkage engine (``gongzhi.linkage``), and the
persons' households (``gongzhi.data.households``).

``build_master_index`` reads the latest version of each dataset, opens the sealed personal
fields through the crypto provider, maps the fields to the linkage's input contract by their
schema hooks (``standardise`` / ``role``), trains (or reuses) the Splink model, clusters, and
replaces the previous index of that kind in the caller's transaction. Only row references,
match probabilities and match weights are stored; the values stay sealed in the dataset rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.crypto import CryptoProvider
from gongzhi.data.master_index_models import (
    KIND_ENTITY,
    KIND_PERSON,
    MasterEntity,
    MasterHousehold,
    MasterHouseholdMember,
    MasterIndexBuild,
    MasterLink,
    MasterPair,
)
from gongzhi.data.models import Dataset, DatasetRow, DatasetVersion
from gongzhi.data.queries import current_versions, row_values
from gongzhi.errors import Invalid

# Pairs at or above this match probability are kept with their explanation: the cluster's
# own links and the clerical-review band (0.5 to the threshold, docs/linkage.md).
KEEP_PAIRS_FROM = 0.5
Progress = Callable[[str, int, int], None]


@dataclass
class BuildResult:
    kind: str
    records: int
    entities: int
    pairs: int
    build_id: int
    cluster_of: dict[str, str] = field(default_factory=dict)  # record key → cluster id
    warnings: list[str] = field(default_factory=list)
    households: int = 0


def dataset_kind(dataset: Dataset) -> str | None:
    """Person datasets carry a citizen ID and a person name; legal-entity datasets a unified
    social credit code. Others (toilets, reservoirs) have no place in the index."""
    hooks = {f.get("standardise") for f in dataset.table_schema.get("fields", [])}
    if "uscc" in hooks:
        return KIND_ENTITY
    if {"id_number", "person_name"} <= hooks:
        return KIND_PERSON
    return None


def _field_map(dataset: Dataset, kind: str) -> dict[str, str]:
    """Linkage input column → the dataset's field name."""
    mapping: dict[str, str] = {}
    for f in dataset.table_schema.get("fields", []):
        hook, role, name = f.get("standardise"), f.get("role"), f["name"]
        if kind == KIND_PERSON:
            target = {
                "id_number": "id_number",
                "person_name": "name",
                "phone": "phone",
                "region_code": "region_code",
                "address": "address",
            }.get(hook or "") or {"sex": "sex", "birth_date": "birth_date"}.get(role or "")
        else:
            target = {
                "uscc": "credit_code",
                "text": "name",
                "person_name": "legal_rep",
                "region_code": "region_code",
                "address": "address",
            }.get(hook or "")
        if target and target not in mapping:
            mapping[target] = name
    return mapping


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _records(
    db: Session,
    provider: CryptoProvider,
    dataset: Dataset,
    version: DatasetVersion,
    kind: str,
    truth: dict[str, str] | None,
) -> Iterable[tuple[dict[str, str], int]]:
    mapping = _field_map(dataset, kind)
    rows = db.scalars(
        select(DatasetRow).where(DatasetRow.version_id == version.id).order_by(DatasetRow.id)
    )
    for row in rows:
        values = row_values(provider, version.id, row)
        key = f"{dataset.code}:{row.row_number}"
        rec = {column: _text(values.get(name)) for column, name in mapping.items()}
        # The address as the import resolved it beats the field's code (often the county's).
        if row.region_code:
            rec["region_code"] = row.region_code
            rec["address"] = ""
        rec["record_id"] = key
        # Splink names a table after each source: an identifier, not the code.
        rec["source"] = f"ds{dataset.id}"
        rec["true_id"] = (truth or {}).get(key, "")
        yield rec, row.id


def build_master_index(
    db: Session,
    *,
    datasets: list[Dataset],
    actor: Actor,
    provider: CryptoProvider,
    kind: str = KIND_PERSON,
    threshold: float = 0.95,
    model: dict[str, Any] | None = None,
    truth: dict[str, str] | None = None,
    progress: Progress | None = None,
    u_max_pairs: float = 1e6,
) -> BuildResult:
    """Link the current versions of ``datasets`` (those of ``kind``) and replace the index
    of that kind. The caller owns the transaction: a failure anywhere leaves the old index.

    ``truth`` (record key → true entity, synthetic data only) is passed through to the
    linkage so that callers can measure quality on ``BuildResult.cluster_of``.
    """
    from gongzhi.linkage.engine import LinkageRun
    from gongzhi.linkage.standardise import standardise_entities, standardise_persons

    chosen = [d for d in datasets if dataset_kind(d) == kind]
    versions = current_versions(db, chosen)
    chosen = [d for d in chosen if d.id in versions]
    if not chosen:
        raise Invalid(
            "没有可链接的数据集版本 / no dataset version of this kind to link",
            code="nothing_to_link",
        )
    records: list[dict[str, str]] = []
    row_of: dict[str, tuple[int, int, int]] = {}  # key → dataset id, version id, row id
    for dataset in chosen:
        version = versions[dataset.id]
        for rec, row_id in _records(db, provider, dataset, version, kind, truth):
            records.append(rec)
            row_of[rec["record_id"]] = (dataset.id, version.id, row_id)
    if progress:
        progress("读取记录 / records read", 0, 7)
    table = (standardise_persons if kind == KIND_PERSON else standardise_entities)(records)
    run = LinkageRun(
        table,
        kind=kind,
        model=model,
        u_max_pairs=u_max_pairs,
        progress=(lambda label, done, total: progress(label, done + 1, total + 1))
        if progress
        else None,
    )
    try:
        clusters = run.run(threshold)
    except ValueError as exc:
        # Training estimates the prior from records sharing an identifier; with none (each
        # credit code once, as a register keyed by it delivers them) there is nothing to
        # estimate from, and Splink fails on log2(0).
        raise Invalid(
            "没有共用证件号码或信用代码的记录，无法训练模型；请给出已保存的模型 / "
            "no records share an identifier, so no model can be trained: give a saved model",
            code="cannot_train",
        ) from exc
    cluster_of = dict(
        zip(
            clusters["record_id"].to_pylist(),
            [str(c) for c in clusters["cluster_id"].to_pylist()],
            strict=True,
        )
    )
    trained = run.model_dict()
    pairs = _kept_pairs(run)

    # Replace the previous index of this kind (same transaction).
    old = db.scalar(select(MasterIndexBuild).where(MasterIndexBuild.kind == kind))
    if old is not None:
        _delete_build(db, old.id)
    build = MasterIndexBuild(
        kind=kind,
        built_by_label=actor.audit_label,
        threshold=threshold,
        model=trained,
        sources=[{"code": d.code, "version": versions[d.id].number} for d in chosen],
        record_count=len(records),
        entity_count=0,
        pair_count=0,
    )
    db.add(build)
    db.flush()

    members: dict[str, list[str]] = defaultdict(list)
    for key, cluster in cluster_of.items():
        members[cluster].append(key)
    best: dict[str, float] = {}
    for left, right, _weight, probability, _levels in pairs:
        if cluster_of.get(left) == cluster_of.get(right):
            for key in (left, right):
                best[key] = max(best.get(key, 0.0), probability)
    connection = db.connection()
    entity_rows = [
        {
            "build_id": build.id,
            "kind": kind,
            "record_count": len(keys),
            "dataset_count": len({row_of[k][0] for k in keys}),
        }
        for keys in members.values()
    ]
    entity_ids = _insert_returning_ids(db, MasterEntity, entity_rows)
    link_rows = []
    for entity_id, keys in zip(entity_ids, members.values(), strict=True):
        for key in keys:
            dataset_id, version_id, row_id = row_of[key]
            link_rows.append(
                {
                    "entity_id": entity_id,
                    "dataset_id": dataset_id,
                    "version_id": version_id,
                    "row_id": row_id,
                    "record_key": key,
                    "match_probability": best.get(key),
                }
            )
    link_ids = _insert_returning_ids(db, MasterLink, link_rows)
    link_of = {row["record_key"]: link_id for row, link_id in zip(link_rows, link_ids, strict=True)}
    if progress:
        progress("写入主索引 / index written", 7, 7)
    pair_rows = [
        {
            "build_id": build.id,
            "left_link_id": link_of[left],
            "right_link_id": link_of[right],
            "match_weight": weight,
            "match_probability": probability,
            "levels": levels,
        }
        for left, right, weight, probability, levels in pairs
    ]
    for start in range(0, len(pair_rows), 5000):
        connection.execute(insert(MasterPair), pair_rows[start : start + 5000])
    build.entity_count = len(entity_rows)
    build.pair_count = len(pair_rows)
    # The persons' households, from the registry rows just linked (docs/data.md); the
    # findings below read the same rows, so they are read once.
    from gongzhi.data.findings import rows_by_entity
    from gongzhi.data.households import write_households

    by_entity = rows_by_entity(db, build)
    households = write_households(db, build, by_entity)
    record(
        db,
        actor=actor,
        action="data.master_index.build",
        object_type="data_master_build",
        object_id=build.id,
        new={
            "kind": kind,
            "sources": build.sources,
            "records": build.record_count,
            "entities": build.entity_count,
            "pairs": build.pair_count,
            "households": households,
            "threshold": threshold,
            "model": "given" if model is not None else "trained",
            "prior": trained.get("probability_two_random_records_match"),
        },
    )
    db.flush()
    # The findings follow the index they are read from (docs/data.md, "Findings").
    from gongzhi.data.findings import run_findings

    run_findings(db, actor=actor, read={build.id: by_entity})
    return BuildResult(
        kind,
        len(records),
        build.entity_count,
        build.pair_count,
        build.id,
        cluster_of,
        run.warnings,
        households,
    )


def _insert_returning_ids(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert through the ORM in chunks and return the new ids in the rows' order (the ORM
    keeps each object's id; a bulk RETURNING does not promise its rows' order)."""
    ids: list[int] = []
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        objects = [model(**row) for row in chunk]
        db.add_all(objects)
        db.flush()
        ids.extend(o.id for o in objects)
    return ids


def _delete_build(db: Session, build_id: int) -> None:
    entity_ids = select(MasterEntity.id).where(MasterEntity.build_id == build_id)
    household_ids = select(MasterHousehold.id).where(MasterHousehold.build_id == build_id)
    db.execute(
        delete(MasterHouseholdMember).where(MasterHouseholdMember.household_id.in_(household_ids))
    )
    db.execute(delete(MasterHousehold).where(MasterHousehold.build_id == build_id))
    db.execute(delete(MasterPair).where(MasterPair.build_id == build_id))
    db.execute(delete(MasterLink).where(MasterLink.entity_id.in_(entity_ids)))
    db.execute(delete(MasterEntity).where(MasterEntity.build_id == build_id))
    db.execute(delete(MasterIndexBuild).where(MasterIndexBuild.id == build_id))
    db.flush()


def _kept_pairs(run: Any) -> list[tuple[str, str, float, float, dict[str, list[float]]]]:
    """The scored pairs worth keeping, each with its comparisons' levels and weights."""
    table = run.predictions.as_pyarrow_table()
    names = [c[len("gamma_") :] for c in table.column_names if c.startswith("gamma_")]
    out = []
    wanted = ["record_id_l", "record_id_r", "match_weight", "match_probability"]
    wanted += [f"{prefix}_{name}" for name in names for prefix in ("gamma", "mw")]
    columns = {c: table[c].to_pylist() for c in wanted}
    for i, probability in enumerate(columns["match_probability"]):
        if probability is None or probability < KEEP_PAIRS_FROM:
            continue
        levels = {
            name: [int(columns[f"gamma_{name}"][i]), _clamped(columns[f"mw_{name}"][i])]
            for name in names
        }
        out.append(
            (
                columns["record_id_l"][i],
                columns["record_id_r"][i],
                float(columns["match_weight"][i]),
                float(probability),
                levels,
            )
        )
    return out


def _clamped(value: Any) -> float:
    """A match weight kept within ±40 (a fixed m of 10⁻¹⁵ gives about -50; ±inf is not JSON)."""
    if value is None or math.isnan(float(value)):
        return 0.0
    return max(-40.0, min(40.0, float(value)))


# -- explanations -------------------------------------------------------------------------


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison → gamma → level label, from a saved Splink model (levels in order: the
    null level is -1, the others count down to 0 for "different")."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model.get("comparisons", []):
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        by_gamma = {-1: "空值 / null"}
        for gamma, level in zip(range(len(non_null) - 1, -1, -1), non_null, strict=True):
            by_gamma[gamma] = str(level.get("label_for_charts") or level.get("sql_condition"))
        labels[comparison["output_column_name"]] = by_gamma
    return labels


def comparison_titles(model: dict[str, Any]) -> dict[str, str]:
    return {
        c["output_column_name"]: str(c.get("comparison_description") or c["output_column_name"])
        for c in model.get("comparisons", [])
    }


def prior_weight(model: dict[str, Any]) -> float:
    p = float(model.get("probability_two_random_records_match") or 1e-6)
    return math.log2(p / (1 - p))


def waterfall(model: dict[str, Any], pair: MasterPair) -> list[dict[str, Any]]:
    """The pair's explanation: the prior, each comparison's level and weight, the total."""
    labels, titles = level_labels(model), comparison_titles(model)
    bars = [{"comparison": "先验 / prior", "level": "", "weight": prior_weight(model)}]
    for name, (gamma, weight) in pair.levels.items():
        bars.append(
            {
                "comparison": titles.get(name, name),
                "level": labels.get(name, {}).get(int(gamma), str(gamma)),
                "weight": float(weight),
            }
        )
    bars.append({"comparison": "合计 / final", "level": "", "weight": pair.match_weight})
    return bars


def counts_by_datasets(db: Session, kind: str) -> Counter[int]:
    """How many entities appear in 1, 2, 3 … datasets."""
    rows = db.execute(
        select(MasterEntity.dataset_count, func.count())
        .where(MasterEntity.kind == kind)
        .group_by(MasterEntity.dataset_count)
    )
    return Counter({n: c for n, c in rows})
