"""Reading and validating a responsibility list (权责清单) file: CSV or XLSX.

All or nothing: :func:`parse_responsibility_file` either returns every row parsed, or raises
:class:`~gongzhi.errors.Invalid` whose ``details`` lists every bad row as
``{"line", "column", "reason"}``; nothing is written here (the service applies the result).

The format: one row per matter; the header names the columns, in Chinese or English (see
``COLUMNS``; ``data/responsibilities.csv`` is a complete example). Department cells name a
department by its code, full name or short name; ``属地`` names the local government of the
case's region at that level (the township government, or the village committee); it may
co-handle but not lead at county level. Several co-handlers are separated by 、 ， , ； ; or |.
Limits apply to every level the row assigns; a row without any lead is a category.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gongzhi.errors import Invalid
from gongzhi.org.models import MatterKind, OrgLevel

# canonical key -> accepted header spellings (compared after normalise_header)
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("事项编码", "编码", "matter_code", "code"),
    "name": ("事项名称", "名称", "matter_name", "name"),
    "kind": ("事项类型", "类型", "kind"),
    "parent_code": ("上级编码", "上级事项编码", "parent_code"),
    "keywords": ("关键词", "keywords"),
    "description": ("事项说明", "说明", "description"),
    "legal_basis": ("法律依据", "依据", "legal_basis"),
    "county_lead": ("县级牵头", "县级牵头部门", "county_lead"),
    "county_co": ("县级协办", "县级协办部门", "county_co"),
    "township_lead": ("乡镇级牵头", "乡镇牵头", "township_lead"),
    "township_co": ("乡镇级协办", "乡镇协办", "township_co"),
    "village_lead": ("村级牵头", "village_lead"),
    "village_co": ("村级协办", "village_co"),
    "dispatch_hours": ("派遣时限(小时)", "派遣时限", "dispatch_hours"),
    "signoff_hours": ("签收时限(小时)", "签收时限", "signoff_hours"),
    "handling_days": ("办理时限(工作日)", "办理时限", "handling_days"),
    "feedback_days": ("反馈时限(工作日)", "反馈时限", "feedback_days"),
    "delegated": ("是否下沉", "下沉", "delegated"),
}
REQUIRED = (
    "code",
    "name",
    "kind",
    "county_lead",
    "township_lead",
    "village_lead",
    "dispatch_hours",
    "signoff_hours",
    "handling_days",
    "feedback_days",
)
# The header written by export (and by the demo file): the first spelling of each column.
CANONICAL_HEADER = [spellings[0] for spellings in COLUMNS.values()]

LOCAL_TOKENS = frozenset({"属地", "属地政府", "属地乡镇", "属地村社", "@local"})
KIND_WORDS: dict[str, MatterKind] = {
    "部件": MatterKind.COMPONENT,
    "事件": MatterKind.EVENT,
    "服务": MatterKind.SERVICE,
    "其他": MatterKind.OTHER,
    **{k.value: k for k in MatterKind},
}
TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", ""})
SPLIT_RE = re.compile(r"[、，,；;|\n]+")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
LEVEL_COLUMNS = {
    OrgLevel.COUNTY: ("county_lead", "county_co"),
    OrgLevel.TOWNSHIP: ("township_lead", "township_co"),
    OrgLevel.VILLAGE: ("village_lead", "village_co"),
}
LIMIT_COLUMNS = ("dispatch_hours", "signoff_hours", "handling_days", "feedback_days")


@dataclass
class LevelSpec:
    lead_code: str | None = None  # a department code
    lead_local: bool = False
    co_codes: list[str] = field(default_factory=list)
    co_local: bool = False

    @property
    def has_lead(self) -> bool:
        return self.lead_local or self.lead_code is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead": "属地" if self.lead_local else self.lead_code,
            "co": sorted(self.co_codes) + (["属地"] if self.co_local else []),
        }


@dataclass
class MatterRow:
    line: int
    code: str
    name: str
    kind: MatterKind
    parent_code: str | None
    keywords: list[str]
    description: str | None
    legal_basis: str | None
    levels: dict[OrgLevel, LevelSpec]
    dispatch_hours: float | None
    signoff_hours: float | None
    handling_days: int | None
    feedback_days: int | None
    delegated: bool

    def fingerprint(self) -> dict[str, Any]:
        """Everything the import stores for this matter, to tell changed rows from same."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "parent_code": self.parent_code,
            "keywords": self.keywords,
            "description": self.description,
            "legal_basis": self.legal_basis,
            "levels": {lvl.value: spec.as_dict() for lvl, spec in self.levels.items()},
            # Limits are stored on the per-level rows, so a matter without a lead has none.
            "limits": [
                self.dispatch_hours,
                self.signoff_hours,
                self.handling_days,
                self.feedback_days,
            ]
            if any(spec.has_lead for spec in self.levels.values())
            else [None, None, None, None],
            "delegated": self.delegated,
        }


