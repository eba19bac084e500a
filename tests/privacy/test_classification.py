"""The classification registry: every sealed column is classified as personal and masked on
display, masks follow the Chinese conventions, an unknown field fails closed, and a domain
(the data hub) can classify its dataset fields through a source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import gongzhi.models  # noqa: F401  (every model, so every sealed column is registered)
from gongzhi.crypto.fields import REGISTRY
from gongzhi.privacy import classification
from gongzhi.privacy.classification import FieldClass, Kind, Level, classify, masked


def test_every_sealed_column_is_classified_as_personal() -> None:
    sealed = {f"{info.table}.{info.column}" for info in REGISTRY}
    assert {"person.id_number", "case_contact.phone", "privacy_request.text"} <= sealed
    for key in sealed:
        field = classify(key)
        assert field.known, f"{key} is sealed but not classified"
        assert field.personal, key
        assert field.level >= Level.INTERNAL, key


def test_the_fields_the_platform_must_mask() -> None:
    for key in (
        "case_contact.name",
        "case_contact.phone",
        "person.id_number",
        "person.name",
        "person.phone",
        "person.birth_date",
        "notification.recipient_phone",
    ):
        assert classify(key).masked_on_display, key
    assert classify("staff_profile.phone").level == Level.INTERNAL
    assert classify("service_case.status").level == Level.PUBLIC
    assert classification.TABLES["person"] == Level.IMPORTANT


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("case_contact.phone", "13812341999", "138****1999"),
        ("case_contact.name", "王秀英", "王**"),
        ("person.id_number", "33010619800101123X", "330106********123X"),
        ("person.birth_date", "1980-01-01", "1980-**-**"),
        ("case_contact.email", "wang@example.com", "w***@example.com"),
        (
            "service_case.address_text",
            "浙江省湖州市安吉县递铺街道胜利西路18号",
            "浙江省湖州市安吉县递铺街道胜利西路18号",
        ),
        ("no_such.field", "secret", "***"),
    ],
)
def test_masked_values(key: str, value: str, shown: str) -> None:
    assert masked(key, value) == shown


def test_unknown_fields_fail_closed() -> None:
    field = classify("somewhere.secret")
    assert not field.known and field.level == Level.SENSITIVE and field.masked_on_display
    assert masked("somewhere.secret", None) is None


@pytest.fixture
def dataset_source() -> Iterator[None]:
    def lookup(key: str) -> FieldClass | None:
        name = key.split(":", 1)[1]
        if name == "household-register.phone":
            return FieldClass(key, Level.SENSITIVE, Kind.PHONE, "电话", personal=True)
        if name == "household-register.village":
            return FieldClass(key, Level.INTERNAL, Kind.TEXT, "村", personal=False)
        return None

    classification.register_source("dataset", lookup)
    yield
    classification.unregister_source("dataset")


def test_a_domain_classifies_its_dataset_fields_through_a_source(dataset_source: None) -> None:
    assert masked("dataset:household-register.phone", "13812341999") == "138****1999"
    assert masked("dataset:household-register.village", "玉华村") == "玉华村"
    assert not classify("dataset:household-register.unlisted").known
    with pytest.raises(ValueError):
        classification.register_source("bad:prefix", lambda key: None)
