"""JSON API of the audit log: the latest signed checkpoint, inclusion and consistency proofs,
and the log's public key. Read-only; the audit administrator's permission."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query, Request

from gongzhi.audit import log
from gongzhi.audit.models import AuditCheckpoint
from gongzhi.audit.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    PublicKeyOut,
)
from gongzhi.config import Settings
from gongzhi.errors import NotFound
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _checkpoint_out(cp: AuditCheckpoint, algorithm: str) -> CheckpointOut:
    parsed = log.parse_checkpoint(cp.note)
    return CheckpointOut(
        origin=parsed.origin,
        hash_algorithm=algorithm,
        tree_size=cp.tree_size,
        root_hash=_b64(cp.root_hash),
        signed_at=cp.signed_at,
        note=cp.note,
        public_key=cp.public_key.hex(),
    )


def _algorithm(db: DB, settings: Settings) -> str:
    return log.hasher_of(db, settings).algorithm


@router.get("/checkpoints/latest", response_model=CheckpointOut)
def latest_checkpoint(
    request: Request, db: DB, principal: Principal = require(Permission.AUDIT_READ)
) -> CheckpointOut:
    """The latest signed tree head (C2SP checkpoint note, SM2 signature)."""
    cp = log.latest_checkpoint(db)
    if cp is None:
        raise NotFound("还没有签名的检查点 / No signed checkpoint yet", code="no_checkpoint")
    return _checkpoint_out(cp, _algorithm(db, _settings(request)))


@router.get("/proofs/inclusion", response_model=InclusionProofOut)
def inclusion_proof(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.AUDIT_READ),
    event_id: Annotated[int | None, Query(ge=1, description="The audit event's id.")] = None,
    leaf_index: Annotated[int | None, Query(ge=0, description="Or the entry's index.")] = None,
    tree_size: Annotated[
        int | None, Query(ge=1, description="Prove against this size (default: latest checkpoint).")
    ] = None,
) -> InclusionProofOut:
    """Proof that one audit event is entry ``leaf_index`` of the log of ``tree_size`` entries
    (RFC 9162 §2.1.3). 409 ``not_sequenced`` for an event recorded seconds ago."""
    settings = _settings(request)
    proof = log.inclusion_for(
        db, settings, event_id=event_id, leaf_index=leaf_index, tree_size_=tree_size
    )
    algorithm = _algorithm(db, settings)
    return InclusionProofOut(
        hash_algorithm=algorithm,
        leaf_index=proof.leaf_index,
        event_id=proof.event_id,
        tree_size=proof.tree_size,
        leaf_hash=_b64(proof.leaf_hash),
        root_hash=_b64(proof.root_hash),
        inclusion_path=[_b64(p) for p in proof.path],
        checkpoint=_checkpoint_out(proof.checkpoint, algorithm) if proof.checkpoint else None,
    )


@router.get("/proofs/consistency", response_model=ConsistencyProofOut)
def consistency_proof(
    request: Request,
    db: DB,
    first: Annotated[int, Query(ge=0, description="The older tree size.")],
    principal: Principal = require(Permission.AUDIT_READ),
    second: Annotated[
        int | None, Query(ge=0, description="The newer size (default: latest checkpoint).")
    ] = None,
) -> ConsistencyProofOut:
    """Proof that the log of ``second`` entries extends the log of ``first`` entries
    (RFC 9162 §2.1.4): nothing was changed or removed in between."""
    settings = _settings(request)
    proof = log.consistency_for(db, settings, first, second)
    return ConsistencyProofOut(
        hash_algorithm=_algorithm(db, settings),
        first=proof.first,
        second=proof.second,
        first_root=_b64(proof.first_root),
        second_root=_b64(proof.second_root),
        consistency_path=[_b64(p) for p in proof.path],
    )


@router.get("/public-key", response_model=PublicKeyOut)
def public_key(
    request: Request, db: DB, principal: Principal = require(Permission.AUDIT_READ)
) -> PublicKeyOut:
    """The SM2 key the checkpoints are signed with, for a witness to pin."""
    from gongzhi.crypto import get_provider

    settings = _settings(request)
    key = get_provider(settings).public_key(log.SIGNING_KEY)
    found = log.get_log(db)
    name = found.origin if found is not None else settings.audit_origin
    return PublicKeyOut(
        key_name=name, public_key=key.hex(), key_id=log.note_key_id(name, key).hex()
    )
