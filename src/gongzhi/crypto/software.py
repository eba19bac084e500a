"""The software crypto provider: 国密 algorithms with keys held in process memory.

- SM3 and HMAC-SM3 and SM4-GCM come from ``cryptography`` (OpenSSL);
- SM2 signatures come from ``gmssl-pyx`` (the GmSSL C library), with the standard default
  signer id ``1234567812345678`` and SM3 as the digest (GB/T 32918 / GM/T 0009).

A sealed value is ``0x01 ‖ key version (2 bytes, big-endian) ‖ nonce (12) ‖ ciphertext ‖ tag
(16)``. The 3-byte header is part of the GCM associated data, so a ciphertext whose version was
rewritten fails; the caller's associated data (table, column, row) follows it.

The key file may change under a running process (``gongzhi keys rotate`` in another process
adds a version): the provider looks at the file's modification time at most every few seconds
and whenever it meets a key version it does not know, and reloads it.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import time
from pathlib import Path

import gmssl_pyx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gongzhi.crypto import keyfile
from gongzhi.crypto.keyfile import KeyMaterial
from gongzhi.crypto.provider import CryptoError

SEALED_FORMAT = 0x01
HEADER = struct.Struct(">BH")  # format byte, key version
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = HEADER.size + NONCE_BYTES + TAG_BYTES
SM2_SIGNER_ID = gmssl_pyx.SM2_DEFAULT_SIGNER_ID  # b"1234567812345678"
RELOAD_CHECK_SECONDS = 2.0


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def sealed_header(key_version: int) -> bytes:
    """The first bytes of every value sealed under ``key_version`` (rotation filters on it)."""
    return HEADER.pack(SEALED_FORMAT, key_version)


class SoftwareCryptoProvider:
    """:class:`~gongzhi.crypto.provider.CryptoProvider` over a key file (or given material)."""

    def __init__(self, material: KeyMaterial, *, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._install(material)
        self._mtime = self._file_mtime()
        self._checked_at = time.monotonic()

    @classmethod
    def from_file(cls, path: Path) -> SoftwareCryptoProvider:
        return cls(keyfile.read(path), path=path)

    # --- key material ------------------------------------------------------------------------
    def _install(self, material: KeyMaterial) -> None:
        # Per-purpose index keys are derived from the one index key, so that the phone index
        # and the ID-number index of the same digits differ and cannot be joined by accident.
        self._material = material
        self._index_keys: dict[str, bytes] = {}
        self._ciphers = {
            v: algorithms.SM4(k.key) for v, k in material.data_keys.items() if k.state == "active"
        }

    def _file_mtime(self) -> float | None:
        if self._path is None:
            return None
        try:
            return self._path.stat().st_mtime
        except FileNotFoundError:
            return None

    def reload_if_changed(self, *, force: bool = False) -> bool:
        """Reload the key file if it changed on disk; True if it did."""
        if self._path is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked_at < RELOAD_CHECK_SECONDS:
            return False
        with self._lock:
            self._checked_at = now
            mtime = self._file_mtime()
            if mtime is None or mtime == self._mtime:
                return False
            self._install(keyfile.read(self._path))
            self._mtime = mtime
            return True

    @property
    def material(self) -> KeyMaterial:
        """A copy of the key material (change it, then :meth:`save` it)."""
        return KeyMaterial.from_json(self._material.to_json())

    def save(self, material: KeyMaterial) -> None:
        """Write ``material`` to the key file and use it from now on."""
        if self._path is None:
            raise CryptoError("this provider has no key file")
        with self._lock:
            keyfile.write(self._path, material)
            self._install(KeyMaterial.from_json(material.to_json()))
            self._mtime = self._file_mtime()

    @property
    def path(self) -> Path | None:
        return self._path

    # --- digests -----------------------------------------------------------------------------
    def digest(self, data: bytes, *, algorithm: str = "sm3") -> bytes:
        if algorithm == "sm3":
            return sm3(data)
        if algorithm == "sha256":
            return hashlib.sha256(data).digest()
        raise CryptoError(f"unknown digest algorithm {algorithm!r}")

    # --- keyed lookup index ------------------------------------------------------------------
    def blind_index(self, purpose: str, value: bytes) -> bytes:
        key = self._index_keys.get(purpose)
        if key is None:
            key = hmac_sm3(self._material.index_key, b"gongzhi-index/" + purpose.encode())
            self._index_keys[purpose] = key
        return hmac_sm3(key, value)

    # --- confidentiality ---------------------------------------------------------------------
    @property
    def current_key_version(self) -> int:
        self.reload_if_changed()
        return self._material.current_data_key

    @property
    def readable_key_versions(self) -> list[int]:
        return self._material.readable_versions

    def seal(
        self, plaintext: bytes, *, associated_data: bytes, key_version: int | None = None
    ) -> bytes:
        version = self.current_key_version if key_version is None else key_version
        algorithm = self._cipher(version)
        header = HEADER.pack(SEALED_FORMAT, version)
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(header + associated_data)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return header + nonce + body + encryptor.tag

    def open(self, sealed: bytes, *, associated_data: bytes) -> bytes:
        version = self.key_version_of(sealed)
        algorithm = self._cipher(version)
        header = sealed[: HEADER.size]
        nonce = sealed[HEADER.size : HEADER.size + NONCE_BYTES]
        body, tag = sealed[HEADER.size + NONCE_BYTES : -TAG_BYTES], sealed[-TAG_BYTES:]
        try:
            decryptor = Cipher(algorithm, modes.GCM(nonce, tag)).decryptor()
            decryptor.authenticate_additional_data(header + associated_data)
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag:
            # Never say more: the value was changed, moved, or belongs elsewhere.
            raise CryptoError("sealed value failed authentication") from None

    @staticmethod
    def key_version_of(sealed: bytes) -> int:
        if len(sealed) < OVERHEAD:
            raise CryptoError("sealed value is too short")
        fmt, version = HEADER.unpack_from(sealed)
        if fmt != SEALED_FORMAT:
            raise CryptoError(f"unknown sealed format {fmt}")
        return int(version)

    def _cipher(self, version: int) -> algorithms.SM4:
        algorithm = self._ciphers.get(version)
        if algorithm is None and self.reload_if_changed(force=True):
            algorithm = self._ciphers.get(version)
        if algorithm is None:
            known = self._material.data_keys.get(version)
            if known is not None:
                raise CryptoError(f"data key version {version} is retired")
            raise CryptoError(f"data key version {version} is unknown")
        return algorithm

    # --- signatures --------------------------------------------------------------------------
    def sign(self, key_name: str, message: bytes) -> bytes:
        key = self._material.signing_keys.get(key_name)
        if key is None:
            self.reload_if_changed(force=True)
            key = self._material.signing_keys.get(key_name)
        if key is None:
            raise CryptoError(
                f"no signing key {key_name!r}; add one with `gongzhi keys add-signing-key`"
            )
        return bytes(gmssl_pyx.sm2_sign(key.private, key.public[1:], message, SM2_SIGNER_ID))

    def public_key(self, key_name: str) -> bytes:
        key = self._material.signing_keys.get(key_name)
        if key is None:
            raise CryptoError(f"no signing key {key_name!r}")
        return key.public

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        if len(public_key) == 65 and public_key[0] == 0x04:
            public_key = public_key[1:]
        if len(public_key) != 64 or not signature:
            return False
        try:
            return bool(gmssl_pyx.sm2_verify(public_key, message, signature, SM2_SIGNER_ID))
        except gmssl_pyx.GmsslInnerError:
            return False
