"""The audit log's JSON API: the audit administrator reads checkpoints and proofs (and can
check them on its own); no other role may."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.db import utcnow
from gongzhi.security.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.audit.helpers import write_events
from tests.security.fixtures import login_as

ROUTES = (
    "/api/v1/audit/checkpoints/latest",
    "/api/v1/audit/public-key",
    "/api/v1/audit/proofs/consistency?first=1",
    "/api/v1/audit/proofs/inclusion?leaf_index=0",
)


def _b(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.fixture
def signed(db: Session, settings: Settings) -> list[int]:
    events = write_events(db, 9)
    log.sequence(db, settings)
    log.sign_checkpoint(db, settings, utcnow())
    db.flush()
    return [e.id for e in events]


def test_auditor_gets_a_checkpoint_and_proofs_that_verify(
    client: TestClient, settings: Settings, signed: list[int]
) -> None:
    login_as(client, "audit_admin")
    cp = client.get("/api/v1/audit/checkpoints/latest").json()
    assert cp["hash_algorithm"] == "sm3" and cp["origin"] == settings.audit_origin
    key = client.get("/api/v1/audit/public-key").json()
    assert key["public_key"] == cp["public_key"]
    parsed = log.parse_checkpoint(cp["note"])
    assert get_provider(settings).verify(
        bytes.fromhex(key["public_key"]), parsed.body.encode(), parsed.signatures[0][2]
    )
    hasher = merkle.MerkleHasher("sm3")
    proof = client.get("/api/v1/audit/proofs/inclusion", params={"event_id": signed[4]}).json()
    assert proof["tree_size"] == cp["tree_size"] and proof["event_id"] == signed[4]
    assert merkle.verify_inclusion(
        hasher,
        proof["leaf_index"],
        proof["tree_size"],
        _b(proof["leaf_hash"]),
        [_b(p) for p in proof["inclusion_path"]],
        _b(cp["root_hash"]),
    )
    c = client.get("/api/v1/audit/proofs/consistency", params={"first": 3}).json()
    assert merkle.verify_consistency(
        hasher,
        3,
        cp["tree_size"],
        _b(c["first_root"]),
        _b(c["second_root"]),
        [_b(p) for p in c["consistency_path"]],
    )
    assert c["second_root"] == cp["root_hash"]


def test_bad_queries_are_refused_cleanly(client: TestClient, signed: list[int]) -> None:
    login_as(client, "audit_admin")
    both = client.get("/api/v1/audit/proofs/inclusion", params={"event_id": 1, "leaf_index": 0})
    assert both.status_code == 422
    unknown = client.get("/api/v1/audit/proofs/inclusion", params={"event_id": 10**12})
    assert unknown.status_code == 404
    too_big = client.get("/api/v1/audit/proofs/consistency", params={"first": 10**9})
    assert too_big.status_code == 422


@pytest.mark.parametrize("persona", ["system_admin", "security_admin", "dispatcher", "citizen"])
def test_other_roles_may_not_read_the_log(
    client: TestClient, signed: list[int], persona: str
) -> None:
    login_as(client, persona)
    for route in ROUTES:
        assert client.get(route).status_code == 403, route


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    for route in ROUTES:
        assert client.get(route).status_code == 401, route


def test_audit_administrator_reads_and_changes_nothing() -> None:
    """三员分立: the audit administrator's only grant beyond every staff member's basics is
    reading the log; the system administrator cannot read it (and no route edits it)."""
    staff_basics = ROLE_PERMISSIONS[Role.DISPATCHER] & ROLE_PERMISSIONS[Role.LEADER]
    assert ROLE_PERMISSIONS[Role.AUDIT_ADMIN] - staff_basics == {Permission.AUDIT_READ}
    assert Permission.AUDIT_READ not in ROLE_PERMISSIONS[Role.SYSTEM_ADMIN]
    audit_permissions = {p for p in Permission if p.value.startswith("audit:")}
    assert audit_permissions == {Permission.AUDIT_READ}
