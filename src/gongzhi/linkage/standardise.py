"""Plain department records → the columns the linkage compares.

Names: full-width forms and spaces removed (NFKC), traditional characters to simplified (OpenCC
``t2s``), pinyin without tones (so 王丽/王莉 compare equal) and a fuzzy pinyin that also folds
the initials and finals southern speakers do not tell apart (zh/z, ch/c, sh/s, n/l, -ng/-n: so
陈/程 compare equal). ID numbers: 15-digit numbers converted, the GB 11643 check character
checked. Dates: any of the departments' spellings, to ISO. Addresses: a region code if the record
has one, else the free text resolved to a village (or township) code.

Work is cached per distinct value, so a million records with a few hundred thousand distinct
names cost a few seconds. The text pieces (NFKC and whitespace, the OpenCC converter, pinyin of
a character, phone cleaning) are the data hub's (``gongzhi.data.standardise``); this module
adds what the comparison needs on top of them and builds whole columns at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongzhi.data.standardise import char_pinyin, compact, phone, t2s
from gongzhi.linkage.ids import id_text, normalise_uscc
from gongzhi.linkage.synthetic import Village
from gongzhi.people.idnumber import CHECK_CHARACTERS, WEIGHTS

# The columns of a standardised person table, in order (see the package docstring).
PERSON_TABLE_COLUMNS = (
    "record_id",
    "source",
    "name",
    "surname_pinyin",
    "name_pinyin",
    "name_fuzzy",
    "id18",
    "id_valid",
    "id_stem",
    "birth_date",
    "birth_year",
    "sex",
    "phone",
    "village_code",
    "township_code",
    "county_code",
    "true_id",
)
ENTITY_TABLE_COLUMNS = (
    "record_id",
    "source",
    "name",
    "name_core",
    "credit_code",
    "credit_code_valid",
    "legal_rep_pinyin",
    "township_code",
    "village_code",
    "true_id",
)


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))


@lru_cache(maxsize=5_000)
def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


@lru_cache(maxsize=50_000)
def _char_simplified(char: str) -> str:
    return t2s()(char)


def normalise_name(raw: str) -> tuple[str, str, str, str]:
    """(name, surname pinyin, pinyin, fuzzy pinyin); empty strings for an empty name.

    Converted character by character (names are not phrases, and a per-character cache makes
    a million names cheap); pinyin has no tones so that homophones compare equal.
    """
    text = compact(raw or "")
    if not text:
        return "", "", "", ""
    text = "".join(_char_simplified(c) for c in text)
    syllables = [s for s in (char_pinyin(c) for c in text) if s]
    pinyin = "".join(syllables)
    fuzzy = "".join(_fuzzy_syllable(s) for s in syllables)
    return text, (syllables[0] if syllables else ""), pinyin, fuzzy


_DATE = re.compile(r"^(\d{4})\D{0,2}?(\d{1,2})\D{0,2}?(\d{1,2})\D?$")


@lru_cache(maxsize=200_000)
def normalise_date(raw: str) -> str | None:
    """``19850312``, ``1985-03-12``, ``1985/3/12``, ``1985年3月12日`` (also in full-width
    digits) → ``1985-03-12``; None if it is not a real date."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    match = _DATE.match(text) if not text.isdigit() else None
    parts: tuple[str, ...]
    if text.isdigit() and len(text) == 8:
        parts = (text[:4], text[4:6], text[6:])
    elif match:
        parts = match.groups()
    else:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        return None


_SEX = {"1": "M", "男": "M", "M": "M", "MALE": "M", "2": "F", "女": "F", "F": "F", "FEMALE": "F"}


