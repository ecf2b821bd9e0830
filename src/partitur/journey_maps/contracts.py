"""Journey maps: the CX team's model of a journey, stage by stage, linked to live data.

A map is one versioned document (JSON/YAML). Its JSON Schema is ``JourneyMap.model_json_schema()``
(``partitur maps schema``). Elements carry stable ids so comments, links and CSV round-trips
refer to them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from partitur.core.rules import PropertyFilter

_KEY = r"^[a-z0-9][a-z0-9_\-]{0,99}$"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageDefinition(_Doc):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


#: The default taxonomy: nine stages from first information to the end of the relationship.
DEFAULT_STAGES: list[StageDefinition] = [
    StageDefinition(
        key="awareness",
        name="First information",
        description="The customer first hears of us or the offer.",
    ),
    StageDefinition(
        key="first_contact",
        name="First contact",
        description="First direct interaction: visit, call, store.",
    ),
    StageDefinition(
        key="research", name="Research", description="Comparing options, reading, asking."
    ),
    StageDefinition(key="decision", name="Decision", description="Choosing us, or not."),
    StageDefinition(key="purchase", name="Purchase", description="Order, contract, payment."),
    StageDefinition(key="first_use", name="First use", description="Delivery, onboarding, setup."),
    StageDefinition(
        key="repeated_use", name="Repeated use", description="Everyday use, service, repurchase."
    ),
    StageDefinition(
        key="end_of_use", name="End of use", description="Product no longer used, contract ending."
    ),
    StageDefinition(
        key="end_of_relationship",
        name="End of relationship",
        description="Cancellation, churn, win-back.",
    ),
]


class Taxonomy(_Doc):
    stages: list[StageDefinition] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        keys = [s.key for s in self.stages]
        if len(keys) != len(set(keys)):
            raise ValueError("stage keys must be unique")
        return self


class EventMatcher(_Doc):
    """Which events count as this touchpoint: an event name and optional property filters."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)


SatisfactionScale = Literal["csat", "nps", "stars", "ces"]


class SatisfactionSource(_Doc):
    """Survey answers measured at a touchpoint, normalised to 0-100."""

    event: str = Field(min_length=1)
    property: str = Field(min_length=1)
    scale: SatisfactionScale
    where: list[PropertyFilter] = Field(default_factory=list)


class Touchpoint(_Doc):
    id: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    channel: str = ""
    owner: str = ""
    it_system: str = ""
    device: str = ""
    events: list[EventMatcher] = Field(default_factory=list)
    satisfaction: SatisfactionSource | None = None
    #: property of the matched events holding free text (tickets, reviews) for sentiment
    text_property: str | None = None


class ElementStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    solved = "solved"
    wont_fix = "wont_fix"


class Insight(_Doc):
    """A pain point or an opportunity."""

    id: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    description: str = ""
    severity: int = Field(default=3, ge=1, le=5)
    effort: int = Field(default=3, ge=1, le=5)
    status: ElementStatus = ElementStatus.open
    touchpoint: str | None = None
    #: the orchestration journey (id or key) that addresses it, and since when
    linked_journey: str | None = None
    linked_at: datetime | None = None


class Kpi(_Doc):
    name: str = Field(min_length=1)
    target: float | None = None
    unit: str = ""
    potential: str = ""


class Stage(_Doc):
    key: str = Field(pattern=_KEY)
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    needs: list[str] = Field(default_factory=list)
    jobs_to_be_done: list[str] = Field(default_factory=list)
    interactions: list[str] = Field(default_factory=list)
    #: the designed emotion, -2 (very negative) .. +2 (very positive)
    emotion: float | None = Field(default=None, ge=-2, le=2)
    fears: list[str] = Field(default_factory=list)
    abandonment_reasons: list[str] = Field(default_factory=list)
    pain_points: list[Insight] = Field(default_factory=list)
    opportunities: list[Insight] = Field(default_factory=list)
    staff_knowledge: list[str] = Field(default_factory=list)
    kpis: list[Kpi] = Field(default_factory=list)


class MapState(StrEnum):
    as_is = "as_is"
    to_be = "to_be"


class MapStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"
    archived = "archived"


