"""Pydantic models that cross the analytics boundary (API, CLI, other domains)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from partitur.core.rules import PropertyFilter

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
    #: journey success forecast (needs ``now``; ``ml.journey_success`` describes the model):
    #: the mean chance that an active instance reaches the goal, the conversions still expected
    #: from the active instances (sum of their chances), and (converted + expected) / entered
    #: with its interval (95 %)
    success_probability: float | None = None
    expected_conversions: float | None = None
    forecast_conversion_rate: float | None = None
    forecast_conversion_rate_low: float | None = None
    forecast_conversion_rate_high: float | None = None
    #: conversions later than this after entry are not forecast (hours)
    forecast_horizon_hours: int | None = None
    #: conversions among the older cohorts (entered more than the horizon ago) it learns from
    forecast_history_conversions: int | None = None
    #: why there is no forecast
    forecast_note: str | None = None


class EventName(BaseModel):
    """An event name the workspace received (``track`` calls), how often, from how many
    profiles, and when last (pickers offer these instead of a typed name)."""

    name: str
    events: int
    profiles: int
    last_seen: datetime


class NodeKpis(BaseModel):
    """One node's figures. Its messages by outcome: ``sent`` (accepted by the provider; for
    e-mail, by the mail server), ``delivered`` (confirmed: in-app, agent tasks, delivery
    receipts), ``failed`` (failed or bounced, with the most common reason), ``not_sent``
    (suppressed, capped or withdrawn, with the most common reason), ``pending`` (queued,
    deferred or being sent)."""

    node_id: str
    reached: int
    waiting: int
    exited_here: int
    drop_off_rate: float | None
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    failed: int = 0
    failure_reason: str | None = None
    not_sent: int = 0
    not_sent_reason: str | None = None
    pending: int = 0
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
    """Two groups compared on conversion (``experiments.compare``)."""

    control: VariantRate
    variant: VariantRate
    absolute_difference: float
    #: the always-valid confidence interval of ``absolute_difference`` at ``confidence``
    difference_ci_low: float
    difference_ci_high: float
    relative_lift: float | None
    confidence: float
    #: always-valid p-value of the same test (p < 1 - confidence iff the interval excludes 0)
    p_value: float
    significant: bool
    chance_to_beat_control: float
    srm: SampleRatioCheck
    method: str


class ArmResult(BaseModel):
    """One arm of a journey split: configured share, profiles exposed, profiles whose window
    has closed, and of those the ones that reached the goal within it."""

    arm: str
    weight: float = Field(description="configured share of the profiles, 0..1")
    control: bool
    exposed: int
    closed: int
    conversions: int
    rate: float | None
    guardrail_rates: list[float | None] = Field(default_factory=list)


class GuardrailCheck(BaseModel):
    event: str
    max_increase: float
    control_rate: float | None
    arm_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    breached: bool


class ArmComparison(BaseModel):
    """A variant against the control: difference of conversion rates with its always-valid
    confidence interval and p-value (both corrected for the number of variants)."""

    arm: str
    control: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    relative_lift: float | None
    p_value: float | None
    significant: bool
    chance_to_beat_control: float | None
    guardrails: list[GuardrailCheck] = Field(default_factory=list)


ExperimentStatus = Literal[
    "no_goal",
    "collecting",
    "sample_ratio_mismatch",
    "running",
    "winner",
    "control_better",
    "guardrail",
    "decided",
]


class ExperimentDecision(BaseModel):
    """Where an experiment stands: ``collecting`` (minimum runtime or sample not reached),
    ``running`` (no significant difference yet), ``winner`` / ``control_better`` /
    ``guardrail`` (the arm everyone should take, and why), ``sample_ratio_mismatch`` (decisions
    held), ``decided`` (a winner is routed to), ``no_goal``."""

    status: ExperimentStatus
    arm: str | None = None
    reason: str
    decided_at: datetime | None = None


class ExperimentReport(BaseModel):
    """A journey split as an experiment (``analytics.experiments`` describes the model)."""

    journey_id: str
    journey_key: str
    version: int
    split_node: str
    method: str
    goal: str | None
    window: str
    significance: float
    confidence: float
    min_sample: int
    min_runtime: str
    auto_winner: bool
    started_at: datetime | None
    runtime_seconds: float
    control: str
    arms: list[ArmResult]
    comparisons: list[ArmComparison]
    srm: SampleRatioCheck
    decision: ExperimentDecision


class JourneyReport(BaseModel):
    """Everything a journey's page shows, measured over one engine: the KPI summary, the
    figures of each node, entries and conversions over time, every split's experiment and the
    journey score."""

    summary: JourneyKpis
    nodes: list[NodeKpis]
    #: the period of ``timeseries``: days, or weeks once the entries span many months
    interval: Literal["day", "week"]
    timeseries: list[KpiPoint]
    experiments: list[ExperimentReport]
    score: JourneyScore


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
    #: paths the models learnt from (the Markov model uses both kinds)
    converting_paths: int = 0
    non_converting_paths: int = 0


# -- scores ------------------------------------------------------------------------------------

Scale = Literal["csat", "nps", "stars", "ces"]


class ScoreSummary(BaseModel):
    """Survey answers on one scale: ``satisfied_share`` is the top-2-box share (the one
    satisfaction scale, comparable across CSAT, stars, NPS and CES) and ``score`` the same as
    0..100; ``mean_position`` is the mean answer's position on its scale (0..100, linear)."""

    scale: Scale
    responses: int
    mean_raw: float | None
    score: float | None = Field(description="top-2-box share, 0..100")
    satisfied_share: float | None = None
    mean_position: float | None = None
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    nps: float | None = None


