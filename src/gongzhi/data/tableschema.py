"""Frictionless Table Schema, checked and compiled into fast per-field validators.

The descriptor is plain Table Schema (https://specs.frictionlessdata.io/table-schema/):
``fields`` (name, title, type, format, constraints), ``primaryKey``, ``missingValues``.
Three custom field properties, which Table Schema allows, drive the data hub:

- ``classification``: public / internal / sensitive / important / core (default internal);
  sensitive and above are sealed at rest;
- ``standardise``: a hook run on the cell before validation (see ``standardise.HOOKS``):
  ``id_number``, ``uscc``, ``person_name``, ``phone``, ``address``, ``region_code``, ``text``;
- ``role``: what the field means for the consistency and timeliness checks:
  ``birth_date`` and ``sex`` (compared with an ID number in the same row), ``record_date``
  (when the record was last checked, for per-field timeliness).

Supported types: string, integer, number, boolean, date, datetime, year; constraints:
required, unique, pattern (a whole-value regular expression, as in Table Schema), enum,
minLength, maxLength, minimum, maximum. The validators are our own rather than the
``frictionless`` library's: a million rows go through them in seconds (see bench/README.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gongzhi.data.models import Classification, is_sealed
from gongzhi.errors import Invalid

TYPES = frozenset({"string", "integer", "number", "boolean", "date", "datetime", "year"})
CONSTRAINTS = frozenset(
    {"required", "unique", "pattern", "enum", "minLength", "maxLength", "minimum", "maximum"}
)
HOOK_NAMES = frozenset(
    {"id_number", "uscc", "person_name", "phone", "address", "region_code", "text"}
)
ROLES = frozenset({"birth_date", "sex", "record_date"})
DEFAULT_MISSING = ("",)
TRUE_VALUES = frozenset({"true", "True", "TRUE", "1", "是", "Y", "y", "yes"})
FALSE_VALUES = frozenset({"false", "False", "FALSE", "0", "否", "N", "n", "no"})

# Date spellings accepted with format "any" (the Chinese offices' usual ones).
_ANY_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class CellError(Exception):
    """A cell that does not conform; ``code`` is a Frictionless error type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.replace("\ufeff", ""))
    return re.sub(r"\s+", "", text).lower()


@dataclass
class FieldSpec:
    position: int
    name: str
    title: str
    type: str
    classification: str
    sealed: bool
    required: bool
    unique: bool
    standardise: str | None
    role: str | None
    cast: Callable[[str], Any]
    checks: list[Callable[[Any, str], None]] = field(default_factory=list)
    descriptor: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.title or self.name


@dataclass
class CompiledSchema:
    descriptor: dict[str, Any]
    fields: list[FieldSpec]
    primary_key: list[str]
    missing_values: frozenset[str]

    @property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def key_is_sealed(self) -> bool:
        by_name = self.by_name
        return any(by_name[name].sealed for name in self.primary_key)


# -- casting ------------------------------------------------------------------------------


def _cast_string(text: str) -> str:
    return text


def _cast_integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CellError("type-error", "不是整数 / not an integer") from None


def _cast_number(text: str) -> float | int:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise CellError("type-error", "不是数字 / not a number") from None
    if not value.is_finite():
        raise CellError("type-error", "不是有限数字 / not a finite number")
    return int(value) if value == value.to_integral_value() else float(value)


def _cast_boolean(text: str) -> bool:
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise CellError("type-error", "不是“是/否” / not a boolean")


def _cast_year(text: str) -> int:
    if len(text) == 4 and text.isdigit():
        return int(text)
    raise CellError("type-error", "不是年份 / not a year")