def normalise_sex(raw: str) -> str | None:
    return _SEX.get(unicodedata.normalize("NFKC", raw or "").strip().upper())


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits (the data hub's phone cleaning, then a bare
    ``86`` prefix dropped), None for anything else."""
    text = phone(raw or "")
    if text.startswith("86") and len(text) == 13:
        text = text[2:]
    return text if len(text) == 11 and text.isdigit() else None


class VillageDirectory:
    """Resolves free-text addresses of one county to village (or township) codes by the names
    of its townships and villages. The data hub resolves addresses with the regions resolver
    before linkage; this directory is what the linkage uses on its own (CSV runs, tests)."""

    def __init__(self, villages: Sequence[Village]) -> None:
        self.townships: dict[str, str] = {}
        self.villages: dict[tuple[str, str], str] = {}
        for village in villages:
            self.townships[village.township_name] = village.township_code
            self.villages[(village.township_code, village.name)] = village.code
        self._by_township: dict[str, list[tuple[str, str]]] = {}
        for (township_code, name), code in self.villages.items():
            self._by_township.setdefault(township_code, []).append((name, code))

    def resolve(self, text: str) -> str | None:
        for township_name, township_code in self.townships.items():
            at = text.find(township_name)
            if at < 0:
                continue
            rest = text[at + len(township_name) :]
            for name, code in self._by_township[township_code]:
                if rest.startswith(name):
                    return code
            return township_code
        return None


def _region_levels(code: str | None) -> tuple[str | None, str | None, str | None]:
    """(village, township, county) codes of a 12-digit code of any level."""
    if not code or len(code) != 12 or not code.isdigit():
        return None, None, None
    county = code[:6] if code[4:6] != "00" else None
    township = code[:9] if code[6:9] != "000" else None
    village = code if code[9:] != "000" else None
    return village, township, county


def _as_table(records: Iterable[Mapping[str, Any]] | pa.Table, columns: Sequence[str]) -> pa.Table:
    """The input as an Arrow table of strings with at least ``columns`` (missing ones empty)."""
    if isinstance(records, pa.Table):
        table = records
    else:
        rows = records if isinstance(records, list) else list(records)
        schema = pa.schema([(name, pa.string()) for name in columns])
        try:
            # Arrow's own conversion: missing keys become nulls, extra keys are ignored.
            table = pa.Table.from_pylist(rows, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # values that are not strings
            table = pa.table(
                {
                    name: pa.array(
                        [None if (v := row.get(name)) is None else str(v) for row in rows],
                        pa.string(),
                    )
                    for name in columns
                }
            )
    for name in columns:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        elif table[name].type != pa.string():
            table = table.set_column(
                table.column_names.index(name), name, pc.cast(table[name], pa.string())
            )
    return table


def _map_distinct(
    column: pa.ChunkedArray, fn: Callable[[str], Any], type_: pa.DataType
) -> pa.Array:
    """``fn`` applied once per distinct value of a string column (None and "" map to None)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    mapped = pa.array(
        [fn(value) if value else None for value in encoded.dictionary.to_pylist()], type=type_
    )
    return pc.take(mapped, encoded.indices)


_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)
_CHECKS = np.frombuffer(CHECK_CHARACTERS.encode("ascii"), dtype=np.uint8)


