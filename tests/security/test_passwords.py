"""Password hashing (argon2id, rehash on parameter change) and the password policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Invalid
from gongzhi.security import passwords
from gongzhi.security.models import Account
from gongzhi.security.services import check_credentials
from tests.security.fixtures import FAST_HASHER, PERSONA_PASSWORD

SETTINGS = Settings(env="test", _env_file=None)  # type: ignore[call-arg]


def test_hash_is_argon2id_salted_and_verifies() -> None:
    a = passwords.hash_password("Bamboo-Sea-77")
    b = passwords.hash_password("Bamboo-Sea-77")
    assert a.startswith("$argon2id$") and a != b  # a fresh salt each time
    assert passwords.verify_password(a, "Bamboo-Sea-77")
    assert not passwords.verify_password(a, "Bamboo-Sea-78")
    assert not passwords.verify_password("not a hash", "Bamboo-Sea-77")


def test_production_hasher_uses_argon2_defaults() -> None:
    # The suite runs with a cheap hasher; the module default must stay the strong one.
    default = PasswordHasher()
    assert default.memory_cost >= 65536 and default.time_cost >= 2
    assert FAST_HASHER.memory_cost < default.memory_cost


def test_sign_in_rehashes_when_parameters_change(db: Session) -> None:
    account = db.scalar(select(Account).where(Account.username == "leader"))
    assert account is not None
    old_hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    account.password_hash = old_hasher.hash(PERSONA_PASSWORD)
    assert passwords.needs_rehash(account.password_hash)
    result = check_credentials(db, username="leader", password=PERSONA_PASSWORD, channel="web")
    assert result.ok
    assert not passwords.needs_rehash(account.password_hash)
    assert passwords.verify_password(account.password_hash, PERSONA_PASSWORD)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Ab1!short", "至少"),  # too short
        ("abcdefghijkl", "三类"),  # one class
        ("abcdefgh1234", "三类"),  # two classes
        ("Xwangwei-2026", "用户名"),  # contains the username (any case)
        ("P@ssw0rd123", "常见"),  # common
        ("woaini5201314A", None),  # fine: three classes, not in the list as typed
        ("山高水长-Anji-7", None),  # non-Latin letters count as the fourth class
    ],
)
def test_policy(password: str, rule: str | None) -> None:
    problems = passwords.policy_problems(password, username="WangWei", settings=SETTINGS)
    if rule is None:
        assert problems == []
    else:
        assert any(rule in p for p in problems), problems


def test_policy_error_lists_every_problem() -> None:
    with pytest.raises(Invalid) as err:
        passwords.check_policy("wangwei", username="wangwei", settings=SETTINGS)
    assert err.value.code == "weak_password"
    assert len(err.value.details) == 3


def test_min_length_follows_settings() -> None:
    strict = Settings(env="test", password_min_length=16, _env_file=None)  # type: ignore[call-arg]
    assert passwords.policy_problems("Bamboo-Sea-77", username="x", settings=SETTINGS) == []
    assert passwords.policy_problems("Bamboo-Sea-77", username="x", settings=strict)


def test_password_age() -> None:
    now = utcnow()
    assert not passwords.is_expired(now - timedelta(days=89), now=now, settings=SETTINGS)
    assert passwords.is_expired(now - timedelta(days=91), now=now, settings=SETTINGS)