class SurveySource(BaseModel):
    """Survey answers in the event log: ``event`` (with filters) whose ``property`` holds an
    answer on ``scale``."""

    event: str = Field(min_length=1, max_length=255)
    property: str = Field(min_length=1, max_length=200)
    scale: Scale
    where: list[PropertyFilter] = Field(default_factory=list)


class ScoreComponent(BaseModel):
    name: str
    #: 0..100, higher is better (None: not measured)
    value: float | None
    #: its share of the score's weight, 0..1
    weight: float
    observations: int
    measured: bool
    definition: str
    #: why it is not measured
    note: str | None = None


class JourneyScore(BaseModel):
    """One journey's score (``analytics.scores`` describes it): the weighted mean of the
    measured components, and ``coverage``, their share of the weight (0..1)."""

    journey_id: str | None = None
    score: float | None
    coverage: float
    components: list[ScoreComponent]


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


def _default_surveys() -> list[SurveySource]:
    return [
        SurveySource(event="CSAT Submitted", property="score", scale="csat"),
        SurveySource(event="NPS Submitted", property="score", scale="nps"),
        SurveySource(event="Product Reviewed", property="rating", scale="stars"),
        SurveySource(event="CES Submitted", property="score", scale="ces"),
    ]


class MonitorConfig(BaseModel):
    """The workspace's analytics settings: the data-quality monitor (webhook, thresholds),
    channel costs, and what the journey score reads (survey answers, support contacts, the
    customers' texts)."""

    enabled: bool = True
    webhook_url: str | None = Field(default=None, max_length=2000)
    threshold: float = Field(default=4.0, gt=0)
    min_expected: float = Field(default=5.0, ge=0)
    missing_min_expected: float = Field(default=15.0, gt=0)
    channel_costs: dict[str, float] = Field(default_factory=dict)
    survey_sources: list[SurveySource] = Field(default_factory=_default_surveys)
    support_events: list[str] = Field(default_factory=lambda: ["Ticket Created"])
    text_properties: list[str] = Field(default_factory=lambda: ["text", "comment", "review_body"])


class MonitorRun(BaseModel):
    hours_evaluated: int
    series: int
    alerts: list[Alert]
