"""Cryptography behind one interface: SM3, HMAC-SM3, SM4-GCM and SM2 (国密), replaceable by an HSM.

Callers ask :func:`get_provider` for the deployment's provider and use only the methods of
:class:`CryptoProvider`::

    provider = get_provider(settings)
    signature = provider.sign("audit", note)
    provider.verify(provider.public_key("audit"), note, signature)
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gongzhi.crypto.provider import CryptoError, CryptoProvider

if TYPE_CHECKING:
    from gongzhi.config import Settings
    from gongzhi.crypto.software import SoftwareCryptoProvider

__all__ = ["CryptoError", "CryptoProvider", "get_provider", "reset_providers"]

_providers: dict[Path, SoftwareCryptoProvider] = {}
_lock = threading.Lock()


def get_provider(settings: Settings) -> CryptoProvider:
    """The provider for the settings' key source, one per key file per process.

    Outside production, a missing default key file (var/keys.json) is generated on first use;
    a configured ``GONGZHI_KEY_FILE`` that does not exist is an error everywhere.
    """
    from gongzhi.crypto import keyfile
    from gongzhi.crypto.software import SoftwareCryptoProvider

    path = settings.key_path.resolve()
    provider = _providers.get(path)
    if provider is not None:
        return provider
    with _lock:
        provider = _providers.get(path)
        if provider is None:
            if not path.exists() and settings.generates_missing_keys:
                keyfile.write(path, keyfile.KeyMaterial.generate(), exclusive=True)
            provider = SoftwareCryptoProvider.from_file(path)
            _providers[path] = provider
        return provider


def reset_providers() -> None:
    """Forget the cached providers (after the key file was replaced, not merely changed)."""
    with _lock:
        _providers.clear()
