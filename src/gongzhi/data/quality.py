"""Quality scores on the GB/T 36344-2018 dimensions, per field and per dataset.

Counts are gathered while a file is read (``FieldTally``, ``FileTally``); ``scores`` turns
them into numbers in 0..1 (None where a dimension does not apply). The formulas, exactly
(docs/data.md repeats them for data officers):

- conformity 规范性  = conforming cells / non-empty cells. A cell conforms when its
  standardised value has the field's type and meets its pattern, enum, length and range
  constraints. Dataset: summed over all fields.
- completeness 完整性 = non-empty cells / rows read. Dataset: over the required fields only
  (all fields when none is required).
- accuracy 准确性 = cells passing their field's real-value check / conforming cells checked.
  Checks: ID numbers (GB 11643 check character and birth date), unified social credit codes
  (GB 32100 check character), region codes (exist in the region table), addresses (resolve
  to a region with confidence ≥ 0.6). Dataset: summed over the checked fields; None if none.
- consistency 一致性 = 1 − rows in a contradiction / rows read. Contradictions inside the
  file: a primary key repeated with different values (both rows count), a birth date or a
  sex that disagrees with the row's ID number. Per field: 1 − contradicted cells /
  non-empty cells (the key fields carry the key contradictions).
- timeliness 时效性 = 1 when the data's age (import day − as-of day) is within one update
  cycle, falling linearly to 0 at two cycles: max(0, min(1, 2 − age / cycle)); 1 for
  irregular data. Per field (record-date fields only): the share of non-empty dates no older
  than one cycle before the as-of day.
- accessibility 可访问性 = by the catalogue's sharing type: unconditional 1, conditional
  0.5, not shared 0. Per field: the dataset's figure, halved for sensitive fields and 0 for
  important and core fields (never shared as such).
- overall = the mean of the dataset's dimensions that apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gongzhi.data.models import UPDATE_CYCLE_DAYS, Classification, SharingType, UpdateCycle

DIMENSIONS = (
    "conformity",
    "completeness",
    "accuracy",
    "consistency",
    "timeliness",
    "accessibility",
)
DIMENSION_LABELS = {
    "conformity": "规范性",
    "completeness": "完整性",
    "accuracy": "准确性",
    "consistency": "一致性",
    "timeliness": "时效性",
    "accessibility": "可访问性",
    "overall": "综合",
}
SHARING_ACCESS = {
    SharingType.UNCONDITIONAL.value: 1.0,
    SharingType.CONDITIONAL.value: 0.5,
    SharingType.NONE.value: 0.0,
}
CLASSIFICATION_ACCESS = {
    Classification.PUBLIC.value: 1.0,
    Classification.INTERNAL.value: 1.0,
    Classification.SENSITIVE.value: 0.5,
    Classification.IMPORTANT.value: 0.0,
    Classification.CORE.value: 0.0,
}


@dataclass
class FieldTally:
    name: str
    required: bool
    classification: str
    nonempty: int = 0
    conform: int = 0
    checked: int = 0
    accurate: int = 0
    contradicted: int = 0
    standardised: int = 0
    dated: int = 0
    timely: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "nonempty": self.nonempty,
            "conform": self.conform,
            "checked": self.checked,
            "accurate": self.accurate,
            "contradicted": self.contradicted,
            "standardised": self.standardised,
            "dated": self.dated,
            "timely": self.timely,
        }


@dataclass
class FileTally:
    fields: list[FieldTally]
    rows_read: int = 0
    rows_rejected: int = 0
    rows_contradicted: int = 0
    duplicate_rows: int = 0
    duplicate_keys: int = 0
    warnings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def timeliness(as_of: date, imported_on: date, cycle: str) -> float:
    days = UPDATE_CYCLE_DAYS[UpdateCycle(cycle)]
    if days is None:
        return 1.0
    age = max(0, (imported_on - as_of).days)
    return round(max(0.0, min(1.0, 2 - age / days)), 6)


def scores(
    tally: FileTally,
    *,
    as_of: date,
    imported_on: date,
    update_cycle: str,
    sharing_type: str,
) -> dict[str, Any]:
    rows = tally.rows_read
    access = SHARING_ACCESS[sharing_type]
    per_field: dict[str, dict[str, float | None]] = {}
    for t in tally.fields:
        per_field[t.name] = {
            "conformity": _ratio(t.conform, t.nonempty),
            "completeness": _ratio(t.nonempty, rows),
            "accuracy": _ratio(t.accurate, t.checked),
            "consistency": None if t.nonempty == 0 else round(1 - t.contradicted / t.nonempty, 6),
            "timeliness": _ratio(t.timely, t.dated),
            "accessibility": access * CLASSIFICATION_ACCESS[t.classification],
        }
    required = [t for t in tally.fields if t.required] or tally.fields
    dataset: dict[str, float | None] = {
        "conformity": _ratio(
            sum(t.conform for t in tally.fields), sum(t.nonempty for t in tally.fields)
        ),
        "completeness": _ratio(sum(t.nonempty for t in required), rows * len(required)),
        "accuracy": _ratio(
            sum(t.accurate for t in tally.fields), sum(t.checked for t in tally.fields)
        ),
        "consistency": None if rows == 0 else round(1 - tally.rows_contradicted / rows, 6),
        "timeliness": timeliness(as_of, imported_on, update_cycle),
        "accessibility": access,
    }
    present = [v for v in dataset.values() if v is not None]
    dataset["overall"] = round(sum(present) / len(present), 6) if present else None
    return {
        "dataset": dataset,
        "fields": per_field,
        "counts": {
            "rows_read": rows,
            "rows_rejected": tally.rows_rejected,
            "rows_contradicted": tally.rows_contradicted,
            "duplicate_rows": tally.duplicate_rows,
            "duplicate_keys": tally.duplicate_keys,
            "warnings": tally.warnings,
            "fields": {t.name: t.to_json() for t in tally.fields},
        },
        "as_of": as_of.isoformat(),
    }
