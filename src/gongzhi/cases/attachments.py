"""Citizens' photos: checked by their first bytes (never by the file name), stored once per
content under ``Settings.upload_dir`` by SHA-256, attached to a case at submission.

A refused file raises ``Invalid`` with a stable code (``photo_too_large``,
``photo_not_image``, ``photo_empty``, ``too_many_photos``); the caller keeps the rest of the
report as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.cases.models import Case, CaseAttachment
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Invalid

MAX_PHOTOS = 3
MAX_BYTES = 5 * 1024 * 1024
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_SHA = re.compile(r"^[0-9a-f]{64}$")


def sniff(data: bytes) -> str | None:
    """The image type from the file's magic bytes (JPEG, PNG, WebP), else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    content_type: str
    size: int
    filename: str
    storage_key: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredPhoto:
        return cls(
            sha256=str(data["sha256"]),
            content_type=str(data["content_type"]),
            size=int(data["size"]),
            filename=str(data["filename"]),
            storage_key=str(data["storage_key"]),
        )


def _clean_name(filename: str | None) -> str:
    # Only the last path part, no control characters; shown back to the citizen, never used
    # as a path.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "photo"


def check_photo(data: bytes, filename: str | None) -> str:
    """The content type of an acceptable photo; ``Invalid`` otherwise."""
    name = _clean_name(filename)
    if not data:
        raise Invalid(f"文件 {name} 是空的 / the file {name} is empty", code="photo_empty")
    if len(data) > MAX_BYTES:
        raise Invalid(
            f"照片 {name} 超过 5 MB，请换一张较小的照片 / "
            f"the photo {name} is larger than 5 MB; choose a smaller one",
            code="photo_too_large",
        )
    content_type = sniff(data)
    if content_type is None:
        raise Invalid(
            f"文件 {name} 不是 JPEG、PNG 或 WebP 格式的照片 / "
            f"the file {name} is not a JPEG, PNG or WebP photo",
            code="photo_not_image",
        )
    return content_type


def storage_path(settings: Settings, storage_key: str) -> Path:
    root = Path(settings.upload_dir).resolve()
    path = (root / storage_key).resolve()
    if root not in path.parents:
        raise Invalid("invalid storage key", code="invalid_storage_key")
    return path


def store_photo(data: bytes, filename: str | None, settings: Settings) -> StoredPhoto:
    """Check and store one photo; the same content is written once."""
    content_type = check_photo(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}.{EXTENSIONS[content_type]}"
    path = storage_path(settings, key)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fp:
                fp.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredPhoto(digest, content_type, len(data), _clean_name(filename), key)


def photo_url(number: str, sha256: str) -> str:
    return f"/cases/{number}/photos/{sha256}"


def attach_photos(
    db: Session, case: Case, photos: list[StoredPhoto], *, actor: Actor
) -> list[CaseAttachment]:
    """Record the photos of a newly submitted case (in the intake's transaction)."""
    if len(photos) > MAX_PHOTOS:
        raise Invalid(
            f"最多 {MAX_PHOTOS} 张照片 / at most {MAX_PHOTOS} photos", code="too_many_photos"
        )
    now = utcnow()
    rows = [
        CaseAttachment(
            case_id=case.id,
            filename=p.filename,
            content_type=p.content_type,
            size=p.size,
            sha256=p.sha256,
            storage_key=p.storage_key,
            created_at=now,
            uploaded_by=actor.audit_id,
        )
        for p in photos
    ]
    if not rows:
        return rows
    db.add_all(rows)
    # Other channels give photos as links; the web form's are served from here.
    case.media_urls = [
        *(case.media_urls or []),
        *(photo_url(case.number, p.sha256) for p in photos),
    ]
    db.flush()
    record(
        db,
        actor=actor,
        action="cases.attachment.add",
        object_type="service_case",
        object_id=case.number,
        new={"photos": [{"sha256": p.sha256, "size": p.size} for p in photos]},
        region_code=case.region_code,
    )
    return rows


def attachments_of(db: Session, case: Case) -> list[CaseAttachment]:
    return list(
        db.scalars(
            select(CaseAttachment)
            .where(CaseAttachment.case_id == case.id)
            .order_by(CaseAttachment.id)
        )
    )


def attachment_by_hash(db: Session, case: Case, sha256: str) -> CaseAttachment | None:
    if not _SHA.match(sha256):
        return None
    return db.scalar(
        select(CaseAttachment)
        .where(CaseAttachment.case_id == case.id, CaseAttachment.sha256 == sha256)
        .limit(1)
    )
