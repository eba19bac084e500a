"""Rows of a published dataset: ``datastore_search`` and the CSV download.

Both read the open fields only (``queries.open_fields``) from a version's rows, whose
public values sit in the ``payload`` JSON column; filters, text search and sorting are SQL
over that JSON, so they work the same on SQLite and PostgreSQL and never load a whole
version into memory. Sealed values are never opened here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from gongzhi.data.models import DatasetRow, DatasetVersion

# Table Schema types as the CKAN DataStore names them.
DATASTORE_TYPES = {
    "string": "text",
    "integer": "int",
    "year": "int",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
}
ROW_ID = "_id"
MAX_LIMIT = 32000  # CKAN's ckan.datastore.search.rows_max default
CSV_CHUNK = 2000


class DatastoreInvalid(Exception):
    """A parameter that does not fit the resource: ``{parameter: [messages]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def field_types(fields: list[dict[str, Any]]) -> dict[str, str]:
    return {f["name"]: f.get("type", "string") for f in fields}


def _column(name: str, type_: str, dialect: str) -> Any:
    """A payload value as an SQL expression of the field's type."""
    if dialect == "sqlite":
        # The payload is stored with ASCII escapes (json.dumps' default) and SQLite's
        # json_extract matches an object key as written, so a Chinese field name is looked
        # up in its escaped spelling; the plain one covers SQLite builds that unescape.
        escaped = '$."' + json.dumps(name)[1:-1] + '"'
        plain = '$."' + name.replace('"', '\\"') + '"'
        value = func.json_extract(DatasetRow.payload, escaped)
        if escaped != plain:
            value = func.coalesce(value, func.json_extract(DatasetRow.payload, plain))
        return value  # json_extract yields TEXT, INTEGER, REAL, or 1/0 for booleans
    item = DatasetRow.payload[name]
    if type_ in ("integer", "year"):
        return item.as_integer()
    if type_ == "number":
        return item.as_float()
    if type_ == "boolean":
        return item.as_boolean()
    return item.as_string()


def _typed(value: Any, type_: str, name: str) -> Any:
    """A filter value in the field's type (clients send numbers as strings too)."""
    try:
        if type_ in ("integer", "year"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if type_ == "number":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if type_ == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "t", "yes", "是"):
                return True
            if text in ("false", "0", "f", "no", "否"):
                return False
            raise ValueError
    except (TypeError, ValueError):
        raise DatastoreInvalid(
            {"filters": [f'invalid value for field "{name}" ({DATASTORE_TYPES[type_]})']}
        ) from None
    return str(value)


@dataclass
class DatastorePage:
    fields: list[dict[str, str]]
    records: list[dict[str, Any]]
    total: int


def _selected(fields: list[dict[str, Any]], wanted: Any) -> list[str]:
    names = [f["name"] for f in fields]
    if wanted is None or wanted == "" or wanted == []:
        return [ROW_ID, *names]
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
        raise DatastoreInvalid({"fields": ["must be a list of field names"]})
    unknown = [w for w in wanted if w != ROW_ID and w not in names]
    if unknown:
        raise DatastoreInvalid({"fields": [f'field "{w}" not in resource' for w in unknown]})
    return wanted


def _filters(types: dict[str, str], filters: Any, dialect: str) -> list[ColumnElement[bool]]:
    if filters in (None, "", {}):
        return []
    if not isinstance(filters, dict):
        raise DatastoreInvalid({"filters": ["must be a dictionary of field: value"]})
    clauses: list[ColumnElement[bool]] = []
    for name, wanted in filters.items():
        if name == ROW_ID:
            values = wanted if isinstance(wanted, list) else [wanted]
            try:
                clauses.append(DatasetRow.row_number.in_([int(v) for v in values]))
            except (TypeError, ValueError):
                raise DatastoreInvalid({"filters": ['invalid value for field "_id"']}) from None
            continue
        if name not in types:
            raise DatastoreInvalid({"filters": [f'field "{name}" not in resource']})
        type_ = types[name]
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values:
            raise DatastoreInvalid({"filters": [f'no value for field "{name}"']})
        typed = [_typed(v, type_, name) for v in values]
        if dialect == "sqlite" and type_ == "boolean":
            typed = [1 if v else 0 for v in typed]
        column = _column(name, type_, dialect)
        clauses.append(column == typed[0] if len(typed) == 1 else column.in_(typed))
    return clauses


def _text_search(types: dict[str, str], q: Any, dialect: str) -> list[ColumnElement[bool]]:
    """Words over the text fields (or ``{field: words}``): every word somewhere."""
    if q in (None, "", {}):
        return []
    texts = [n for n, t in types.items() if t in ("string", "date", "datetime")]
    pairs: list[tuple[list[str], str]] = []
    if isinstance(q, str):
        pairs = [(texts, word) for word in q.split()]
    elif isinstance(q, dict):
        for name, words in q.items():
            if name not in types:
                raise DatastoreInvalid({"q": [f'field "{name}" not in resource']})
            pairs += [([name], word) for word in str(words).split()]
    else:
        raise DatastoreInvalid({"q": ["must be a string or a dictionary"]})
    clauses: list[ColumnElement[bool]] = []
    for names, word in pairs:
        ors = [
            _column(n, types[n], dialect).contains(word, autoescape=True)
            for n in names
            if types[n] in ("string", "date", "datetime")
        ]
        clauses.append(or_(*ors) if ors else DatasetRow.id.is_(None))
    return clauses


def _order(types: dict[str, str], sort: Any, dialect: str) -> list[Any]:
    if sort in (None, ""):
        return [DatasetRow.row_number]
    parts = sort if isinstance(sort, list) else str(sort).split(",")
    order: list[Any] = []
    for part in parts:
        bits = str(part).strip().strip('"').split()
        if not bits:
            continue
        name = bits[0].strip('"')
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise DatastoreInvalid({"sort": [f"cannot sort by {part!r}"]})
        column: Any
        if name == ROW_ID:
            column = DatasetRow.row_number
        elif name in types:
            column = _column(name, types[name], dialect)
        else:
            raise DatastoreInvalid({"sort": [f'field "{name}" not in resource']})
        order.append(column.desc() if direction == "desc" else column.asc())
    order.append(DatasetRow.row_number)
    return order


def search_rows(
    db: Session,
    version: DatasetVersion,
    fields: list[dict[str, Any]],
    *,
    filters: Any = None,
    q: Any = None,
    wanted: Any = None,
    sort: Any = None,
    limit: int = 100,
    offset: int = 0,
    include_total: bool = True,
) -> DatastorePage:
    types = field_types(fields)
    selected = _selected(fields, wanted)
    dialect = db.get_bind().dialect.name
    where = and_(
        DatasetRow.version_id == version.id,
        *_filters(types, filters, dialect),
        *_text_search(types, q, dialect),
    )
    rows = db.execute(
        select(DatasetRow.row_number, DatasetRow.payload)
        .where(where)
        .order_by(*_order(types, sort, dialect))
        .limit(limit)
        .offset(offset)
    )
    records = []
    for row_number, payload in rows:
        record = {}
        for name in selected:
            record[name] = row_number if name == ROW_ID else payload.get(name)
        records.append(record)
    total = -1
    if include_total:
        total = db.scalar(select(func.count()).select_from(DatasetRow).where(where)) or 0
    described = [
        {"id": name, "type": "int" if name == ROW_ID else DATASTORE_TYPES[types[name]]}
        for name in selected
    ]
    return DatastorePage(described, records, total)


def csv_chunks(db: Session, version: DatasetVersion, fields: list[dict[str, Any]]) -> Iterator[str]:
    """The version's open fields as CSV text (UTF-8 with BOM, header = field names), in
    chunks as the rows stream from the database."""
    names = [f["name"] for f in fields]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(names)
    yield out.getvalue()
    result = db.execute(
        select(DatasetRow.payload)
        .where(DatasetRow.version_id == version.id)
        .order_by(DatasetRow.row_number)
        .execution_options(yield_per=CSV_CHUNK)
    )
    for chunk in result.partitions(CSV_CHUNK):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for (payload,) in chunk:
            writer.writerow([_cell(payload.get(n)) for n in names])
        yield out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