def _date_caster(fmt: str) -> Callable[[str], str]:
    """Dates are kept as ISO text (JSON-friendly, sortable)."""

    def iso(text: str) -> str:
        try:
            return date.fromisoformat(text).isoformat() if len(text) == 10 else _fail(text)
        except ValueError:
            return _fail(text)

    def any_date(text: str) -> str:
        if len(text) == 10 and text[4] == "-":
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                return _fail(text)
        match = _ANY_DATE.match(text) or _COMPACT_DATE.match(text)
        if match is None:
            return _fail(text)
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            return _fail(text)

    def pattern(text: str) -> str:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            return _fail(text)

    if fmt in ("", "default"):
        return iso
    if fmt == "any":
        return any_date
    return pattern


def _fail(text: str) -> str:
    raise CellError("type-error", "不是有效日期 / not a valid date")


def _cast_datetime(text: str) -> str:
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).isoformat()
    except ValueError:
        raise CellError("type-error", "不是有效时间 / not a valid datetime") from None


def _caster(type_: str, fmt: str) -> Callable[[str], Any]:
    if type_ == "string":
        return _cast_string
    if type_ == "integer":
        return _cast_integer
    if type_ == "number":
        return _cast_number
    if type_ == "boolean":
        return _cast_boolean
    if type_ == "year":
        return _cast_year
    if type_ == "date":
        return _date_caster(fmt)
    return _cast_datetime


# -- constraints --------------------------------------------------------------------------


def _constraint_checks(type_: str, constraints: dict[str, Any]) -> list[Callable[[Any, str], None]]:
    checks: list[Callable[[Any, str], None]] = []
    if "pattern" in constraints:
        regex = re.compile(constraints["pattern"])

        def pattern(value: Any, text: str) -> None:
            if regex.fullmatch(text) is None:
                raise CellError("constraint-error", "格式不符 / does not match the pattern")

        checks.append(pattern)
    if "enum" in constraints:
        allowed = frozenset(str(v) for v in constraints["enum"])
        shown = "、".join(sorted(allowed))[:200]

        def enum(value: Any, text: str) -> None:
            if text not in allowed:
                raise CellError("constraint-error", f"须为 {shown} 之一 / not an allowed value")

        checks.append(enum)
    if "minLength" in constraints or "maxLength" in constraints:
        low = int(constraints.get("minLength", 0))
        high = int(constraints.get("maxLength", 1 << 30))

        def length(value: Any, text: str) -> None:
            if not low <= len(text) <= high:
                raise CellError(
                    "constraint-error",
                    f"长度须在 {low}–{high} 之间 / length must be {low}–{high}",
                )

        checks.append(length)
    if "minimum" in constraints or "maximum" in constraints:
        minimum = constraints.get("minimum")
        maximum = constraints.get("maximum")
        if type_ in ("date", "datetime"):
            minimum = None if minimum is None else str(minimum)
            maximum = None if maximum is None else str(maximum)

        def bounds(value: Any, text: str) -> None:
            if (minimum is not None and value < minimum) or (
                maximum is not None and value > maximum
            ):
                raise CellError(
                    "constraint-error",
                    f"超出范围 {minimum}–{maximum} / out of range",
                )

        checks.append(bounds)
    return checks


# -- the descriptor -----------------------------------------------------------------------


