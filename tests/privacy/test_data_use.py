"""The citizen's "who used my data": the page and the API list exactly the reveals the audit
log holds about the citizen (derived here from the audit events themselves, after reveals
about them and about others), each proof verifies against the signed checkpoint, events not
yet sequenced are "being recorded", and a tampered event shows as failed."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.privacy import services
from tests.audit.helpers import bypass_triggers
from tests.cases.helpers import no_classifier, principal  # noqa: F401
from tests.privacy.helpers import (
    As,
    account,
    id_number,
    make_case,
    make_person,
    reveal_events_about,
    sequence_all,
)

pytestmark = pytest.mark.usefixtures("no_classifier")


def _mixed_reveals(db: Session) -> None:
    """Reveals about the citizen (their case's contact, their register entry) and about
    others (another citizen's case, a hotline caller, another person)."""
    mine = make_case(db)
    others = make_case(db, reporter="citizen_two", phone="13700001111", name="钱二")
    hotline = make_case(db, reporter=None, phone="13600002222", name="赵六")
    me = make_person(db, link_to="citizen")
    someone = make_person(db, number=id_number(seq="135"), name="孙七")
    dispatcher, chen, clerk = (
        principal(db, "dispatcher"),
        principal(db, "zhifa_chen"),
        principal(db, "township_clerk"),
    )
    services.reveal_case_contact(db, mine, fields=["phone"], purpose="call_back", actor=dispatcher)
    services.reveal_case_contact(
        db, others, fields=["phone"], purpose="call_back", actor=dispatcher
    )
    services.reveal_case_contact(db, mine, fields=["name"], purpose="handle_case", actor=chen)
    services.reveal_case_contact(
        db, hotline, fields=["phone", "name"], purpose="handle_case", actor=dispatcher
    )
    services.reveal_person(
        db,
        me,
        fields=["id_number"],
        purpose="verify_identity",
        case_number=mine.number,
        actor=clerk,
    )
    services.reveal_person(db, someone, fields=["name"], purpose="verify_identity", actor=clerk)
    services.reveal_person(
        db, me, fields=["phone"], purpose="other", purpose_text="核对住址变更", actor=dispatcher
    )
    db.flush()


def test_the_page_lists_exactly_what_the_log_holds_and_every_proof_verifies(
    signed_in: Callable[[str], As], db: Session, settings: Settings
) -> None:
    _mixed_reveals(db)
    citizen_account = account(db, "citizen")
    expected = reveal_events_about(db, citizen_account)
    assert len(expected) == 4  # two of the case contact, two of the register entry
    citizen = signed_in("citizen")

    # Before the sequencer runs: listed, "being recorded", no proof link.
    listed = citizen.get("/api/v1/privacy/my/data-use").json()
    assert sorted(e["audit_event_id"] for e in listed) == sorted(e.id for e in expected)
    assert {e["proof"]["status"] for e in listed} == {"recording"}
    page = citizen.get("/my/data-use").text
    assert page.count('data-status="recording"') == 4 and "正在记录" in page

    sequence_all(db, settings)
    listed = citizen.get("/api/v1/privacy/my/data-use").json()
    # Newest first, and exactly the log's events with their own words.
    assert [e["audit_event_id"] for e in listed] == [e.id for e in reversed(expected)]
    for entry, event in zip(listed, reversed(expected), strict=True):
        assert event.new is not None
        assert entry["who"] == event.new["actor_name"]
        assert entry["department"] == event.new["department"]
        assert entry["purpose"] == event.new["purpose"]
        assert entry["case_number"] == event.new["case_number"]
        assert entry["fields"] == event.new["fields"]
        assert entry["proof"]["status"] == "verified"
    page = citizen.get("/my/data-use").text
    assert page.count('data-status="verified"') == 4 and "已验证" in page
    assert "陈执法" in page and "安吉县综合行政执法局" in page and "核对住址变更" in page
    assert "钱二" not in page and "孙七" not in page

    # Each JSON proof checks out with nothing but the RFC 9162 algorithm and the log's key.
    key = get_provider(settings).public_key(log.SIGNING_KEY)
    hasher = merkle.MerkleHasher(settings.audit_hash)
    for entry in listed:
        proof = citizen.get(entry["proof"]["proof_url"]).json()
        leaf = base64.b64decode(proof["leaf_hash"])
        assert hasher.hash_leaf(proof["canonical"].encode()) == leaf
        assert merkle.verify_inclusion(
            hasher,
            proof["leaf_index"],
            proof["tree_size"],
            leaf,
            [base64.b64decode(p) for p in proof["inclusion_path"]],
            base64.b64decode(proof["root_hash"]),
        )
        note = log.parse_checkpoint(proof["checkpoint"]["note"])
        assert proof["checkpoint"]["public_key"] == key.hex()
        assert get_provider(settings).verify(key, note.body.encode(), note.signatures[0][2])
        assert note.root_hash == base64.b64decode(proof["root_hash"])

    # Another citizen sees none of it and cannot fetch its proofs.
    other = signed_in("citizen_two")
    assert other.get(listed[0]["proof"]["proof_url"]).status_code == 404
    theirs = other.get("/api/v1/privacy/my/data-use").json()
    assert len(theirs) == 1 and theirs[0]["case_number"] != listed[0]["case_number"]
    # Staff have no such page.
    assert signed_in("dispatcher").get("/my/data-use").status_code == 403


def test_a_new_reveal_is_being_recorded_until_the_next_checkpoint(
    signed_in: Callable[[str], As], db: Session, settings: Settings
) -> None:
    case = make_case(db)
    dispatcher = principal(db, "dispatcher")
    services.reveal_case_contact(db, case, fields=["phone"], purpose="call_back", actor=dispatcher)
    sequence_all(db, settings)
    services.reveal_case_contact(db, case, fields=["name"], purpose="call_back", actor=dispatcher)
    citizen = signed_in("citizen")
    listed = citizen.get("/api/v1/privacy/my/data-use").json()
    assert [e["proof"]["status"] for e in listed[:2]] == ["recording", "verified"]
    newest = listed[0]
    resp = citizen.get(f"/api/v1/privacy/my/data-use/{newest['id']}/proof")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_sequenced"


def test_a_tampered_event_is_shown_as_failed(
    signed_in: Callable[[str], As], db: Session, settings: Settings
) -> None:
    case = make_case(db)
    services.reveal_case_contact(
        db, case, fields=["phone"], purpose="call_back", actor=principal(db, "dispatcher")
    )
    sequence_all(db, settings)
    event = reveal_events_about(db, account(db, "citizen"))[-1]
    bypass_triggers(db)
    forged = (event.canonical or "").replace("call_back", "handle_case")
    db.execute(
        text("UPDATE audit_event SET canonical = :c WHERE id = :i"), {"c": forged, "i": event.id}
    )
    db.expire_all()
    listed = signed_in("citizen").get("/api/v1/privacy/my/data-use").json()
    entry = next(e for e in listed if e["audit_event_id"] == event.id)
    assert entry["proof"]["status"] == "failed"
