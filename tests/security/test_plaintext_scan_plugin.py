"""The end-of-run plaintext scan (tests/security/plaintext_scan.py) finds what it looks for: a
mobile number written to the platform's log and an ID number left in a SQLite file fail the
run, and the report names the file and offset with the value masked, never in full."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from gongzhi.people.idnumber import check_character
from tests.security.plaintext_scan import scan_bytes, scan_files

ID_NUMBER = "33052319800101123" + check_character("33052319800101123")
PHONE = "15967890123"
ROOT = Path(__file__).resolve().parents[2]

LEAKY_TEST = f'''
import logging
import sqlite3
from contextlib import closing


def test_leaks(tmp_path):
    logging.getLogger("gongzhi.cases").info("call back %s", "{PHONE}")
    with closing(sqlite3.connect(tmp_path / "leak.db")) as db, db:
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES ('{ID_NUMBER}')")
'''

CLEAN_TEST = """
import logging


def test_clean():
    logging.getLogger("gongzhi.cases").info("call back 138****1999, case AJ-20261129-0001")
"""


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the run's base temporary directory: what these tests plant must
    not be found by the scan of the run they are part of."""
    with tempfile.TemporaryDirectory(prefix="plaintext-scan-probe-") as name:
        yield Path(name)


def test_findings_are_reported_masked(outside: Path) -> None:
    tmp_path = outside
    blob = (
        b"\x00\x01 "
        + ID_NUMBER.encode()
        + b" deadbeef"
        + PHONE.encode()
        + b"cafe "
        + PHONE.encode()
    )
    findings = scan_bytes(blob, "x.db")
    assert [(f.offset, f.masked) for f in findings] == [
        (3, "330523********" + ID_NUMBER[-4:]),
        (blob.rindex(PHONE.encode()), "159****0123"),
    ]
    (tmp_path / "a.db").write_bytes(blob)
    (tmp_path / "notes.csv").write_bytes(blob)  # not a database or log file: not scanned
    found, size = scan_files(tmp_path)
    assert {f.where for f in found} == {"a.db"} and size == len(blob)


def _run(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_probe.py"
    test_file.write_text(source, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.security.plaintext_scan",
            "-p",
            "no:cacheprovider",
            "--plaintext-scan",
            f"--basetemp={tmp_path / 'run'}",
            f"--rootdir={tmp_path}",
            "-c",
            "/dev/null",
            str(test_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_leak_in_the_log_or_a_database_file_fails_the_run(outside: Path) -> None:
    tmp_path = outside
    result = _run(tmp_path, LEAKY_TEST)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 passed" in out and "plaintext scan" in out and "FAILED: 2 finding(s)" in out
    assert "application-main.log:" in out and "159****0123" in out
    assert "leak.db[t]:" in out and "330523********" in out
    assert PHONE not in out and ID_NUMBER not in out
    with closing(sqlite3.connect(next((tmp_path / "run").rglob("leak.db")))) as db:
        assert db.execute("SELECT v FROM t").fetchone() == (ID_NUMBER,)


def test_a_clean_run_passes(outside: Path) -> None:
    tmp_path = outside
    result = _run(tmp_path, CLEAN_TEST)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "no ID or mobile number" in out
    log = (tmp_path / "run" / "application-main.log").read_text(encoding="utf-8")
    assert "138****1999" in log  # the platform's INFO lines do reach the scanned log
