"""Reading a CSV or XLSX file as a stream of rows, never loading it whole.

CSV encodings: UTF-8 with or without BOM is tried first, strictly; a file that is not UTF-8
is read as GB18030 (a superset of GBK and GB2312); a file that is neither is refused. The
choice is made on the first 1 MiB, and a later byte that does not decode refuses the whole
file (a file in two encodings is damaged). XLSX is read with openpyxl in read-only mode.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gongzhi.errors import Invalid

SAMPLE_BYTES = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
Row = tuple[int, list[str]]


class ImportRefused(Invalid):
    """The file yields no version; ``issues`` and ``quality`` still describe it."""

    code = "import_refused"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        file_report: list[dict[str, Any]] | None = None,
        issues: list[tuple[int, str, str, str, bool, str | None]] | None = None,
        quality: dict[str, Any] | None = None,
        rows_read: int = 0,
        rows_rejected: int = 0,
    ) -> None:
        super().__init__(message, code=code, details=(file_report or [])[:200] or None)
        self.file_report = file_report or []
        self.issues = issues or []
        self.quality = quality
        self.rows_read = rows_read
        self.rows_rejected = rows_rejected


def refused(message: str, reason: str, code: str = "file_rejected") -> ImportRefused:
    return ImportRefused(message, code=code, file_report=[{"column": "", "reason": reason}])


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030``; raises Invalid for anything else.

    ``complete`` says the sample is the whole file (a multi-byte character cut at the end of
    a partial sample is not an error)."""
    encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    if b"\x00" in sample:
        raise refused(
            "文件含有空字节，不是文本文件（UTF-16 请另存为 UTF-8）/ "
            "the file contains NUL bytes: not a text file (save UTF-16 as UTF-8)",
            "encoding: NUL bytes",
            code="bad_encoding",
        )
    for candidate in (encoding, "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)(errors="strict")
        try:
            decoder.decode(sample, final=complete)
            return candidate
        except UnicodeDecodeError:
            continue
    raise refused(
        "无法识别文件编码：既不是 UTF-8，也不是 GBK/GB18030 / "
        "the file is neither UTF-8 nor GBK/GB18030",
        "encoding: neither UTF-8 nor GB18030",
        code="bad_encoding",
    )


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read (for the progress bar)."""

    def __init__(self, handle: IO[bytes], on_read: Callable[[int], None] | None) -> None:
        self._handle = handle
        self._on_read = on_read
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._handle.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.done += n
            if self._on_read is not None:
                self._on_read(self.done)
        return n or 0


@dataclass
class TableFile:
    path: Path
    filename: str
    size: int
    format: str  # csv | xlsx
    encoding: str  # utf-8 | utf-8-sig | gb18030 | xlsx

    def rows(self, on_bytes: Callable[[int], None] | None = None) -> Iterator[Row]:
        """(row number, cells) from the header on; row numbers count from 1 (for CSV the
        line where the record starts, so a multi-line cell keeps later numbers right)."""
        if self.format == "xlsx":
            yield from self._xlsx_rows(on_bytes)
        else:
            yield from self._csv_rows(on_bytes)

    def _csv_rows(self, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
        with self.path.open("rb") as raw:
            counting = _CountingReader(raw, on_bytes)
            buffered = io.BufferedReader(counting, buffer_size=1 << 20)
            stream = io.TextIOWrapper(buffered, encoding=self.encoding, errors="strict", newline="")
            first = stream.readline()
            delimiter = "\t" if "\t" in first and "," not in first else ","
            reader = csv.reader(_chain_first(first, stream), delimiter=delimiter)
            start = 1
            try:
                for cells in reader:
                    yield start, cells
                    start = reader.line_num + 1
            except UnicodeDecodeError as exc:
                raise refused(
                    f"第 {start} 行附近的字节不是 {self.encoding} 编码，"
                    "文件可能已损坏或混用了编码 / "
                    f"bytes near row {start} are not {self.encoding}: damaged or mixed encodings",
                    f"encoding: {exc.reason} near row {start}",
                    code="bad_encoding",
                ) from None
            except csv.Error as exc:
                raise refused(
                    f"第 {start} 行 CSV 格式错误 / malformed CSV at row {start}: {exc}",
                    f"csv: {exc}",
                ) from None

    def _xlsx_rows(self, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise refused(
                "无法读取 XLSX 文件 / cannot read the XLSX file", f"xlsx: {exc}"
            ) from None
        try:
            sheet = workbook.worksheets[0]
            total = sheet.max_row or 0
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if on_bytes is not None and total and index % 1000 == 0:
                    on_bytes(min(self.size, self.size * index // total))
                yield index, [_xlsx_cell(v) for v in values]
            if on_bytes is not None:
                on_bytes(self.size)
        finally:
            workbook.close()


def _chain_first(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "hour"):
        # A spreadsheet date cell: dates at midnight are plain dates.
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return str(value.date().isoformat())
        return str(value.isoformat(sep=" "))
    return str(value)


def open_table(path: Path, filename: str | None = None) -> TableFile:
    """Look at the file's first bytes: XLSX by its zip signature (or name), else CSV in a
    detected encoding."""
    name = filename or path.name
    size = path.stat().st_size
    if size == 0:
        raise refused("文件为空 / the file is empty", "empty file")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(XLSX_MAGIC) or name.lower().endswith((".xlsx", ".xlsm")):
        return TableFile(path, name, size, "xlsx", "xlsx")
    if name.lower().endswith(".xls"):
        raise refused(
            "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV / old .xls files are not supported: "
            "save as .xlsx or CSV",
            "format: xls",
        )
    encoding = detect_encoding(sample, complete=len(sample) == size)
    return TableFile(path, name, size, "csv", encoding)
