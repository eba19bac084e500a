"""Password hashing (argon2id) and the password policy (MLPS 2.0 level 3: complexity,
periodic change)."""

from __future__ import annotations

import string
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gongzhi.config import Settings
from gongzhi.errors import Invalid

# argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, t=3, p=4).
_hasher = PasswordHasher()


def set_hasher(hasher: PasswordHasher) -> None:
    """Replace the hasher (the test suite uses a cheap one; production keeps the default)."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current hasher's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A hash of nothing in particular, verified when the username is unknown so that a wrong
# username costs as much time as a wrong password (no user enumeration by timing).
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("gongzhi-dummy-password")
    verify_password(_DUMMY_HASH, password)


# The most common passwords in Chinese and international leaks that would otherwise pass the
# length and character-class rules. Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    p.lower()
    for p in (
        "P@ssw0rd123",
        "P@ssw0rd1234",
        "Passw0rd!23",
        "Password123!",
        "Password@123",
        "Password1234",
        "Admin@123456",
        "Admin@12345",
        "Admin123456",
        "Admin12345!",
        "Abc@1234567",
        "Abc@123456",
        "Abcd@123456",
        "Abc123456789",
        "Aa123456789",
        "Aa1234567890",
        "Aa@123456789",
        "Qwer1234!@#$",
        "Qwerty123456",
        "Qwe123456789",
        "1qaz@WSX3edc",
        "1qaz!QAZ2wsx",
        "1Qaz2wsx3edc",
        "Zxcvbnm12345",
        "Woaini@1314",
        "Woaini1314!",
        "Woaini5201314",
        "Iloveyou1314",
        "Welcome@123",
        "Welcome123!",
        "Changeme123!",
        "Root@123456",
        "Test@123456",
        "Huawei@123",
        "Huawei@12345",
        "Gongzhi@123",
        "Gongzhi@2026",
        "Gongzhi123!",
        "Zhangsan123!",
        "Asdf1234!@#$",
        "Asdfghjkl123",
        "Qazwsx123456",
        "Letmein12345",
        "Sunshine123!",
        "Football123!",
        "Baseball123!",
        "Monkey123456",
        "Dragon123456",
        "Master123456",
    )
)

_CLASSES = (
    set(string.ascii_lowercase),
    set(string.ascii_uppercase),
    set(string.digits),
)


def character_classes(password: str) -> int:
    """How many of lower / upper / digit / other (symbols, non-Latin) the password uses."""
    found = sum(1 for cls in _CLASSES if any(c in cls for c in password))
    if any(not (c.isascii() and c.isalnum()) for c in password):
        found += 1
    return found


def policy_problems(password: str, *, username: str, settings: Settings) -> list[str]:
    """Every rule the password breaks, as messages for the person choosing it."""
    problems = []
    if len(password) < settings.password_min_length:
        problems.append(
            f"密码至少 {settings.password_min_length} 位 / at least "
            f"{settings.password_min_length} characters"
        )
    if character_classes(password) < 3:
        problems.append(
            "需包含大写字母、小写字母、数字、符号中的至少三类 / "
            "use at least three of: upper case, lower case, digits, symbols"
        )
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名 / must not contain the username")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("密码过于常见 / too common")
    return problems


def check_policy(password: str, *, username: str, settings: Settings) -> None:
    problems = policy_problems(password, username=username, settings=settings)
    if problems:
        raise Invalid("；".join(problems), code="weak_password", details=problems)


def is_expired(changed_at: datetime, *, now: datetime, settings: Settings) -> bool:
    return now - changed_at > timedelta(days=settings.password_max_age_days)
