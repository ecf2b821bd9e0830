"""Pydantic models that cross the analytics boundary (API, CLI, other domains)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

# -- journey KPIs ------------------------------------------------------------------------------


class ExitReason(BaseModel):
    reason: str
    count: int


class JourneyKpis(BaseModel):
    """Summary of one journey (optionally one version and an entry-time range).

    Rates are fractions 0..1; durations in seconds; cost and revenue as floats (analytics
    aggregates, in the workspace currency).
    """

    journey_id: str
    version: int | None = None
    entered: int
    active: int
    completed: int
    converted: int
    exited: int
    exited_by_reason: list[ExitReason]
    conversion_rate: float | None
    median_time_to_goal_seconds: float | None
    p90_time_to_goal_seconds: float | None
    attributed_revenue: float
    profiles: int
    messages_sent: int | None = None
    total_cost: float | None = None
    cost_per_conversion: float | None = None
    contacts_per_customer: float | None = None
    inactive: int | None = None
    inactive_share: float | None = None
    #: journey success probability (needs ``now``): the mean chance that an active instance
    #: reaches the goal, learnt from this journey's instances by age in the journey
    success_probability: float | None = None
    #: conversions still expected from the active instances (sum of their chances)
    expected_conversions: float | None = None
    #: (converted + expected conversions) / entered
    forecast_conversion_rate: float | None = None


class NodeKpis(BaseModel):
    node_id: str
    reached: int
    waiting: int
    exited_here: int
    drop_off_rate: float | None
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    cost: float = 0.0


class KpiPoint(BaseModel):
    period: datetime
    entered: int
    converted: int
    conversion_rate: float | None


# -- funnels -----------------------------------------------------------------------------------

ConditionOp = Literal["eq", "neq", "gt", "gte", "lt", "lte", "in", "contains", "exists"]


class PropertyCondition(BaseModel):
    property: str = Field(min_length=1, max_length=200)
    op: ConditionOp = "eq"
    value: Any = None


class FunnelStepSpec(BaseModel):
    event: str = Field(min_length=1, max_length=255)
    where: list[PropertyCondition] = Field(default_factory=list)
    label: str | None = None


class FunnelSpec(BaseModel):
    steps: list[FunnelStepSpec] = Field(min_length=2, max_length=20)
    window_seconds: int = Field(default=7 * 86400, gt=0)
    order: Literal["relaxed", "strict"] = "relaxed"
    breakdown: str | None = Field(default=None, max_length=200)
    start: datetime | None = None
    end: datetime | None = None


class FunnelStep(BaseModel):
    label: str
    count: int
    conversion_from_start: float | None
    conversion_from_previous: float | None
    median_seconds_from_previous: float | None
    avg_seconds_from_previous: float | None


class FunnelGroup(BaseModel):
    value: str | None
    steps: list[FunnelStep]


class FunnelResult(BaseModel):
    order: str
    window_seconds: int
    steps: list[FunnelStep]
    breakdown: str | None = None
    groups: list[FunnelGroup] = Field(default_factory=list)


# -- paths -------------------------------------------------------------------------------------


class ProcessNode(BaseModel):
    activity: str
    events: int
    cases: int


class ProcessEdge(BaseModel):
    source: str
    target: str
    count: int
    mean_seconds: float | None
    median_seconds: float | None


class Variant(BaseModel):
    activities: list[str]
    cases: int
    share: float
    median_case_seconds: float | None


class ProcessMap(BaseModel):
    cases: int
    events: int
    nodes: list[ProcessNode]
    edges: list[ProcessEdge]
    variants: list[Variant]


# -- experiments -------------------------------------------------------------------------------


class VariantRate(BaseModel):
    name: str
    conversions: int
    n: int
    rate: float


class SampleRatioCheck(BaseModel):
    expected_weights: list[float]
    observed: list[int]
    chi_square: float
    p_value: float
    mismatch: bool


class ExperimentResult(BaseModel):
    control: VariantRate
    variant: VariantRate
    absolute_difference: float
    relative_lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    confidence: float
    z: float | None
    p_value: float | None
    significant: bool
    chance_to_beat_control: float
    srm: SampleRatioCheck


class SplitExperiment(BaseModel):
    """A journey split's variants, each compared with the control variant."""

    split_node: str
    results: list[ExperimentResult] = Field(default_factory=list)
    #: why nothing is compared yet: ``too_few_variants`` (fewer than two variants have
    #: instances) or ``no_control`` (the control variant has none)
    pending: Literal["too_few_variants", "no_control"] | None = None


class JourneyReport(BaseModel):
    """Everything a journey's page shows, measured over one engine: the KPI summary, the
    figures of each node, entries and conversions over time and every split's experiment."""

    summary: JourneyKpis
    nodes: list[NodeKpis]
    #: the period of ``timeseries``: days, or weeks once the entries span many months
    interval: Literal["day", "week"]
    timeseries: list[KpiPoint]
    experiments: list[SplitExperiment]


# -- attribution -------------------------------------------------------------------------------


class ChannelCredit(BaseModel):
    channel: str
    conversions: float
    revenue: float


class AttributionResult(BaseModel):
    conversions: int
    revenue: float
    models: dict[str, list[ChannelCredit]]
    removal_effects: dict[str, float]


# -- scores ------------------------------------------------------------------------------------

Scale = Literal["csat", "nps", "stars", "ces"]


class ScoreSummary(BaseModel):
    scale: Scale
    responses: int
    mean_raw: float | None
    score: float | None = Field(description="mean response normalised to 0..100")
    satisfied_share: float | None = None
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    nps: float | None = None


class JourneyScore(BaseModel):
    score: float
    components: dict[str, float]
    weights: dict[str, float]


# -- monitoring --------------------------------------------------------------------------------

AlertKind = Literal[
    "rise",
    "drop",
    "missing",
    "new_event",
    "vanished_event",
    "new_property",
    "missing_property",
    "type_change",
]


class Alert(BaseModel):
    id: int
    kind: AlertKind
    source_id: str | None
    event_name: str | None
    property: str | None = None
    hour: datetime
    observed: float | None = None
    expected: float | None = None
    score: float | None = None
    detail: dict[str, Any] | None = None
    created_at: datetime
    webhook_delivered_at: datetime | None = None
    event_emitted: bool = False


class MonitorConfig(BaseModel):
    enabled: bool = True
    webhook_url: str | None = Field(default=None, max_length=2000)
    threshold: float = Field(default=4.0, gt=0)
    min_expected: float = Field(default=5.0, ge=0)
    missing_min_expected: float = Field(default=15.0, gt=0)
    channel_costs: dict[str, float] = Field(default_factory=dict)


class MonitorRun(BaseModel):
    hours_evaluated: int
    series: int
    alerts: list[Alert]