def check_characters_ok(id18: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Whether each 18-character ID's check character is right (False for nulls), for a whole
    column at once: the same GB 11643 rule as ``people.idnumber`` (its weights and check
    characters), on the column's bytes with numpy, because a million numbers one by one in
    Python cost seconds."""
    filled = pc.fill_null(id18, "0" * 18)
    array = filled.combine_chunks() if isinstance(filled, pa.ChunkedArray) else filled
    n = len(array)
    if n == 0:
        return pa.array([], pa.bool_())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    if not np.all(np.diff(offsets) == 18):
        raise ValueError("check_characters_ok expects 18-character strings or nulls")
    chars = data[offsets[0] : offsets[0] + 18 * n].reshape(n, 18)
    digits = chars[:, :17].astype(np.int64) - ord("0")
    shaped = np.all((digits >= 0) & (digits <= 9), axis=1)
    expected = _CHECKS[(np.clip(digits, 0, 9) @ _WEIGHTS) % 11]
    ok = shaped & (expected == chars[:, 17])
    return pc.and_(pa.array(ok), pc.is_valid(id18))


def standardise_persons(
    records: Iterable[Mapping[str, Any]] | pa.Table,
    *,
    resolve_address: Callable[[str], str | None] | None = None,
) -> pa.Table:
    """Standardised person table (columns :data:`PERSON_TABLE_COLUMNS`) from records with the
    input columns of the package docstring (a list of mappings or an Arrow table)."""
    table = _as_table(
        records,
        (
            "record_id",
            "source",
            "name",
            "id_number",
            "sex",
            "birth_date",
            "phone",
            "region_code",
            "address",
            "true_id",
        ),
    )
    names = _map_distinct(
        table["name"], normalise_name, pa.struct([(f, pa.string()) for f in "nspf"])
    )
    ids = _map_distinct(
        table["id_number"],
        id_text,
        pa.struct([("id18", pa.string()), ("from15", pa.bool_())]),
    )
    id18 = pc.struct_field(ids, "id18")
    id_valid = pc.and_(check_characters_ok(id18), pc.invert(pc.struct_field(ids, "from15")))
    births = _map_distinct(table["birth_date"], normalise_date, pa.string())

    def region_of(code: str | None, address: str | None) -> str | None:
        code = (code or "").strip()
        if not code and resolve_address is not None and address:
            code = resolve_address(address) or ""
        return code or None

    # Region codes and addresses repeat a lot: resolve each distinct pair once.
    pairs = pc.binary_join_element_wise(
        pc.fill_null(table["region_code"], ""), pc.fill_null(table["address"], ""), "\x1f"
    )
    regions = _map_distinct(pairs, lambda pair: region_of(*pair.split("\x1f", 1)), pa.string())
    levels = _map_distinct(
        pa.chunked_array([pc.fill_null(regions, "")]),
        lambda code: _region_levels(code),
        pa.struct([("village", pa.string()), ("township", pa.string()), ("county", pa.string())]),
    )

    def empty_to_null(array: Any) -> Any:
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)

    columns = {
        "record_id": table["record_id"],
        "source": pc.fill_null(table["source"], ""),
        "name": empty_to_null(pc.struct_field(names, "n")),
        "surname_pinyin": empty_to_null(pc.struct_field(names, "s")),
        "name_pinyin": empty_to_null(pc.struct_field(names, "p")),
        "name_fuzzy": empty_to_null(pc.struct_field(names, "f")),
        "id18": id18,
        "id_valid": pc.if_else(pc.is_null(id18), pa.scalar(None, pa.bool_()), id_valid),
        "id_stem": pc.utf8_slice_codeunits(id18, 0, 14),
        "birth_date": births,
        "birth_year": pc.cast(pc.utf8_slice_codeunits(births, 0, 4), pa.int32()),
        "sex": _map_distinct(table["sex"], normalise_sex, pa.string()),
        "phone": _map_distinct(table["phone"], normalise_phone, pa.string()),
        "village_code": pc.struct_field(levels, "village"),
        "township_code": pc.struct_field(levels, "township"),
        "county_code": pc.struct_field(levels, "county"),
        "true_id": empty_to_null(table["true_id"]),
    }
    return pa.table(columns).cast(_PERSON_SCHEMA)


_PERSON_SCHEMA = pa.schema(
    [
        (
            name,
            pa.bool_()
            if name == "id_valid"
            else pa.int32()
            if name == "birth_year"
            else pa.string(),
        )
        for name in PERSON_TABLE_COLUMNS
    ]
)

_COMPANY_FORMS = re.compile(r"(有限责任公司|股份有限公司|有限公司|公司)$")


@lru_cache(maxsize=200_000)
def company_name_core(raw: str) -> str:
    """The distinguishing part of a company name: simplified, brackets and the place-name
    prefix or suffix (（安吉）/安吉县) and the legal form dropped."""
    text = t2s()(compact(raw or ""))
    text = re.sub(r"\(.*?\)", "", text)
    text = _COMPANY_FORMS.sub("", text)
    return re.sub(r"^(浙江省)?(湖州市)?(安吉县|安吉)", "", text)


def standardise_entities(
    records: Iterable[Mapping[str, Any]],
    *,
    resolve_address: Callable[[str], str | None] | None = None,
) -> pa.Table:
    """Standardised legal-entity table (columns :data:`ENTITY_TABLE_COLUMNS`)."""
    columns: dict[str, list[Any]] = {name: [] for name in ENTITY_TABLE_COLUMNS}
    for record in records:
        code, code_valid = normalise_uscc(record.get("credit_code"))
        raw_name = str(record.get("name") or "")
        region = str(record.get("region_code") or "").strip()
        if not region and resolve_address and record.get("address"):
            region = resolve_address(str(record["address"])) or ""
        village, township, _county = _region_levels(region)
        columns["record_id"].append(str(record["record_id"]))
        columns["source"].append(str(record.get("source") or ""))
        columns["name"].append(t2s()(unicodedata.normalize("NFKC", raw_name)) or None)
        columns["name_core"].append(company_name_core(raw_name) or None)
        columns["credit_code"].append(code)
        columns["credit_code_valid"].append(code_valid if code else None)
        columns["legal_rep_pinyin"].append(
            normalise_name(str(record.get("legal_rep") or ""))[2] or None
        )
        columns["township_code"].append(township)
        columns["village_code"].append(village)
        columns["true_id"].append(str(record["true_id"]) if record.get("true_id") else None)
    schema = pa.schema(
        [(n, pa.bool_() if n == "credit_code_valid" else pa.string()) for n in ENTITY_TABLE_COLUMNS]
    )
    return pa.table(columns, schema=schema)
