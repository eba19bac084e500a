"""The software provider against the standards' known answers and an independent
implementation (GmSSL), and the ways a sealed value must refuse to open."""

from __future__ import annotations

import json
from pathlib import Path

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import ValidationError

from gongzhi.config import Settings
from gongzhi.crypto import get_provider, keyfile
from gongzhi.crypto.provider import CryptoError, CryptoProvider
from gongzhi.crypto.software import HEADER, NONCE_BYTES, SoftwareCryptoProvider, hmac_sm3


def test_the_software_provider_is_a_crypto_provider(provider: SoftwareCryptoProvider) -> None:
    typed: CryptoProvider = provider  # mypy checks the structure; this checks it at run time
    assert typed.current_key_version == 1


# --- SM3 (GB/T 32905-2016, appendix A) -------------------------------------------------------
def test_sm3_known_answers(provider: SoftwareCryptoProvider) -> None:
    assert provider.digest(b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert provider.digest(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )
    assert provider.digest(b"abc", algorithm="sha256").hex().startswith("ba7816bf")
    with pytest.raises(CryptoError):
        provider.digest(b"abc", algorithm="md5")


def test_hmac_sm3_agrees_with_gmssl() -> None:
    for key, message in [(b"k" * 16, b"abc"), (b"\x00" * 70, b"x" * 1000), (b"key", b"")]:
        assert hmac_sm3(key, message) == gmssl_pyx.sm3_hmac(key, message)


def test_blind_index_is_keyed_deterministic_and_per_purpose(
    provider: SoftwareCryptoProvider, tmp_path: Path
) -> None:
    a = provider.blind_index("phone", b"13812341999")
    assert a == provider.blind_index("phone", b"13812341999")
    assert len(a) == 32
    assert a != provider.blind_index("phone", b"13812341998")
    assert a != provider.blind_index("id_number", b"13812341999")
    assert a != provider.digest(b"13812341999")  # keyed: not the plain SM3
    other = tmp_path / "other.json"
    keyfile.write(other, keyfile.KeyMaterial.generate())
    assert SoftwareCryptoProvider.from_file(other).blind_index("phone", b"13812341999") != a


# --- SM4 (GB/T 32907-2016, appendix A example 1) ---------------------------------------------
def test_sm4_block_known_answer() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


def test_sm4_gcm_round_trip_and_gmssl_interoperates(provider: SoftwareCryptoProvider) -> None:
    sealed = provider.seal(b"13812341999", associated_data=b"case_contact|phone|row-1")
    assert provider.open(sealed, associated_data=b"case_contact|phone|row-1") == b"13812341999"
    assert b"13812341999" not in sealed
    assert provider.key_version_of(sealed) == 1
    # Two seals of one value differ (random nonce): equal ciphertexts reveal nothing.
    assert sealed != provider.seal(b"13812341999", associated_data=b"case_contact|phone|row-1")
    # GmSSL opens it too, given the same key, nonce, associated data (header first) and tag.
    header = sealed[: HEADER.size]
    nonce = sealed[HEADER.size : HEADER.size + NONCE_BYTES]
    body, tag = sealed[HEADER.size + NONCE_BYTES : -16], sealed[-16:]
    key = provider.material.data_keys[1].key
    aad = header + b"case_contact|phone|row-1"
    assert gmssl_pyx.sm4_gcm_decrypt(key, nonce, aad, body, tag) == b"13812341999"


def test_every_flipped_bit_is_refused(provider: SoftwareCryptoProvider) -> None:
    sealed = provider.seal("张三丰".encode(), associated_data=b"ad")
    for i in range(len(sealed)):
        for bit in (0x01, 0x80):
            tampered = bytearray(sealed)
            tampered[i] ^= bit
            with pytest.raises(CryptoError):
                provider.open(bytes(tampered), associated_data=b"ad")


def test_other_associated_data_truncation_and_garbage_are_refused(
    provider: SoftwareCryptoProvider,
) -> None:
    sealed = provider.seal(b"330106199001011234", associated_data=b"person|id_number|row-1")
    for ad in (b"person|id_number|row-2", b"person|name|row-1", b""):
        with pytest.raises(CryptoError, match="failed authentication"):
            provider.open(sealed, associated_data=ad)
    for broken in (sealed[:-1], sealed[:10], b"", b"\x02" + sealed[1:]):
        with pytest.raises(CryptoError):
            provider.open(broken, associated_data=b"person|id_number|row-1")


def test_a_rewritten_or_stale_key_version_is_refused(provider: SoftwareCryptoProvider) -> None:
    sealed_v1 = provider.seal(b"13812341999", associated_data=b"ad")
    material = provider.material
    material.add_data_key()
    provider.save(material)
    assert provider.current_key_version == 2
    sealed_v2 = provider.seal(b"13812341999", associated_data=b"ad")
    assert provider.key_version_of(sealed_v2) == 2
    # Claiming the other version: other key, other associated data (the header) -> refused.
    relabelled = HEADER.pack(1, 2) + sealed_v1[HEADER.size :]
    with pytest.raises(CryptoError):
        provider.open(relabelled, associated_data=b"ad")
    # Both versions open while both are active ...
    assert provider.open(sealed_v1, associated_data=b"ad") == b"13812341999"
    # ... and after version 1 is retired (a rotation finished), its values are refused.
    material = provider.material
    assert material.retire_all_but_current() == [1]
    provider.save(material)
    with pytest.raises(CryptoError, match="version 1 is retired"):
        provider.open(sealed_v1, associated_data=b"ad")
    with pytest.raises(CryptoError, match="version 7 is unknown"):
        provider.open(HEADER.pack(1, 7) + sealed_v1[HEADER.size :], associated_data=b"ad")
    assert provider.open(sealed_v2, associated_data=b"ad") == b"13812341999"


def test_a_process_picks_up_a_version_added_by_another(key_path: Path) -> None:
    server = SoftwareCryptoProvider.from_file(key_path)
    rotator = SoftwareCryptoProvider.from_file(key_path)
    material = rotator.material
    material.add_data_key()
    rotator.save(material)
    sealed = rotator.seal(b"x", associated_data=b"ad")
    # The server has not looked at the file yet; an unknown version makes it look.
    assert server.open(sealed, associated_data=b"ad") == b"x"


# --- SM2 (GB/T 32918, signer id 1234567812345678, SM3) ---------------------------------------
def test_sm2_sign_and_verify(provider: SoftwareCryptoProvider, tmp_path: Path) -> None:
    note = b"gongzhi.example/audit\n42\nq0b9...\n"
    signature = provider.sign("audit", note)
    public = provider.public_key("audit")
    assert len(public) == 65 and public[0] == 0x04
    assert signature[0] == 0x30  # DER SEQUENCE (r, s)
    assert provider.verify(public, note, signature)
    assert provider.verify(public[1:], note, signature)  # the 64-byte form too
    # GmSSL directly, with the standard default signer id.
    assert gmssl_pyx.sm2_verify(public[1:], note, signature, b"1234567812345678")
    # Another message, another key, a damaged or empty signature: refused, no exception.
    assert not provider.verify(public, note + b"x", signature)
    other = tmp_path / "other.json"
    keyfile.write(other, keyfile.KeyMaterial.generate())
    assert not provider.verify(
        SoftwareCryptoProvider.from_file(other).public_key("audit"), note, signature
    )
    damaged = bytearray(signature)
    damaged[-1] ^= 1
    assert not provider.verify(public, note, bytes(damaged))
    assert not provider.verify(public, note, b"")
    assert not provider.verify(b"\x04" + b"\x00" * 64, note, signature)
    assert not provider.verify(b"short", note, signature)


def test_sign_with_an_unknown_key_names_the_fix(provider: SoftwareCryptoProvider) -> None:
    with pytest.raises(CryptoError, match="add-signing-key"):
        provider.sign("witness", b"x")
    with pytest.raises(CryptoError):
        provider.public_key("witness")


# --- the key file ----------------------------------------------------------------------------
def test_key_file_is_written_0600_and_others_readable_is_refused(key_path: Path) -> None:
    assert key_path.stat().st_mode & 0o777 == 0o600
    key_path.chmod(0o644)
    with pytest.raises(CryptoError, match="chmod 600"):
        SoftwareCryptoProvider.from_file(key_path)


def test_malformed_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    good = keyfile.KeyMaterial.generate().to_json()
    cases = [
        "not json",
        json.dumps({**good, "format": "other/9"}),
        json.dumps({**good, "current_data_key": 5}),
        json.dumps({**good, "index_key": "AAAA"}),
        json.dumps({k: v for k, v in good.items() if k != "data_keys"}),
    ]
    for text in cases:
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(CryptoError):
            keyfile.read(path)
    with pytest.raises(CryptoError, match="does not exist"):
        keyfile.read(tmp_path / "missing.json")


def test_exclusive_write_never_overwrites(key_path: Path) -> None:
    before = key_path.read_bytes()
    assert keyfile.write(key_path, keyfile.KeyMaterial.generate(), exclusive=True) is False
    assert key_path.read_bytes() == before


def test_get_provider_generates_a_missing_file_outside_production(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys.json"
    settings = Settings(env="test", key_file=path, _env_file=None)  # type: ignore[call-arg]
    provider = get_provider(settings)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    assert get_provider(settings) is provider  # one per key file
    assert provider.verify(provider.public_key("audit"), b"m", provider.sign("audit", b"m"))


def test_production_needs_an_existing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="GONGZHI_KEY_FILE"):
        Settings(env="production", secret_key="x" * 48, _env_file=None)  # type: ignore[call-arg]
    settings = Settings(  # type: ignore[call-arg]
        env="production", secret_key="x" * 48, key_file=tmp_path / "no.json", _env_file=None
    )
    with pytest.raises(CryptoError, match="does not exist"):
        get_provider(settings)
    assert not (tmp_path / "no.json").exists()
