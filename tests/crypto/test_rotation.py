"""Data-key rotation: batches, one transaction each, resumable; the old version readable
until the end and refused after it; index keys untouched."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.crypto.fields import use_provider
from gongzhi.crypto.provider import CryptoError
from gongzhi.crypto.rotation import counts_by_version, pending_rows, rotate
from gongzhi.crypto.software import SoftwareCryptoProvider
from gongzhi.people import queries, services
from gongzhi.people.idnumber import check_character
from gongzhi.people.models import Person
from tests.cases.helpers import submit

ACTOR = SystemActor("test")


def _session_on(connection: Connection) -> Session:
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def keys(suite_key_copy: SoftwareCryptoProvider) -> Iterator[SoftwareCryptoProvider]:
    with use_provider(suite_key_copy):
        yield suite_key_copy


def _people(db: Session, n: int) -> list[Person]:
    out = []
    for i in range(n):
        first17 = f"330523199001{i % 28 + 1:02d}{i:03d}"
        out.append(
            services.register_person(
                db,
                id_number=first17 + check_character(first17),
                name=f"测试{i}",
                phone=f"1390000{i:04d}",
                actor=ACTOR,
            )
        )
    return out


def test_rotation_resumes_and_retires_the_old_version(
    keys: SoftwareCryptoProvider, connection: Connection, db: Session
) -> None:
    people = _people(db, 7)
    submit(db, contact_name="王五", contact_phone="13912345678")
    db.commit()
    before = counts_by_version(db)
    assert before["person.id_number"] == {1: 7}
    old_id_sealed = bytes(people[0].id_number_sealed or b"")
    old_index = people[0].id_number_index
    factory = lambda: _session_on(connection)  # noqa: E731
    # Every row with a sealed value: the 7 people, the contact, the seeded accounts' TOTP
    # secrets.
    total = pending_rows(db, 2)
    assert total >= 8

    # Interrupted after two batches of three rows: version 2 is current, version 1 still open.
    first = rotate(factory, keys, actor=ACTOR, batch_size=3, stop_after_batches=2)
    assert (first.version, first.started) == (2, True)
    assert 0 < first.rows < total
    assert keys.material.current_data_key == 2
    assert keys.material.readable_versions == [1, 2]
    db.expire_all()
    assert 0 < pending_rows(db, 2) < total
    mixed: Counter[int] = Counter()
    for counts in counts_by_version(db).values():
        mixed.update(counts)
    assert mixed[1] > 0 and mixed[2] > 0
    assert {p.name for p in db.scalars(select(Person))} == {f"测试{i}" for i in range(7)}

    # Run again: it continues (no version 3) and finishes.
    second = rotate(factory, keys, actor=ACTOR, batch_size=3)
    assert (second.version, second.started, second.retired) == (2, False, [1])
    assert pending_rows(db, 2) == 0
    db.expire_all()
    after = counts_by_version(db)
    assert after["person.id_number"] == {2: 7}
    assert after["case_contact.phone"] == {2: 1} and after["case_contact.name"] == {2: 1}
    assert keys.material.readable_versions == [2]
    # Values still open, and the index (not rotated) still finds them.
    person = queries.find_by_id_number(db, people[0].id_number or "")
    assert person is not None and person.name == "测试0"
    assert person.id_number_index == old_index
    # A value sealed under the retired version (a stale backup) is refused.
    with pytest.raises(CryptoError, match="retired"):
        Person.id_number.open(old_id_sealed, row_key=person.row_key, provider=keys)
    # The finished rotation is in the audit log.
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "crypto.data_key.rotate")
    ).one()
    assert event.new == {"version": 2, "rows": event.new["rows"], "retired": [1]}

    # A rotation after a finished one starts the next version.
    third = rotate(factory, keys, actor=ACTOR, batch_size=100)
    assert (third.version, third.started, third.retired) == (3, True, [2])
