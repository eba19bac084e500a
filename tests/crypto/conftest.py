"""Key material for the crypto tests: a provider over a temporary key file of its own, so
that no test changes the key file the rest of the suite seals with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gongzhi.config import Settings
from gongzhi.crypto import get_provider, keyfile
from gongzhi.crypto.software import SoftwareCryptoProvider


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    keyfile.write(path, keyfile.KeyMaterial.generate())
    return path


@pytest.fixture
def provider(key_path: Path) -> SoftwareCryptoProvider:
    return SoftwareCryptoProvider.from_file(key_path)


@pytest.fixture
def suite_key_copy(settings: Settings, tmp_path: Path) -> SoftwareCryptoProvider:
    """A provider over a copy of the suite's key file: it opens what the suite sealed, and
    whatever it adds (a rotation) stays in the copy."""
    suite = get_provider(settings)
    assert isinstance(suite, SoftwareCryptoProvider) and suite.path is not None
    copy = tmp_path / "suite-keys.json"
    shutil.copyfile(suite.path, copy)
    copy.chmod(0o600)
    return SoftwareCryptoProvider.from_file(copy)
