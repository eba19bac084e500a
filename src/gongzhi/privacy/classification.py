"""The classification of every field the platform holds, and how each one is shown masked.

Levels follow DESIGN.md: inside GB/T 43697-2024 "general data" the platform grades a field
public / internal / sensitive; above general data stand important and core data, which the
data hub's datasets may reach as a whole (a county's register of persons in bulk), never a
single field of one record.

========== ============================================================================
level      what it means on this platform
========== ============================================================================
public     may be published (open data, Open311): a case's category, status, dates
internal   shown in full to staff whose role and region let them read the record
sensitive  personal information (PIPL Art. 4/28): shown **masked** by the Chinese
           conventions (``kind``) to everyone but the subject; unmasked only through
           ``privacy.services.reveal_*`` — permission, region, purpose, audit event
important  GB/T 43697 important data: leaves the platform only through approved sharing
core       GB/T 43697 core data: not held by this platform
========== ============================================================================

Fields are named ``table.column`` (the database names, so that a reviewer can check the list
against ``\\d table``). A domain that holds datasets with their own schemas (the data hub)
registers a *source* for its prefix: ``register_source("dataset", lookup)`` answers for keys
like ``dataset:household-register.phone`` from the dataset's schema, so new datasets need no
change here. A key nobody classified is treated as sensitive and hidden (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from gongzhi.crypto.masking import (
    mask_address,
    mask_bank_card,
    mask_id_number,
    mask_name,
    mask_phone,
)
from gongzhi.web.i18n import N_


class Level(IntEnum):
    PUBLIC = 1  # 公开
    INTERNAL = 2  # 内部
    SENSITIVE = 3  # 敏感（个人信息）
    IMPORTANT = 4  # 重要数据
    CORE = 5  # 核心数据


LEVEL_LABELS = {
    Level.PUBLIC: "公开",
    Level.INTERNAL: "内部",
    Level.SENSITIVE: "敏感",
    Level.IMPORTANT: "重要",
    Level.CORE: "核心",
}


class Kind(StrEnum):
    """Which masking convention applies (crypto.masking)."""

    NAME = "name"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    ADDRESS = "address"
    EMAIL = "email"
    BIRTH_DATE = "birth_date"
    BANK_CARD = "bank_card"
    TEXT = "text"  # free text: no convention keeps part of it, so masked means hidden


_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+)$")
_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}$")


def mask_email(email: str | None) -> str:
    """w***@example.com: the first character of the local part and the whole domain (a
    provider says little about the person)."""
    if not email:
        return ""
    match = _EMAIL.match(email.strip())
    if not match:
        return "***"
    return f"{match.group(1)[0]}***@{match.group(2)}"


def mask_birth_date(value: str | None) -> str:
    """1980-**-**: the year only (with the region it would otherwise single a person out)."""
    if not value:
        return ""
    match = _DATE.match(str(value).strip())
    return f"{match.group(1)}-**-**" if match else "****-**-**"


def _hidden(value: str | None) -> str:
    return "***" if value else ""


MASKERS: dict[Kind, Callable[[str | None], str]] = {
    Kind.NAME: mask_name,
    Kind.PHONE: mask_phone,
    Kind.ID_NUMBER: mask_id_number,
    Kind.ADDRESS: mask_address,
    Kind.EMAIL: mask_email,
    Kind.BIRTH_DATE: mask_birth_date,
    Kind.BANK_CARD: mask_bank_card,
    Kind.TEXT: _hidden,
}


@dataclass(frozen=True)
class FieldClass:
    key: str  # "table.column", or "<prefix>:<name>.<field>" from a registered source
    level: Level
    kind: Kind
    label: str  # what the field is, in Chinese (shown on reveal forms and in the audit log)
    personal: bool = False  # personal information of a natural person (PIPL Art. 4)
    note: str = ""
    known: bool = True  # False for the fail-closed answer about a key nobody classified

    @property
    def masked_on_display(self) -> bool:
        """Shown masked to everyone but the data subject, unless revealed with a purpose."""
        return self.level >= Level.SENSITIVE

    def mask(self, value: str | None) -> str:
        return MASKERS[self.kind](value)


def _f(
    key: str, level: Level, kind: Kind, label: str, *, personal: bool = True, note: str = ""
) -> FieldClass:
    return FieldClass(key, level, kind, label, personal, note)


SENS, INTL, PUB = Level.SENSITIVE, Level.INTERNAL, Level.PUBLIC

# Every personal or otherwise classified column. tests/privacy/test_classification.py checks
# that every sealed column (crypto.fields.REGISTRY) is listed here as personal.
FIELDS: dict[str, FieldClass] = {
    f.key: f
    for f in (
        # the reporter's contact on a case (cases.models.CaseContact)
        _f("case_contact.name", SENS, Kind.NAME, N_("反映人姓名")),
        _f("case_contact.phone", SENS, Kind.PHONE, N_("反映人电话")),
        _f("case_contact.email", SENS, Kind.EMAIL, N_("反映人邮箱")),
        # the case itself: its place is needed in full by whoever handles it
        _f(
            "service_case.address_text",
            INTL,
            Kind.ADDRESS,
            N_("问题地址"),
            note="the problem's place, often the reporter's home: cut to the township "
            "wherever it is published",
        ),
        _f("service_case.description", INTL, Kind.TEXT, N_("诉求内容"), note="free text"),
        _f("service_case.lat", INTL, Kind.TEXT, N_("纬度")),
        _f("service_case.lon", INTL, Kind.TEXT, N_("经度")),
        _f("service_case.number", PUB, Kind.TEXT, N_("案件编号"), personal=False),
        _f("service_case.status", PUB, Kind.TEXT, N_("状态"), personal=False),
        _f("service_case.matter_code", PUB, Kind.TEXT, N_("事项类别"), personal=False),
        # the people register (people.models.Person)
        _f("person.id_number", SENS, Kind.ID_NUMBER, N_("身份证号码")),
        _f("person.name", SENS, Kind.NAME, N_("姓名")),
        _f("person.phone", SENS, Kind.PHONE, N_("电话")),
        _f("person.birth_date", SENS, Kind.BIRTH_DATE, N_("出生日期")),
        _f("person.sex", INTL, Kind.TEXT, N_("性别")),
        _f("person.household_region_code", INTL, Kind.TEXT, N_("户籍地")),
        # staff (org.models.StaffProfile): a work phone colleagues call
        _f("staff_profile.phone", INTL, Kind.PHONE, N_("工作人员电话")),
        # accounts
        _f("account.username", INTL, Kind.TEXT, N_("用户名")),
        _f("account.display_name", INTL, Kind.NAME, N_("显示名")),
        _f(
            "account.totp_secret",
            SENS,
            Kind.TEXT,
            N_("动态口令密钥"),
            note="a credential (GB/T 35273 personal authentication information): whoever "
            "reads it makes the account's codes; sealed, never shown, not revealed",
        ),
        # SMS (notify.models.Notification)
        _f("notification.recipient_phone", SENS, Kind.PHONE, N_("短信接收号码")),
        # citizens' PIPL requests (privacy.models.PrivacyRequest): free text about their data
        _f("privacy_request.text", SENS, Kind.TEXT, N_("个人信息请求内容")),
        _f("privacy_request.response", SENS, Kind.TEXT, N_("个人信息请求答复")),
    )
}

# Whole tables in bulk, above the field level (GB/T 43697-2024: a large extract of personal
# information can be important data even though each record is general data).
TABLES: dict[str, Level] = {
    "person": Level.IMPORTANT,
    "case_contact": Level.SENSITIVE,
    "service_case": Level.INTERNAL,
}

FieldSource = Callable[[str], "FieldClass | None"]
_SOURCES: dict[str, FieldSource] = {}


def register_source(prefix: str, source: FieldSource) -> None:
    """Let a domain classify the keys ``<prefix>:...`` (e.g. the data hub's dataset fields,
    from each dataset's schema). The source returns None for a key it does not know."""
    if ":" in prefix or not prefix:
        raise ValueError("a source prefix is one word without ':'")
    _SOURCES[prefix] = source


def unregister_source(prefix: str) -> None:
    _SOURCES.pop(prefix, None)


def classify(key: str) -> FieldClass:
    """The classification of ``key``; an unknown key is sensitive free text (fail closed)."""
    found = FIELDS.get(key)
    if found is None and ":" in key:
        source = _SOURCES.get(key.split(":", 1)[0])
        found = source(key) if source is not None else None
    if found is None:
        return FieldClass(key, Level.SENSITIVE, Kind.TEXT, key, True, "not classified", False)
    return found


def is_classified(key: str) -> bool:
    return classify(key).known


def masked(key: str, value: str | None) -> str | None:
    """The value as shown to someone who has not revealed it: masked if the field is
    sensitive (or above), as is otherwise; None stays None."""
    if value is None:
        return None
    field = classify(key)
    return field.mask(value) if field.masked_on_display else value
