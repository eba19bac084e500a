"""After the test run, no plaintext ID number or mobile number in what the suite leaves behind.

A pytest plugin (registered in tests/conftest.py), active with ``--plaintext-scan``, which
``make test`` passes, so both CI passes run it:

* while the suite runs, the platform's log records (the ``gongzhi`` loggers from INFO, every
  other logger from WARNING) also go to a file under the run's base temporary directory
  (``application-<worker>.log``);
* when the run ends, every database file the suite left there — the session's SQLite
  database with its write-ahead log, and the files of the tests that build their own
  (migrations, the demo) — and every log file is read byte by byte; with
  ``GONGZHI_TEST_DATABASE_URL`` set, the PostgreSQL test database (and its xdist siblings) is
  dumped with ``pg_dump`` (bytea as escaped text, so a plain value in a binary column shows)
  and the dump scanned too;
* anything shaped like an ID number or a mobile number (gongzhi.crypto.identifiers) is a
  finding: the run fails, and each finding is printed as file, byte offset and the value
  masked, so the report does not repeat the leak.

Every personal value the platform stores is sealed, and fixtures go through the same models,
so there is nothing to allow: ``ALLOWED`` is empty, and a value added to it needs a reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from gongzhi.crypto.identifiers import find_identifiers, mask_identifier

OPTION = "--plaintext-scan"
LOG_PREFIX = "application-"
SCANNED_SUFFIXES = (".db", ".db-wal", ".db-journal", ".sqlite", ".sqlite3", ".log", ".sql")
# value -> why a test stores it in the clear on purpose (none does).
ALLOWED: dict[bytes, str] = {}
MAX_REPORTED = 50

_handler_key = pytest.StashKey[logging.Handler]()
_report_key = pytest.StashKey[tuple[bool, list[str]]]()


@dataclass(frozen=True)
class Finding:
    where: str  # the file, relative to the scanned directory
    offset: int
    masked: str

    def __str__(self) -> str:
        return f"{self.where}:{self.offset}: {self.masked}"


def scan_bytes(data: bytes, where: str) -> list[Finding]:
    return [
        Finding(where, offset, mask_identifier(value))
        for offset, value in find_identifiers(data)
        if value not in ALLOWED
    ]


def scanned_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(SCANNED_SUFFIXES):
            yield path


def scan_sqlite(path: Path, where: str) -> list[Finding]:
    """Every value of every table, one by one. The byte scan of the file alone can miss a
    value: SQLite writes a record's header bytes right before its text, and a header byte
    may be an ASCII digit, which hides the value's start from the shape's boundary."""
    findings: list[Finding] = []
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            values: list[bytes] = []
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        values.append(value.encode("utf-8"))
                    elif isinstance(value, bytes):
                        values.append(value)
            # One scan per table; the separator is a boundary like the start of a value.
            findings += scan_bytes(b"\x00".join(values), f"{where}[{table}]")
    return findings


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def scan_files(root: Path, files: Iterable[Path] | None = None) -> tuple[list[Finding], int]:
    """Findings in the database and log files under ``root``, and the bytes read: each file
    byte by byte, and each SQLite database also value by value."""
    findings: list[Finding] = []
    size = 0
    for path in scanned_files(root) if files is None else files:
        data = path.read_bytes()
        size += len(data)
        where = str(path.relative_to(root))
        findings += scan_bytes(data, where)
        if _is_sqlite(path):
            findings += scan_sqlite(path, where)
    return findings, size


# --- PostgreSQL ---------------------------------------------------------------------------


def _libpq_url(url: str, database: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def postgres_databases(url: str) -> list[str]:
    """The test database and the per-worker ones xdist made next to it (tests/conftest.py)."""
    from sqlalchemy import text

    from gongzhi.db import make_engine

    base = _database_name(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            siblings = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p ORDER BY datname"),
                {"p": base.replace("_", r"\_") + r"\_gw%"},
            ).scalars()
            return [base, *siblings]
    finally:
        engine.dispose()


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    assert name, url
    return name


def dump_postgres(url: str, out_dir: Path) -> list[Path]:
    """A plain-text dump of each test database into ``out_dir``."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is not installed: the PostgreSQL test database is not scanned")
    env = {**os.environ, "PGOPTIONS": "-c bytea_output=escape"}
    dumps = []
    for name in postgres_databases(url):
        out = out_dir / f"pg-dump-{name}.sql"
        subprocess.run(
            [pg_dump, "--no-owner", "--no-privileges", "--file", str(out), _libpq_url(url, name)],
            check=True,
            env=env,
            capture_output=True,
        )
        dumps.append(out)
    return dumps


# --- the plugin ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION,
        action="store_true",
        default=False,
        help="after the run, scan the test databases and logs for plaintext ID and mobile "
        "numbers (tests/security/plaintext_scan.py)",
    )


def _base_temp(config: pytest.Config) -> Path:
    factory = config._tmp_path_factory  # type: ignore[attr-defined]
    return Path(factory.getbasetemp())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("plaintext_scan"):
        return
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    handler = logging.FileHandler(_base_temp(config) / f"{LOG_PREFIX}{worker}.log", "a", "utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    platform = logging.getLogger("gongzhi")
    if platform.level == logging.NOTSET or platform.level > logging.INFO:
        platform.setLevel(logging.INFO)
    config.stash[_handler_key] = handler


def pytest_unconfigure(config: pytest.Config) -> None:
    handler = config.stash.get(_handler_key, None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not config.getoption("plaintext_scan") or hasattr(config, "workerinput"):
        return  # xdist workers leave the scan to the controller, which sees all their files
    handler = config.stash.get(_handler_key, None)
    if handler is not None:
        handler.flush()
    root = _base_temp(config)
    problems: list[str] = []
    url = os.environ.get("GONGZHI_TEST_DATABASE_URL")
    if url:
        try:
            dump_postgres(url, root)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            problems.append(f"{exc} {detail.decode(errors='replace')}".strip())
    findings, size = scan_files(root)
    files = len(list(scanned_files(root)))
    lines: list[str] = []
    if not findings and not problems:
        lines.append(
            f"{files} database, dump and log files ({size / 1e6:.1f} MB) under {root}: "
            "no ID or mobile number"
        )
        config.stash[_report_key] = (True, lines)
        return
    lines.append(f"FAILED: {len(findings)} finding(s) under {root}")
    lines += [f"  {problem}" for problem in problems]
    lines += [f"  {finding}" for finding in findings[:MAX_REPORTED]]
    if len(findings) > MAX_REPORTED:
        lines.append(f"  … and {len(findings) - MAX_REPORTED} more")
    config.stash[_report_key] = (False, lines)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Printed after the run's summary of failures (the terminal reporter calls this after
    every ``pytest_sessionfinish``, the scan's included)."""
    report = terminalreporter.config.stash.get(_report_key, None)
    if report is None:
        return
    clean, lines = report
    terminalreporter.section("plaintext scan", green=clean, red=not clean, bold=not clean)
    for line in lines:
        terminalreporter.write_line(line, green=clean, red=not clean)
