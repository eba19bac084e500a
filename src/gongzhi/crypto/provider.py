"""The crypto provider interface every caller uses.

Callers never touch a cipher or a key directly: they ask the provider to hash, to compute a
keyed index, to seal or open a value, or to sign. The software implementation keeps its keys
in memory (from configuration or a key file outside the database); an HSM-backed
implementation can replace it without any caller changing.
"""

from __future__ import annotations

from typing import Protocol


class CryptoProvider(Protocol):
    # --- digests (no key) ----------------------------------------------------------------
    def digest(self, data: bytes, *, algorithm: str = "sm3") -> bytes:
        """Hash ``data`` with ``sm3`` (default) or ``sha256``."""
        ...

    # --- keyed lookup index ----------------------------------------------------------------
    def blind_index(self, purpose: str, value: bytes) -> bytes:
        """HMAC-SM3 of ``value`` under the index key of ``purpose`` (e.g. "person.id_number").

        Equal inputs give equal outputs, so it serves exact-match lookup; without the key the
        output reveals nothing (an unkeyed hash of an ID number is reversible in a millisecond).
        """
        ...

    # --- confidentiality (SM4-GCM) -----------------------------------------------------------
    @property
    def current_key_version(self) -> int:
        """The data-key version new ciphertexts are sealed with."""
        ...

    def seal(
        self, plaintext: bytes, *, associated_data: bytes, key_version: int | None = None
    ) -> bytes:
        """Encrypt with SM4-GCM; the result carries its key version and nonce."""
        ...

    def open(self, sealed: bytes, *, associated_data: bytes) -> bytes:
        """Decrypt; raises :class:`CryptoError` on any tampering or wrong associated data."""
        ...

    @staticmethod
    def key_version_of(sealed: bytes) -> int:
        """The key version a ciphertext was sealed with (for rotation)."""
        ...

    # --- signatures (SM2) --------------------------------------------------------------------
    def sign(self, key_name: str, message: bytes) -> bytes:
        """SM2 signature (DER) of ``message`` with the named signing key (e.g. "audit")."""
        ...

    def public_key(self, key_name: str) -> bytes:
        """The named signing key's public key (uncompressed point, 65 bytes, 0x04‖X‖Y)."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Check an SM2 signature against a public key; False on any mismatch."""
        ...


class CryptoError(Exception):
    """A ciphertext failed to open, a key is missing, or a signature is malformed."""
