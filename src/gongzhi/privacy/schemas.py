"""API shapes of the privacy domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from gongzhi.audit.schemas import CheckpointOut


class RevealIn(BaseModel):
    fields: list[str] = Field(
        min_length=1, max_length=4, description='Which values, e.g. ["phone"].'
    )
    purpose: str = Field(
        max_length=20,
        description="handle_case, call_back, verify_identity, other (with text), "
        "legal_order (anonymous reporters only, with the order's name and number).",
    )
    purpose_text: str | None = Field(default=None, max_length=300)


class PersonRevealIn(RevealIn):
    case_number: str | None = Field(default=None, max_length=40)


class RevealedOut(BaseModel):
    values: dict[str, str | None]
    recorded: bool = Field(default=True, description="The view is an audit event.")


class LookupIn(BaseModel):
    id_number: str = Field(max_length=40)


class PersonOut(BaseModel):
    id: int
    id_number: str | None
    name: str | None
    phone: str | None
    birth_date: str | None
    sex: str
    household_region_code: str | None
    masked: bool = True
    revealable: bool


class ProofSummary(BaseModel):
    status: str = Field(description="verified, recording (not yet in a checkpoint), failed.")
    leaf_index: int | None
    tree_size: int | None
    proof_url: str | None


class DataUseOut(BaseModel):
    id: int
    at: datetime
    who: str
    role: str
    department: str | None
    fields: list[str]
    purpose: str
    purpose_text: str | None
    case_number: str | None
    audit_event_id: int
    proof: ProofSummary


class DataUseProofOut(BaseModel):
    """Everything needed to check one access against the published log key: the event's
    canonical text (its leaf is H(0x00 ‖ text)), the RFC 9162 inclusion path and the signed
    checkpoint whose root it reaches."""

    status: str
    hash_algorithm: str
    event_id: int
    canonical: str | None
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    inclusion_path: list[str]
    checkpoint: CheckpointOut


class LinkIn(BaseModel):
    id_number: str = Field(max_length=40)
    name: str = Field(max_length=100)


class RequestIn(BaseModel):
    kind: str = Field(max_length=10, description="access, copy, correct or delete.")
    text: str = Field(max_length=2000)


class RequestStepIn(BaseModel):
    text: str = Field(default="", max_length=2000)


class RequestOut(BaseModel):
    id: int
    kind: str
    status: str
    text: str | None
    response: str | None
    submitted_at: datetime
    due_at: datetime
    overdue: bool
    closed_at: datetime | None
    export_url: str | None


class FieldClassOut(BaseModel):
    key: str
    level: str
    kind: str
    label: str
    personal: bool
    masked_on_display: bool