class Report:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, line: int, column: str, reason: str) -> None:
        self.errors.append({"line": line, "column": column, "reason": reason})

    def raise_if_any(self, what: str) -> None:
        if self.errors:
            lines = sorted({e["line"] for e in self.errors})
            raise Invalid(
                f"{what}有 {len(self.errors)} 处错误（{len(lines)} 行），未导入任何数据 / "
                f"{len(self.errors)} error(s) in {len(lines)} row(s); nothing imported",
                code="import_rejected",
                details=self.errors,
            )


def normalise_header(text: str) -> str:
    text = text.replace("\ufeff", "").strip().lower()
    text = text.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


_HEADER_LOOKUP = {
    normalise_header(spelling): key for key, spellings in COLUMNS.items() for spelling in spellings
}


# -- reading ------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode("gb18030")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, filename: str = "") -> list[tuple[int, list[str]]]:
    """(line number, cells) for every row of a CSV or XLSX file, header first."""
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise Invalid(
            "无法识别文件编码（支持 UTF-8、GBK、GB18030）/ Unknown text encoding",
            code="import_rejected",
            details=[{"line": 0, "column": "", "reason": f"encoding: {exc.reason}"}],
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        rows.append((start, [c.strip() for c in cells]))
        start = reader.line_num + 1
    return rows


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Invalid(
            "无法读取 XLSX 文件 / Cannot read the XLSX file",
            code="import_rejected",
            details=[{"line": 0, "column": "", "reason": f"xlsx: {exc}"}],
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            (index, [_cell_text(v) for v in values])
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


# -- validating ---------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in SPLIT_RE.split(text) if part.strip()]


def _number(
    report: Report, line: int, column: str, text: str, *, whole: bool, minimum: float
) -> float | int | None:
    try:
        value = float(text)
    except ValueError:
        report.add(line, column, f"不是数字 / not a number: {text!r}")
        return None
    if not math.isfinite(value):
        report.add(line, column, f"不是有限数字 / not a finite number: {text!r}")
        return None
    if whole and not value.is_integer():
        report.add(line, column, f"须为整数 / must be a whole number: {text!r}")
        return None
    if value < minimum:
        report.add(line, column, f"须不小于 {minimum:g} / must be at least {minimum:g}: {text!r}")
        return None
    return int(value) if whole else value


def parse_responsibility_file(
    data: bytes,
    *,
    filename: str = "",
    resolve_department: Callable[[str], str | None],
) -> list[MatterRow]:
    """Parse and validate a whole file. ``resolve_department`` maps a cell's text (code,
    name or short name) to a department code, or None if no such active department."""
    rows, report = _rows_from_header(data, filename, "权责清单")

    header_line, header = rows[0]
    positions: dict[str, int] = {}
    header_text: dict[str, str] = {}
    for index, title in enumerate(header):
        key = _HEADER_LOOKUP.get(normalise_header(title))
        if key is None:
            continue
        if key in positions:
            report.add(header_line, title, "重复的列 / duplicate column")
            continue
        positions[key] = index
        header_text[key] = title
    for key in REQUIRED:
        if key not in positions:
            report.add(header_line, COLUMNS[key][0], "缺少必需的列 / missing column")
    report.raise_if_any("权责清单")

    parsed = [
        row
        for line, cells in rows[1:]
        if any(cells)
        and (row := _parse_row(report, line, cells, positions, header_text, resolve_department))
        is not None
    ]

    def raw(cells: list[str], key: str) -> str:
        index = positions.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    # Codes and parents are checked on every row, valid or not, so that one report names
    # every problem (a duplicate of a row that has other errors is still a duplicate).
    _check_codes_and_parents(
        report,
        [
            (line, raw(cells, "code"), raw(cells, "parent_code") or None)
            for line, cells in rows[1:]
            if any(cells) and raw(cells, "code")
        ],
        header_text.get("code", COLUMNS["code"][0]),
        header_text.get("parent_code", COLUMNS["parent_code"][0]),
    )
    report.raise_if_any("权责清单")
    if not parsed:
        report.add(header_line + 1, "", "没有数据行 / no data rows")
        report.raise_if_any("权责清单")
    return parsed


def _parse_row(
    report: Report,
    line: int,
    cells: list[str],
    positions: dict[str, int],
    header_text: dict[str, str],
    resolve_department: Callable[[str], str | None],
) -> MatterRow | None:
    errors_before = len(report.errors)

    def cell(key: str) -> str:
        index = positions.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def col(key: str) -> str:
        return header_text.get(key, COLUMNS[key][0])

    code = cell("code")
    if not code:
        report.add(line, col("code"), "事项编码为空 / empty matter code")
    elif not CODE_RE.match(code):
        report.add(
            line, col("code"), "编码只能含字母、数字、. _ -，最长 40 / bad characters or too long"
        )
    name = cell("name")
    if not name:
        report.add(line, col("name"), "事项名称为空 / empty matter name")
    elif len(name) > 100:
        report.add(line, col("name"), "名称超过 100 字 / name longer than 100 characters")

    kind = KIND_WORDS.get(cell("kind").lower())
    if kind is None:
        report.add(
            line,
            col("kind"),
            f"类型须为 部件/事件/服务/其他 / kind must be one of those: {cell('kind')!r}",
        )

    delegated_text = cell("delegated").lower()
    delegated = delegated_text in TRUE_WORDS
    if not delegated and delegated_text not in FALSE_WORDS:
        report.add(line, col("delegated"), f"须为 是/否 / must be yes or no: {cell('delegated')!r}")

    levels: dict[OrgLevel, LevelSpec] = {}
    for level, (lead_key, co_key) in LEVEL_COLUMNS.items():
        spec = LevelSpec()
        lead_parts = _split(cell(lead_key))
        if len(lead_parts) > 1:
            report.add(line, col(lead_key), "牵头单位只能有一个 / exactly one lead unit per level")
        elif lead_parts:
            spec.lead_local, spec.lead_code = _department_ref(
                report, line, col(lead_key), lead_parts[0], level, resolve_department, lead=True
            )
        for part in _split(cell(co_key)):
            local, dept_code = _department_ref(
                report, line, col(co_key), part, level, resolve_department, lead=False
            )
            if local:
                spec.co_local = True
            elif dept_code is not None:
                if dept_code == spec.lead_code:
                    report.add(
                        line,
                        col(co_key),
                        f"协办单位与牵头单位相同 / co-handler is the lead: {part}",
                    )
                elif dept_code not in spec.co_codes:
                    spec.co_codes.append(dept_code)
        if (spec.co_codes or spec.co_local) and not cell(lead_key):
            report.add(line, col(co_key), "有协办单位但无牵头单位 / co-handlers without a lead")
        levels[level] = spec

    any_lead = any(spec.has_lead for spec in levels.values())
    limits: dict[str, float | int | None] = {}
    for key in LIMIT_COLUMNS:
        text = cell(key)
        if not text:
            limits[key] = None
            if any_lead:
                report.add(line, col(key), "有牵头单位时必填 / required when a lead is given")
            continue
        whole = key.endswith("_days")
        minimum = {"dispatch_hours": 0.1, "signoff_hours": 0.1, "handling_days": 1}.get(key, 0)
        limits[key] = _number(report, line, col(key), text, whole=whole, minimum=minimum)
    if delegated and not levels[OrgLevel.TOWNSHIP].has_lead:
        report.add(
            line,
            col("township_lead"),
            "下沉事项须有乡镇级牵头单位 / a delegated matter needs a township-level lead",
        )

    if len(report.errors) > errors_before or kind is None:
        return None
    parent = cell("parent_code") or None
    return MatterRow(
        line=line,
        code=code,
        name=name,
        kind=kind,
        parent_code=parent,
        keywords=list(dict.fromkeys(_split(cell("keywords")))),
        description=cell("description") or None,
        legal_basis=cell("legal_basis") or None,
        levels=levels,
        dispatch_hours=_as_float(limits["dispatch_hours"]),
        signoff_hours=_as_float(limits["signoff_hours"]),
        handling_days=_as_int(limits["handling_days"]),
        feedback_days=_as_int(limits["feedback_days"]),
        delegated=delegated,
    )


def _as_float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _as_int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def _department_ref(
    report: Report,
    line: int,
    column: str,
    text: str,
    level: OrgLevel,
    resolve_department: Callable[[str], str | None],
    *,
    lead: bool,
) -> tuple[bool, str | None]:
    """(is 属地, department code). 属地 may co-handle a county matter but not lead it."""
    if text.lower() in LOCAL_TOKENS:
        if level == OrgLevel.COUNTY and lead:
            report.add(line, column, "县级牵头不能填“属地” / a county-level lead cannot be 属地")
            return False, None
        return True, None
    code = resolve_department(text)
    if code is None:
        report.add(line, column, f"未知部门 / unknown department: {text}")
    return False, code


def _check_codes_and_parents(
    report: Report,
    rows: list[tuple[int, str, str | None]],
    code_column: str,
    parent_column: str,
) -> None:
    first_line: dict[str, int] = {}
    for line, code, _parent in rows:
        if code in first_line:
            report.add(
                line,
                code_column,
                f"事项编码重复（首次出现在第 {first_line[code]} 行）/ "
                f"duplicate matter code {code} (first on line {first_line[code]})",
            )
        else:
            first_line[code] = line
    parents = {code: parent for _line, code, parent in rows}
    for line, code, parent_code in rows:
        if parent_code is None:
            continue
        if parent_code not in parents:
            report.add(line, parent_column, f"上级事项不在文件中 / unknown parent: {parent_code}")
            continue
        seen = {code}
        current: str | None = parent_code
        while current is not None:
            if current in seen:
                report.add(line, parent_column, "上级事项形成循环 / parent cycle")
                break
            seen.add(current)
            current = parents.get(current)


def write_csv(rows: Iterable[dict[str, str]]) -> str:
    """A CSV in the import format (canonical header) from dicts keyed by canonical key."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CANONICAL_HEADER)
    for row in rows:
        writer.writerow([row.get(key, "") for key in COLUMNS])
    return out.getvalue()


# -- department heads ---------------------------------------------------------------------

HEAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("部门编码", "编码", "department_code", "code"),
    "head": ("负责人", "负责人账号", "head", "head_username"),
}
_HEAD_LOOKUP = {
    normalise_header(spelling): key
    for key, spellings in HEAD_COLUMNS.items()
    for spelling in spellings
}


@dataclass(frozen=True)
class HeadRow:
    line: int
    department_code: str
    username: str  # empty: the department has no head


def _rows_from_header(
    data: bytes, filename: str, what: str
) -> tuple[list[tuple[int, list[str]]], Report]:
    """The file's rows from its header on (blank lines before it dropped), and the report
    its rows will be checked into; an empty file is refused at once."""
    rows = read_rows(data, filename)
    report = Report()
    while rows and not any(rows[0][1]):
        rows.pop(0)
    if not rows:
        report.add(1, "", "文件为空 / the file is empty")
        report.raise_if_any(what)
    return rows, report


def parse_department_heads(data: bytes, *, filename: str = "") -> list[HeadRow]:
    """The ``code`` and ``head`` columns of a department file (CSV or XLSX; other columns
    are ignored, so ``data/departments.csv`` itself is such a file): which staff account
    heads each department. All or nothing, like the responsibility list."""
    rows, report = _rows_from_header(data, filename, "部门负责人")
    header_line, header = rows[0]
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _HEAD_LOOKUP.get(normalise_header(title))
        if key is not None and key not in positions:
            positions[key] = index
    for key in HEAD_COLUMNS:
        if key not in positions:
            report.add(header_line, HEAD_COLUMNS[key][0], "缺少必需的列 / missing column")
    report.raise_if_any("部门负责人")

    def cell(cells: list[str], key: str) -> str:
        index = positions[key]
        return cells[index].strip() if index < len(cells) else ""

    parsed: list[HeadRow] = []
    seen: dict[str, int] = {}
    for line, cells in rows[1:]:
        if not any(cells):
            continue
        code = cell(cells, "code")
        if not code:
            report.add(line, HEAD_COLUMNS["code"][0], "部门编码不能为空 / code is required")
            continue
        if code in seen:
            first = seen[code]
            report.add(line, HEAD_COLUMNS["code"][0], f"与第 {first} 行重复 / repeats line {first}")
            continue
        seen[code] = line
        parsed.append(HeadRow(line, code, cell(cells, "head")))
    report.raise_if_any("部门负责人")
    return parsed
