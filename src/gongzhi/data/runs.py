"""Running an import off the request: receive the upload, create the job, import in a
background thread, and report progress for the page to poll.

Progress lives in this process's memory (``progress_of``); the job row holds the outcome,
so a page polling another process still sees the job finish. The import's own transaction
is the version (all or nothing); a failure is recorded in a second transaction.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gongzhi.audit.services import Actor
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.data import services
from gongzhi.data.models import ImportJob
from gongzhi.db import session_scope
from gongzhi.errors import Invalid

logger = logging.getLogger(__name__)

# Uploads through the pages and the API stop here; larger files go through the command line,
# which streams a file of any size from disk.
UPLOAD_LIMIT_BYTES = 200 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx")
# Run uploads inside the request instead of a thread (the route tests, whose app shares one
# database connection with the test).
RUN_INLINE = False


@dataclass
class Progress:
    bytes_total: int
    bytes_done: int = 0
    rows: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: bool = False

    @property
    def percent(self) -> int:
        if self.bytes_total <= 0:
            return 0
        return min(99 if not self.finished else 100, self.bytes_done * 100 // self.bytes_total)


_progress: dict[int, Progress] = {}
_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def progress_of(job_id: int) -> Progress | None:
    return _progress.get(job_id)


def too_large(size: int) -> Invalid:
    limit = UPLOAD_LIMIT_BYTES // (1024 * 1024)
    return Invalid(
        f"文件超过 {limit} MB，网页上传不接受；请用命令行 gongzhi data import 导入 / "
        f"the file is larger than {limit} MB: import it with `gongzhi data import`",
        code="file_too_large",
    )


def check_declared_size(content_length: str | None) -> None:
    """Refuse an oversized upload from its Content-Length, before reading the body."""
    if (
        content_length
        and content_length.isdigit()
        and int(content_length) > UPLOAD_LIMIT_BYTES + 65536
    ):
        raise too_large(int(content_length))


def receive_upload(source: IO[bytes], filename: str, settings: Settings) -> tuple[Path, int, str]:
    """Copy an uploaded file to a private temporary file, with its size and SHA-256."""
    if not filename.lower().endswith(UPLOAD_SUFFIXES):
        raise Invalid(
            "只接受 CSV 或 XLSX 文件 / only CSV and XLSX files are accepted", code="bad_file_type"
        )
    folder = settings.upload_dir / "data-imports"
    folder.mkdir(parents=True, exist_ok=True)
    # Kept after closing: the import thread reads it and deletes it when done.
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=folder, delete=False, suffix=Path(filename).suffix
    )
    digest = hashlib.sha256()
    size = 0
    try:
        with handle:
            while block := source.read(1 << 20):
                size += len(block)
                if size > UPLOAD_LIMIT_BYTES:
                    raise too_large(size)
                digest.update(block)
                handle.write(block)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(handle.name).unlink(missing_ok=True)
        raise Invalid("文件为空 / the file is empty", code="file_rejected")
    return Path(handle.name), size, digest.hexdigest()


def run_job(
    session_factory: Any,
    settings: Settings,
    job_id: int,
    path: Path,
    actor: Actor,
    *,
    progress: Progress | None = None,
) -> bool:
    """Import the job's file; True if a version was made. Never raises for a bad file."""

    def on_progress(done: int, total: int, rows: int) -> None:
        if progress is not None:
            if done >= 0:
                progress.bytes_done = done
            progress.rows = rows

    provider = get_provider(settings)
    try:
        with session_scope(session_factory) as db:
            job = db.get(ImportJob, job_id)
            if job is None:
                return False
            services.import_version(
                db, job, path, provider=provider, actor=actor, on_progress=on_progress
            )
        return True
    except Exception as exc:
        if not isinstance(exc, Invalid):
            logger.exception("data import %s stopped", job_id)
        with session_scope(session_factory) as db:
            services.record_import_failure(db, job_id, exc, actor=actor)
        return False
    finally:
        if progress is not None:
            progress.finished = True


def start_background_import(
    session_factory: Any,
    settings: Settings,
    job_id: int,
    path: Path,
    actor: Actor,
    *,
    size: int,
) -> threading.Thread | None:
    progress = Progress(bytes_total=size)
    _progress[job_id] = progress
    if RUN_INLINE:
        try:
            run_job(session_factory, settings, job_id, path, actor, progress=progress)
        finally:
            path.unlink(missing_ok=True)
        return None

    def work() -> None:
        try:
            run_job(session_factory, settings, job_id, path, actor, progress=progress)
        finally:
            path.unlink(missing_ok=True)
            with _lock:
                _threads.pop(job_id, None)
            # Keep the finished progress a little for a last poll, then forget it.
            forget = threading.Timer(60, lambda: _progress.pop(job_id, None))
            forget.daemon = True
            forget.start()

    thread = threading.Thread(target=work, name=f"data-import-{job_id}", daemon=True)
    with _lock:
        _threads[job_id] = thread
    thread.start()
    return thread


def wait_for_imports(timeout: float = 120) -> None:
    """Block until every running background import has finished (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = list(_threads.values())
        if not threads:
            return
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return
