"""The key file: SM4 data-key versions, the HMAC-SM3 index key and SM2 signing key pairs.

It lives outside the database (a database dump or backup alone reveals no personal data) and
is readable by its owner only: a file that group or others may read is refused. The format::

    {
      "format": "gongzhi-keys/1",
      "current_data_key": 2,
      "data_keys": [
        {"version": 1, "key": "<base64, 16 bytes>", "state": "retired", "created_at": "..."},
        {"version": 2, "key": "<base64, 16 bytes>", "state": "active", "created_at": "..."}
      ],
      "index_key": "<base64, 32 bytes>",
      "signing_keys": {"audit": {"private": "<hex, 32 bytes>", "public": "<hex, 04||X||Y>"}}
    }

Writes go to a temporary file in the same directory that is then renamed over the old one, so
a reader never sees half a file and a crash leaves either the old or the new version.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gmssl_pyx

from gongzhi.crypto.provider import CryptoError

FORMAT = "gongzhi-keys/1"
DATA_KEY_BYTES = 16  # SM4 keys are 128 bits
INDEX_KEY_BYTES = 32
ACTIVE = "active"
RETIRED = "retired"
DEFAULT_SIGNING_KEYS = ("audit",)


@dataclass
class DataKey:
    version: int
    key: bytes
    state: str = ACTIVE
    created_at: str = ""


@dataclass
class SigningKey:
    private: bytes  # 32 bytes
    public: bytes  # 65 bytes, 0x04||X||Y


@dataclass
class KeyMaterial:
    data_keys: dict[int, DataKey]
    current_data_key: int
    index_key: bytes
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def generate(cls, signing_keys: tuple[str, ...] = DEFAULT_SIGNING_KEYS) -> KeyMaterial:
        material = cls(
            data_keys={1: DataKey(1, secrets.token_bytes(DATA_KEY_BYTES), ACTIVE, _now())},
            current_data_key=1,
            index_key=secrets.token_bytes(INDEX_KEY_BYTES),
        )
        for name in signing_keys:
            material.add_signing_key(name)
        return material

    def add_data_key(self) -> DataKey:
        """A new data-key version, made current (new ciphertexts are sealed with it)."""
        version = max(self.data_keys) + 1
        key = DataKey(version, secrets.token_bytes(DATA_KEY_BYTES), ACTIVE, _now())
        self.data_keys[version] = key
        self.current_data_key = version
        return key

    def add_signing_key(self, name: str) -> SigningKey:
        if name in self.signing_keys:
            raise CryptoError(f"signing key {name!r} exists already")
        public64, private = gmssl_pyx.sm2_key_generate()
        key = SigningKey(private=private, public=b"\x04" + public64)
        self.signing_keys[name] = key
        return key

    def retire_all_but_current(self) -> list[int]:
        retired = []
        for version, key in self.data_keys.items():
            if version != self.current_data_key and key.state != RETIRED:
                key.state = RETIRED
                retired.append(version)
        return retired

    @property
    def readable_versions(self) -> list[int]:
        return sorted(v for v, k in self.data_keys.items() if k.state == ACTIVE)

    # --- (de)serialising --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "current_data_key": self.current_data_key,
            "data_keys": [
                {
                    "version": k.version,
                    "key": base64.b64encode(k.key).decode(),
                    "state": k.state,
                    "created_at": k.created_at,
                }
                for k in sorted(self.data_keys.values(), key=lambda k: k.version)
            ],
            "index_key": base64.b64encode(self.index_key).decode(),
            "signing_keys": {
                name: {"private": k.private.hex(), "public": k.public.hex()}
                for name, k in sorted(self.signing_keys.items())
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> KeyMaterial:
        try:
            if doc.get("format") != FORMAT:
                raise CryptoError(f"key file format {doc.get('format')!r}, expected {FORMAT!r}")
            data_keys = {}
            for entry in doc["data_keys"]:
                key = DataKey(
                    version=int(entry["version"]),
                    key=base64.b64decode(entry["key"]),
                    state=entry.get("state", ACTIVE),
                    created_at=entry.get("created_at", ""),
                )
                if len(key.key) != DATA_KEY_BYTES:
                    raise CryptoError(f"data key version {key.version} is not 16 bytes")
                if key.state not in (ACTIVE, RETIRED):
                    raise CryptoError(f"data key version {key.version}: state {key.state!r}")
                data_keys[key.version] = key
            current = int(doc["current_data_key"])
            if current not in data_keys or data_keys[current].state != ACTIVE:
                raise CryptoError(f"current data key {current} is missing or retired")
            index_key = base64.b64decode(doc["index_key"])
            if len(index_key) < 16:
                raise CryptoError("index key shorter than 16 bytes")
            signing = {}
            for name, entry in doc.get("signing_keys", {}).items():
                public = bytes.fromhex(entry["public"])
                if len(public) == 64:
                    public = b"\x04" + public
                signing[name] = SigningKey(private=bytes.fromhex(entry["private"]), public=public)
        except CryptoError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CryptoError(f"key file is malformed: {exc.__class__.__name__}") from None
        return cls(data_keys, current, index_key, signing)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_mode(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CryptoError(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )


def read(path: Path) -> KeyMaterial:
    try:
        check_mode(path)
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CryptoError(f"key file {path} does not exist") from None
    except json.JSONDecodeError:
        raise CryptoError(f"key file {path} is not JSON") from None
    return KeyMaterial.from_json(doc)


def write(path: Path, material: KeyMaterial, *, exclusive: bool = False) -> bool:
    """Write the key file atomically with mode 0600.

    ``exclusive``: only create it if no file exists (several processes generating the demo's
    keys at the same moment end up with one file, the first); returns False if one existed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".keys-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(material.to_json(), out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the file exists: never overwrite someone's keys
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)