class JourneyMapDocument(_Doc):
    """What a CX team edits: the map itself (import/export format)."""

    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    owner: str = ""
    status: MapStatus = MapStatus.draft
    state: MapState = MapState.as_is
    parent: str | None = Field(default=None, description="key of the parent map (sub-journey)")
    variant_of: str | None = Field(default=None, description="key of the map this varies")
    market: str | None = None
    segment: str | None = None
    persona: str | None = None
    stages: list[Stage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> JourneyMapDocument:
        seen: set[str] = set()
        stage_keys = [s.key for s in self.stages]
        if len(stage_keys) != len(set(stage_keys)):
            raise ValueError("a stage appears twice in the map")
        for stage in self.stages:
            for element_id in [t.id for t in stage.touchpoints] + [
                i.id for i in stage.pain_points + stage.opportunities
            ]:
                if element_id in seen:
                    raise ValueError(f"element id {element_id!r} is used twice")
                seen.add(element_id)
        touchpoints = {t.id for s in self.stages for t in s.touchpoints}
        for stage in self.stages:
            for insight in stage.pain_points + stage.opportunities:
                if insight.touchpoint and insight.touchpoint not in touchpoints:
                    raise ValueError(
                        f"{insight.id} refers to touchpoint {insight.touchpoint!r}, "
                        "which is not on the map"
                    )
        return self


class JourneyMap(BaseModel):
    """A stored map: the document plus repository metadata."""

    id: str
    workspace_id: str
    version: int
    document: JourneyMapDocument
    created_at: datetime
    updated_at: datetime
    updated_by: str


class MapVersion(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str
    note: str


class Comment(BaseModel):
    id: str
    map_key: str
    element_id: str | None
    author: str
    body: str
    created_at: datetime


# --- measurements ---------------------------------------------------------------------------


class TouchpointMeasure(BaseModel):
    touchpoint: str
    stage: str
    events: int
    customers: int
    satisfaction: float | None = Field(None, description="normalised 0-100")
    satisfaction_answers: int = 0
    sentiment: float | None = Field(None, description="-1..1, mean over related texts")
    texts: int = 0


class StageMeasure(BaseModel):
    stage: str
    name: str
    #: False when no event of the stage's touchpoints occurred in the period: the stage has no
    #: figures, and the stage before it no conversion (never a false 100 % drop-off)
    measured: bool = True
    customers: int
    events: int
    conversion_to_next: float | None = Field(
        description="share of the stage's customers who reach the next stage (None: the last "
        "stage, or this or the next stage is not measured)"
    )
    drop_off: float | None = Field(
        description="1 - conversion_to_next; on the last stage: the share of its customers not "
        "seen at any other stage of the map afterwards in the period"
    )
    #: why a figure is missing ("next stage not measured", ...)
    note: str | None = None
    satisfaction: float | None
    sentiment: float | None
    designed_emotion: float | None
    measured_emotion: float | None


class MapMeasurement(BaseModel):
    map_key: str
    since: datetime
    until: datetime
    stages: list[StageMeasure]
    touchpoints: list[TouchpointMeasure]


class RankedInsight(BaseModel):
    id: str
    kind: Literal["pain_point", "opportunity"]
    title: str
    stage: str
    touchpoint: str | None
    severity: int
    effort: int
    status: ElementStatus
    affected_customers: int
    drop_off: float
    value_per_customer: float
    impact: float
    priority: float
    quadrant: Literal["quick_win", "major_project", "fill_in", "thankless"]
    linked_journey: str | None = None


class MapReport(BaseModel):
    """What a map's page shows for a period of whole UTC days: the measurement of every stage
    and touchpoint and the ranked pain points and opportunities."""

    #: the measured days, inclusive (UTC)
    first_day: date
    last_day: date
    measurement: MapMeasurement
    insights: list[RankedInsight]


class BeforeAfter(BaseModel):
    insight: str
    linked_journey: str | None
    linked_at: datetime
    metric: str
    before: float | None
    after: float | None
    change: float | None
    before_customers: int
    after_customers: int


def as_payload(document: JourneyMapDocument) -> dict[str, Any]:
    return document.model_dump(mode="json", exclude_none=True)
