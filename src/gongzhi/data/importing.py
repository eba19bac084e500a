"""Importing one file into a new dataset version: read, standardise, validate, score, store.

The whole version is written in the caller's transaction: rows go in with bulk Core inserts
in batches as the file streams by, and the version row with its scores is completed at the
end. Any exception (a refused file, a crash, Ctrl-C) propagates, the edge rolls the
transaction back, and the previous version is untouched; there is never a half version.

What happens to a bad row (decided here, documented in docs/data.md):

- rejected (kept out of the version, listed in the report): a required cell empty, a cell
  that does not conform (type, pattern, enum, length, range), extra cells, a primary key
  already seen in the file (the first row with that key is kept);
- kept with a warning: a value that conforms but fails its real-value check (an ID number
  with a wrong check character, an address that resolves nowhere), a birth date or sex that
  contradicts the ID number. Linkage needs these rows: an invalid ID may be a typo.
- the whole file is refused (no version) when its header does not name exactly the schema's
  fields, when it has no data rows, or when the share of rejected rows exceeds the
  dataset's ``max_rejected_ratio``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor
from gongzhi.crypto import CryptoProvider
from gongzhi.data import standardise as std
from gongzhi.data.models import Dataset, DatasetRow, DatasetVersion, ImportIssue, ImportJob
from gongzhi.data.quality import FieldTally, FileTally, scores
from gongzhi.data.reading import ImportRefused, TableFile
from gongzhi.data.tableschema import CellError, CompiledSchema, compile_schema, match_header
from gongzhi.db import utcnow

BATCH_SIZE = 5000
PROGRESS_EVERY_ROWS = 2000
# Issues kept per import for the report (the counts in the scores are always complete).
MAX_STORED_ISSUES = 100_000
ADDRESS_MIN_CONFIDENCE = 0.6
KEY_SEPARATOR = "\x1f"
INDEX_KEY = "data.row_key"
INDEX_ROW = "data.row"

# (bytes read, bytes in the file, data rows read)
ProgressCallback = Callable[[int, int, int], None]


@dataclass
class ImportOutcome:
    version: DatasetVersion
    issues_stored: int
    quality: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def sealed_associated_data(version_id: int, row_number: int) -> bytes:
    """Binds a sealed row to its place: a ciphertext moved to another row does not open."""
    return f"data_dataset_row:{version_id}:{row_number}".encode()


def _canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class _Checks:
    """Real-value checks for the accuracy dimension, by standardise hook."""

    def __init__(self, db: Session, schema: CompiledSchema) -> None:
        hooks = {f.standardise for f in schema.fields}
        self.region_codes: frozenset[str] = frozenset()
        if "region_code" in hooks:
            from gongzhi.regions.models import Region

            self.region_codes = frozenset(db.scalars(select(Region.code)))
        self._resolver: Any = None
        if "address" in hooks:
            from gongzhi.regions.resolver import get_resolver

            self._resolver = get_resolver(db)
        self._address_cache: dict[str, str | None] = {}

    def resolve_address(self, text: str) -> str | None:
        key = std.address_region_key(text)
        cache = self._address_cache
        if key in cache:
            return cache[key]
        resolution = self._resolver.resolve(key or text)
        code = resolution.code if resolution.confidence >= ADDRESS_MIN_CONFIDENCE else None
        if len(cache) < 500_000:
            cache[key] = code
        return code

    def for_hook(self, hook: str | None) -> Callable[[Any], bool] | None:
        if hook == "id_number":
            return std.id_valid
        if hook == "uscc":
            return std.uscc_valid
        if hook == "region_code":
            codes = self.region_codes
            return lambda value: value in codes
        return None


def run_import(
    db: Session,
    job: ImportJob,
    table: TableFile,
    *,
    provider: CryptoProvider,
    actor: Actor,
    as_of: date | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportOutcome:
    """Import ``table`` as the next version of ``job.dataset``; raises ImportRefused."""
    from gongzhi.audit.services import record

    dataset = db.scalars(
        select(Dataset).where(Dataset.id == job.dataset_id).with_for_update()
    ).one()
    schema = compile_schema(dataset.table_schema)
    as_of = as_of or job.as_of or utcnow().date()
    rows = table.rows(
        (lambda done: on_progress(done, table.size, tally.rows_read)) if on_progress else None
    )
    fields = schema.fields
    tally = FileTally(fields=[FieldTally(f.name, f.required, f.classification) for f in fields])

    # -- the header --------------------------------------------------------------------------
    header: list[str] | None = None
    for _line, cells in rows:
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise ImportRefused(
            "文件没有表头和数据 / the file has no header and no data", code="empty_file"
        )
    positions, header_report = match_header(schema, header)
    if header_report:
        raise ImportRefused(
            "表头与数据集的表结构不符，未导入任何数据 / the header does not match the dataset's "
            "schema; nothing imported",
            code="header_rejected",
            file_report=header_report,
        )

    number = (
        db.scalar(
            select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    ) + 1
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=number,
        imported_at=utcnow(),
        imported_by_id=actor.audit_id,
        imported_by_label=actor.audit_label,
        source_filename=table.filename[:255],
        source_sha256=job.sha256,
        source_size=table.size,
        source_format=table.format,
        source_encoding=table.encoding,
        as_of=as_of,
        rows_read=0,
        row_count=0,
        rows_rejected=0,
        quality={},
        table_schema=dataset.table_schema,
    )
    db.add(version)
    db.flush()
    version_id = version.id

    # -- per-field plans, bound to locals for the hot loop -----------------------------------
    checks = _Checks(db, schema)
    plans = []
    for spec, t in zip(fields, tally.fields, strict=True):
        plans.append(
            (
                positions[spec.position],
                spec.name,
                spec.label,
                std.HOOKS.get(spec.standardise or ""),
                spec.cast,
                spec.checks,
                checks.for_hook(spec.standardise),
                spec.sealed,
                spec.required,
                spec.standardise,
                t,
            )
        )
    key_names = schema.primary_key
    key_sealed = schema.key_is_sealed()
    by_name = schema.by_name
    id_field = next((f.name for f in fields if f.standardise == "id_number"), None)
    birth_field = next((f.name for f in fields if f.role == "birth_date"), None)
    sex_field = next((f.name for f in fields if f.role == "sex"), None)
    record_dates = [
        (f.name, t)
        for f, t in zip(fields, tally.fields, strict=True)
        if f.role == "record_date" and f.type == "date"
    ]
    from gongzhi.data.models import UPDATE_CYCLE_DAYS, UpdateCycle

    cycle_days = UPDATE_CYCLE_DAYS[UpdateCycle(dataset.update_cycle)]
    timely_from = date.fromordinal(as_of.toordinal() - cycle_days).isoformat() if cycle_days else ""
    tally_by_name = {t.name: t for t in tally.fields}
    missing = schema.missing_values
    ncols = len(header)
    seen: dict[int, int] = {}
    contradicted_keys: set[int] = set()
    issues: list[tuple[int, str, str, str, bool, str | None]] = []
    batch: list[dict[str, Any]] = []
    connection = db.connection()
    blind_index = provider.blind_index
    seal = provider.seal
    kept = 0

    def note(
        row: int, field_name: str, code: str, message: str, rejected: bool, value: Any
    ) -> None:
        if len(issues) < MAX_STORED_ISSUES:
            sealed_field = field_name in by_name and by_name[field_name].sealed
            issues.append(
                (row, field_name, code, message, rejected, None if sealed_field else value)
            )

    def flush_batch() -> None:
        if batch:
            connection.execute(insert(DatasetRow), batch)
            batch.clear()
        if on_progress is not None:
            on_progress(-1, table.size, tally.rows_read)

    for line, cells in rows:
        if not any(cells):
            continue
        tally.rows_read += 1
        if tally.rows_read % PROGRESS_EVERY_ROWS == 0 and on_progress is not None:
            on_progress(-1, table.size, tally.rows_read)
        rejected = False
        if len(cells) > ncols and any(c.strip() for c in cells[ncols:]):
            note(line, "", "extra-cell", f"多出 {len(cells) - ncols} 列 / extra cells", True, None)
            rejected = True
        payload: dict[str, Any] = {}
        sealed: dict[str, Any] = {}
        region_code = None
        for (
            pos,
            name,
            label,
            hook,
            cast,
            cell_checks,
            accuracy,
            is_sealed,
            required,
            hook_name,
            t,
        ) in plans:
            raw = cells[pos].strip() if pos < len(cells) else ""
            if raw in missing:
                if required:
                    note(line, name, "missing-cell", f"{label} 为必填 / required", True, None)
                    rejected = True
                continue
            t.nonempty += 1
            text = hook(raw) if hook is not None else raw
            if text != raw:
                t.standardised += 1
            try:
                value = cast(text)
                for constraint in cell_checks:
                    constraint(value, text)
            except CellError as exc:
                note(line, name, exc.code, f"{label}：{exc.message}", True, raw)
                rejected = True
                continue
            t.conform += 1
            target = sealed if is_sealed else payload
            target[name] = value
            if accuracy is not None:
                t.checked += 1
                if accuracy(value):
                    t.accurate += 1
                else:
                    tally.warnings += 1
                    note(
                        line,
                        name,
                        "check-failed",
                        f"{label} 校验不通过 / fails its check",
                        False,
                        raw,
                    )
            elif hook_name == "address":
                t.checked += 1
                region_code = checks.resolve_address(value)
                if region_code is not None:
                    t.accurate += 1
                else:
                    tally.warnings += 1
                    note(
                        line,
                        name,
                        "address-unresolved",
                        f"{label} 无法定位到行政区划 / no region found",
                        False,
                        None,
                    )
            elif hook_name == "person_name":
                target[name + "#pinyin"] = std.pinyin(value)
        if rejected:
            tally.rows_rejected += 1
            continue

        values = {**payload, **sealed}
        contradiction = False
        if id_field is not None and id_field in values:
            id_value = values[id_field]
            if birth_field is not None and birth_field in values:
                born = std.id_birth_date(id_value)
                if born is not None and born.isoformat() != values[birth_field]:
                    contradiction = True
                    tally_by_name[birth_field].contradicted += 1
                    note(
                        line,
                        birth_field,
                        "inconsistent",
                        "出生日期与身份证号不符 / birth date differs from the ID number",
                        False,
                        None,
                    )
            if sex_field is not None and sex_field in values:
                sex = std.id_sex(id_value)
                if sex is not None and sex != values[sex_field]:
                    contradiction = True
                    tally_by_name[sex_field].contradicted += 1
                    note(
                        line,
                        sex_field,
                        "inconsistent",
                        "性别与身份证号不符 / sex differs from the ID number",
                        False,
                        None,
                    )
        for name, t in record_dates:
            if name in values:
                t.dated += 1
                if values[name] >= timely_from:
                    t.timely += 1

        key_text = KEY_SEPARATOR.join(str(values[k]) for k in key_names)
        all_bytes = _canonical(values)
        fingerprint = blind_index(INDEX_ROW, all_bytes)[:16].hex()
        key_hash = hash(key_text)
        first = seen.get(key_hash)
        if first is not None:
            tally.rows_rejected += 1
            if first == hash(fingerprint):
                tally.duplicate_rows += 1
                note(
                    line,
                    key_names[0],
                    "duplicate-row",
                    "与前面的行完全重复 / repeats an earlier row",
                    True,
                    None,
                )
            else:
                tally.duplicate_keys += 1
                tally.rows_contradicted += 1 if key_hash in contradicted_keys else 2
                contradicted_keys.add(key_hash)
                for k in key_names:
                    tally_by_name[k].contradicted += 1
                note(
                    line,
                    key_names[0],
                    "duplicate-key",
                    "主键与前面的行相同而内容不同 / same key as an earlier row, different values",
                    True,
                    None,
                )
            continue
        seen[key_hash] = hash(fingerprint)
        if contradiction:
            tally.rows_contradicted += 1
        row_key = (
            "~" + blind_index(INDEX_KEY, key_text.encode())[:20].hex() if key_sealed else key_text
        )
        batch.append(
            {
                "version_id": version_id,
                "row_number": line,
                "row_key": row_key[:200],
                "fingerprint": fingerprint,
                "region_code": region_code,
                "payload": payload,
                "sealed": seal(
                    _canonical(sealed), associated_data=sealed_associated_data(version_id, line)
                )
                if sealed
                else None,
            }
        )
        kept += 1
        if len(batch) >= batch_size:
            flush_batch()
    flush_batch()

    quality = scores(
        tally,
        as_of=as_of,
        imported_on=version.imported_at.date(),
        update_cycle=dataset.update_cycle,
        sharing_type=dataset.sharing_type,
    )
    if tally.rows_read == 0:
        raise ImportRefused(
            "文件只有表头，没有数据行 / the file has a header but no data rows",
            code="no_rows",
            quality=quality,
        )
    ratio = tally.rows_rejected / tally.rows_read
    if ratio > dataset.max_rejected_ratio:
        raise ImportRefused(
            f"拒收 {tally.rows_rejected} / {tally.rows_read} 行（{ratio:.1%}），超过本数据集允许的 "
            f"{dataset.max_rejected_ratio:.1%}，未生成新版本 / {tally.rows_rejected} of "
            f"{tally.rows_read} rows rejected ({ratio:.1%}), more than the dataset allows "
            f"({dataset.max_rejected_ratio:.1%}); no version made",
            code="too_many_rejected",
            issues=issues,
            quality=quality,
            rows_read=tally.rows_read,
            rows_rejected=tally.rows_rejected,
        )
    version.rows_read = tally.rows_read
    version.row_count = kept
    version.rows_rejected = tally.rows_rejected
    version.quality = quality
    store_issues(db, job.id, issues)
    job.status = "succeeded"
    job.finished_at = utcnow()
    job.rows_read = tally.rows_read
    job.rows_rejected = tally.rows_rejected
    job.version_id = version_id
    job.quality = quality
    record(
        db,
        actor=actor,
        action="data.version.import",
        object_type="data_dataset_version",
        object_id=version_id,
        new={
            "dataset": dataset.code,
            "number": number,
            "file": table.filename,
            "sha256": job.sha256,
            "rows_read": tally.rows_read,
            "rows": kept,
            "rejected": tally.rows_rejected,
            "overall": quality["dataset"]["overall"],
        },
        region_code=dataset.department.region_code,
    )
    db.flush()
    return ImportOutcome(version=version, issues_stored=len(issues), quality=quality)


def store_issues(
    db: Session, job_id: int, issues: list[tuple[int, str, str, str, bool, str | None]]
) -> None:
    if not issues:
        return
    connection = db.connection()
    for start in range(0, len(issues), BATCH_SIZE):
        connection.execute(
            insert(ImportIssue),
            [
                {
                    "job_id": job_id,
                    "row_number": row,
                    "field": name[:100],
                    "code": code,
                    "message": message,
                    "rejected": rejected,
                    "value": None if value is None else str(value)[:500],
                }
                for row, name, code, message, rejected, value in issues[start : start + BATCH_SIZE]
            ],
        )
