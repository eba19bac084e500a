"""Key material for the crypto tests: a provider over a temporary key file of its own, so
that no test changes the key file the rest of the suite seals with (a copy of the suite's
own key file: ``suite_key_copy`` in tests/security/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongzhi.crypto import keyfile
from gongzhi.crypto.software import SoftwareCryptoProvider


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    keyfile.write(path, keyfile.KeyMaterial.generate())
    return path


@pytest.fixture
def provider(key_path: Path) -> SoftwareCryptoProvider:
    return SoftwareCryptoProvider.from_file(key_path)
