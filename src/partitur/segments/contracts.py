"""What crosses the segments boundary: definitions, segments, membership changes, previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from partitur.core.rules import Rule

KEY_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,99}$"


class SegmentDefinition(BaseModel):
    """A segment as its author writes it (JSON or YAML)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN, description="lower-case slug, unique per workspace")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    rule: Rule

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class SegmentUpdate(BaseModel):
    """A new version of an existing segment (the key stays)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    rule: Rule


class Segment(BaseModel):
    id: str
    key: str
    name: str
    description: str
    rule: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    built_at: datetime | None = None


class SegmentDetail(Segment):
    size: int


class MembershipChange(BaseModel):
    """One entry into or exit from a segment (the feed journeys follow by ``seq``)."""

    seq: int
    segment_key: str
    profile_id: str
    change: Literal["entered", "exited"]
    at: datetime


class Member(BaseModel):
    profile_id: str
    entered_at: datetime


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: Rule
    sample: int = Field(default=10, ge=0, le=100)


class Preview(BaseModel):
    size: int
    sample: list[str]
    #: "sql" (set-based) or "python" (the rule uses something SQL does not reproduce)
    evaluated_by: Literal["sql", "python"]


class BuildResult(BaseModel):
    key: str
    entered: int
    exited: int
    size: int
    evaluated_by: Literal["sql", "python"]
