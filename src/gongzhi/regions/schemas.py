"""API shapes of the regions domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str
    aliases: list[str]
    level: int
    parent_code: str | None
    urban_rural_code: str | None
    is_urban: bool | None
    urban_rural_derived: bool


class GridIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ResolutionOut(BaseModel):
    code: str | None
    level: int | None
    names: list[str]
    confidence: float
    remainder: str
