"""Tables of the analytics domain: data-quality alerts and the monitor's settings."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

analytics_alerts = Table(
    "analytics_alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    # rise | drop | missing | new_event | vanished_event | new_property | missing_property |
    # type_change
    Column("kind", String(30), nullable=False),
    Column("source_id", String(40), nullable=True),
    Column("event_name", String(255), nullable=True),
    Column("property", String(200), nullable=True),
    # the hour judged (start of the hour, UTC)
    Column("hour", UtcDateTime, nullable=False),
    Column("observed", Float, nullable=True),
    Column("expected", Float, nullable=True),
    Column("score", Float, nullable=True),
    Column("detail", JsonDoc, nullable=True),
    # one alert per kind, series and hour, however often the monitor runs
    Column("dedupe_key", String(600), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("event_emitted", Boolean, nullable=False, default=False),
    Column("webhook_attempts", Integer, nullable=False, default=0),
    Column("webhook_delivered_at", UtcDateTime, nullable=True),
    Column("webhook_error", Text, nullable=True),
    UniqueConstraint("workspace_id", "dedupe_key", name="uq_analytics_alerts_dedupe"),
    Index("ix_analytics_alerts_ws_hour", "workspace_id", "hour"),
)

analytics_monitor_config = Table(
    "analytics_monitor_config",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    # MonitorConfig as a document (webhook URL, thresholds, channel costs)
    Column("config", JsonDoc, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: The auto-winner's decisions: when and why a journey split got its winner, with the figures
#: it was decided on (the routing itself is the journey version's ``winners``).
experiment_decisions = Table(
    "analytics_experiment_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("split_node", String(100), nullable=False),
    # winner | control_better | guardrail
    Column("status", String(30), nullable=False),
    Column("arm", String(50), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    # the ExperimentReport the decision was taken on
    Column("report", JsonDoc, nullable=False),
    UniqueConstraint(
        "workspace_id", "journey_id", "version", "split_node", name="uq_analytics_experiment"
    ),
)
