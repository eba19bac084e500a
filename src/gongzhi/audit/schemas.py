"""API shapes of the audit log. Hashes and signatures are base64 (as in RFC 6962/9162 JSON
and in the checkpoint note); public keys are also given in hex."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CheckpointOut(BaseModel):
    origin: str = Field(description="The log's origin line (also the signing key's name).")
    hash_algorithm: str = Field(description="sm3 or sha256: the Merkle tree's hash.")
    tree_size: int
    root_hash: str = Field(description="Base64 root hash of the first tree_size entries.")
    signed_at: datetime
    note: str = Field(description="The signed C2SP checkpoint note, verbatim.")
    public_key: str = Field(description="Hex SM2 public key (04‖X‖Y) that signed the note.")


class InclusionProofOut(BaseModel):
    hash_algorithm: str
    leaf_index: int
    event_id: int
    tree_size: int
    leaf_hash: str = Field(description="Base64 H(0x00 ‖ canonical event text).")
    root_hash: str
    inclusion_path: list[str] = Field(description="RFC 9162 §2.1.3 path, base64, leaf first.")
    checkpoint: CheckpointOut | None = Field(
        description="The signed checkpoint of this tree size, if one was signed."
    )


class ConsistencyProofOut(BaseModel):
    hash_algorithm: str
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str] = Field(description="RFC 9162 §2.1.4 path, base64.")


class PublicKeyOut(BaseModel):
    key_name: str = Field(description="The name on the checkpoints' signature lines.")
    algorithm: str = "SM2"
    public_key: str = Field(description="Hex uncompressed point 04‖X‖Y.")
    key_id: str = Field(description="Hex C2SP signed-note key ID (4 bytes).")