def problems(descriptor: Any) -> list[str]:
    """Everything wrong with a descriptor (empty when it can be compiled)."""
    out: list[str] = []
    if not isinstance(descriptor, dict):
        return ["schema must be a JSON object"]
    fields = descriptor.get("fields")
    if not isinstance(fields, list) or not fields:
        return ["schema needs a non-empty list of fields"]
    names: set[str] = set()
    for index, spec in enumerate(fields):
        where = f"fields[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            out.append(f"{where}: every field needs a name")
            continue
        name = spec["name"]
        if normalise_header(name) in names:
            out.append(f"{where}: duplicate field name {name!r}")
        names.add(normalise_header(name))
        type_ = spec.get("type", "string")
        if type_ not in TYPES:
            out.append(f"{where}: unsupported type {type_!r}")
        classification = spec.get("classification", Classification.INTERNAL.value)
        if classification not in {c.value for c in Classification}:
            out.append(f"{where}: unknown classification {classification!r}")
        hook = spec.get("standardise")
        if hook is not None and hook not in HOOK_NAMES:
            out.append(f"{where}: unknown standardise hook {hook!r}")
        role = spec.get("role")
        if role is not None and role not in ROLES:
            out.append(f"{where}: unknown role {role!r}")
        constraints = spec.get("constraints", {})
        if not isinstance(constraints, dict):
            out.append(f"{where}: constraints must be an object")
            continue
        unknown = set(constraints) - CONSTRAINTS
        if unknown:
            out.append(f"{where}: unsupported constraints {sorted(unknown)}")
        if "pattern" in constraints:
            try:
                re.compile(constraints["pattern"])
            except (re.error, TypeError):
                out.append(f"{where}: bad pattern")
        if "enum" in constraints and not isinstance(constraints["enum"], list):
            out.append(f"{where}: enum must be a list")
    key = descriptor.get("primaryKey", [])
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not key:
        out.append("schema needs a primaryKey (versions are compared by it)")
    else:
        field_names = {f.get("name") for f in fields if isinstance(f, dict)}
        for name in key:
            if name not in field_names:
                out.append(f"primaryKey names an unknown field {name!r}")
    missing = descriptor.get("missingValues", list(DEFAULT_MISSING))
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        out.append("missingValues must be a list of strings")
    return out


def check(descriptor: Any) -> dict[str, Any]:
    found = problems(descriptor)
    if found:
        raise Invalid(
            "表结构无效 / invalid Table Schema: " + "; ".join(found),
            code="invalid_schema",
            details=[{"reason": p} for p in found],
        )
    return descriptor


def compile_schema(descriptor: dict[str, Any]) -> CompiledSchema:
    check(descriptor)
    fields: list[FieldSpec] = []
    key = descriptor.get("primaryKey")
    primary_key = [key] if isinstance(key, str) else list(key or [])
    for position, spec in enumerate(descriptor["fields"]):
        type_ = spec.get("type", "string")
        constraints = spec.get("constraints", {})
        classification = spec.get("classification", Classification.INTERNAL.value)
        fields.append(
            FieldSpec(
                position=position,
                name=spec["name"],
                title=spec.get("title", ""),
                type=type_,
                classification=classification,
                sealed=is_sealed(classification),
                required=bool(constraints.get("required")) or spec["name"] in primary_key,
                unique=bool(constraints.get("unique")),
                standardise=spec.get("standardise"),
                role=spec.get("role"),
                cast=_caster(type_, spec.get("format", "default")),
                checks=_constraint_checks(type_, constraints),
                descriptor=spec,
            )
        )
    return CompiledSchema(
        descriptor=descriptor,
        fields=fields,
        primary_key=primary_key,
        missing_values=frozenset(descriptor.get("missingValues", DEFAULT_MISSING)),
    )


def match_header(
    schema: CompiledSchema, header: list[str]
) -> tuple[list[int], list[dict[str, str]]]:
    """Column position of each schema field, and the header's problems (empty when the
    header names every field exactly once and nothing else). A column matches a field by
    its name or its title, ignoring case, spaces and full-width forms."""
    lookup: dict[str, int] = {}
    for spec in schema.fields:
        lookup[normalise_header(spec.name)] = spec.position
        if spec.title:
            lookup.setdefault(normalise_header(spec.title), spec.position)
    positions = [-1] * len(schema.fields)
    report: list[dict[str, str]] = []
    for column, title in enumerate(header):
        key = normalise_header(title)
        if not key and column == len(header) - 1 and column > 0:
            continue  # a trailing comma on the header line
        index = lookup.get(key)
        if index is None:
            report.append(
                {"column": title, "reason": "多余的列（表结构中没有） / unexpected column"}
            )
        elif positions[index] != -1:
            report.append({"column": title, "reason": "重复的列 / duplicate column"})
        else:
            positions[index] = column
    for spec in schema.fields:
        if positions[spec.position] == -1:
            report.append({"column": spec.name, "reason": "缺少列 / missing column"})
    return positions, report
