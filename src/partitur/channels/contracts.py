"""What crosses the channels boundary: send requests, delivery results, settings documents."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

ChannelName = Literal["email", "sms", "push", "in_app", "webhook", "agent_task"]
Category = Literal["marketing", "transactional"]
MessageStatus = Literal[
    "queued",
    "deferred",
    "sending",
    "sent",
    "delivered",
    "failed",
    "suppressed",
    "capped",
    "bounced",
]
CHANNELS: tuple[str, ...] = ("email", "sms", "push", "in_app", "webhook", "agent_task")


class SendRequest(BaseModel):
    """One message a journey (or an API caller) wants delivered to one profile."""

    #: journeys use ``instance_id:node_id:attempt``; a repeat never sends twice
    idempotency_key: str = Field(min_length=1, max_length=300)
    workspace_id: str
    profile_id: str
    channel: ChannelName
    #: template key (None for channels that need none: webhook, agent_task)
    template: str | None = None
    #: free data: webhook body/endpoint name, agent task reason/priority/suggested offer, ...
    payload: dict[str, Any] = Field(default_factory=dict)
    #: template variables
    data: dict[str, Any] = Field(default_factory=dict)
    category: Category = "marketing"
    journey_id: str | None = None
    journey_version: int | None = None
    instance_id: str | None = None
    node_id: str | None = None
    #: journey priority; the higher one wins a frequency-cap contest
    priority: int = 0
    not_before: datetime | None = None
    #: the moment a replay of history (``journeys backfill``) made this send on the journey's
    #: clock: the message and, if it is delivered, its outcomes are stamped with it
    occurred_at: datetime | None = None


class QueuedMessage(BaseModel):
    id: str
    status: MessageStatus
    duplicate: bool = False


class NodeMessages(BaseModel):
    """The messages one journey node put in the outbox, by outcome: ``sent`` (accepted by the
    provider), ``delivered`` (confirmed), ``failed`` (failed or bounced), ``not_sent``
    (suppressed, capped or withdrawn) and ``pending`` (queued, deferred or being sent)."""

    node_id: str
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    not_sent: int = 0
    pending: int = 0


class Message(BaseModel):
    """A row of the outbox, as the API shows it."""

    id: str
    workspace_id: str
    profile_id: str
    channel: str
    template: str | None
    category: str
    journey_id: str | None
    journey_version: int | None
    instance_id: str | None
    node_id: str | None
    status: str
    attempts: int
    priority: int
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    next_attempt_at: datetime | None
    cost: Decimal | None
    error: str | None
    idempotency_key: str
    recipient: str | None
    provider_message_id: str | None
    payload: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


# --- providers -----------------------------------------------------------------------------


class ProviderIn(BaseModel):
    """Provider settings of a workspace. ``secrets`` are encrypted at rest, never shown back."""

    channel: ChannelName
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    #: the plugin: smtp, twilio, http_sms, fcm, webhook, in_app, agent_task
    kind: str
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    #: cost of one message in the workspace's currency (analytics sums it)
    cost: Decimal = Decimal("0")
    #: messages per second this provider accepts (None: unlimited)
    rate_per_second: float | None = Field(default=None, gt=0)
    is_default: bool = True


class Provider(BaseModel):
    id: str
    workspace_id: str
    channel: str
    name: str
    kind: str
    config: dict[str, Any]
    secret_names: list[str]
    cost: Decimal
    rate_per_second: float | None
    is_default: bool
    created_at: datetime


# --- templates -----------------------------------------------------------------------------


class TemplateIn(BaseModel):
    """A template (``kind='message'``), a brand layout or a snippet, in one locale."""

    key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
    kind: Literal["message", "layout", "snippet"] = "message"
    channel: ChannelName | None = None
    locale: str = Field(default="en", pattern=r"^[a-z]{2}$")
    subject: str | None = None
    body_text: str = ""
    body_html: str | None = None
    #: layout key the HTML body is wrapped in (``{{ content }}`` marks the spot)
    layout: str | None = None
    #: the profile previews and publish checks render with
    sample_profile_id: str | None = None
    #: template variables used by previews and publish checks
    sample_data: dict[str, Any] = Field(default_factory=dict)
    #: only sends of a template an admin marked transactional (receipts, password resets,
    #: service notices) may skip marketing consent and caps
    transactional: bool = False


class Template(TemplateIn):
    id: str
    workspace_id: str
    created_at: datetime
    updated_at: datetime


class RenderedMessage(BaseModel):
    subject: str | None = None
    text: str = ""
    html: str | None = None
    locale: str = "en"


# --- consent -------------------------------------------------------------------------------


class SubscriptionGroupIn(BaseModel):
    key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    name: str
    channel: ChannelName
    purpose: Category = "marketing"
    double_opt_in: bool = False


class SubscriptionGroup(SubscriptionGroupIn):
    id: str
    workspace_id: str
    created_at: datetime


ConsentStatus = Literal["granted", "pending", "revoked"]


class ConsentChange(BaseModel):
    profile_id: str
    channel: ChannelName
    #: subscription group key; "*" means every group of the channel
    group: str = "*"
    status: Literal["granted", "revoked"]
    source: str = "api"


class ConsentState(BaseModel):
    profile_id: str
    channel: str
    group: str
    status: ConsentStatus
    updated_at: datetime
    source: str


class LedgerEntry(BaseModel):
    id: int
    profile_id: str
    channel: str
    group: str
    action: str
    source: str
    at: datetime
    details: dict[str, Any] | None = None


class Suppression(BaseModel):
    channel: str
    address: str
    reason: str
    created_at: datetime


# --- delivery policy -----------------------------------------------------------------------


class CapRule(BaseModel):
    """At most ``limit`` marketing messages per ``window_hours`` (on ``channel`` or all)."""

    channel: ChannelName | None = None
    limit: int = Field(ge=0)
    window_hours: float = Field(gt=0)


class DeliveryPolicy(BaseModel):
    """Workspace-wide delivery rules: frequency caps, quiet hours, send-time optimisation."""

    caps: list[CapRule] = Field(
        default_factory=lambda: [
            CapRule(limit=3, window_hours=24),
            CapRule(channel="email", limit=2, window_hours=24),
            CapRule(channel="sms", limit=1, window_hours=24),
        ]
    )
    #: local time "HH:MM"; quiet from start until end (overnight windows allowed)
    quiet_start: str | None = Field(default="21:00", pattern=r"^\d{2}:\d{2}$")
    quiet_end: str | None = Field(default="08:00", pattern=r"^\d{2}:\d{2}$")
    quiet_channels: list[ChannelName] = Field(
        default_factory=lambda: ["email", "sms", "push"]  # type: ignore[arg-type]
    )
    default_timezone: str = "UTC"
    default_locale: str = "en"
    #: local hour used by send-time optimisation when a profile has too little history
    sto_fallback_hour: int = Field(default=10, ge=0, le=23)
    #: messages per profile before learned send times are trusted
    sto_min_events: int = Field(default=3, ge=1)
    webhook_max_attempts: int = Field(default=5, ge=1)
    #: soft bounces (mailbox full, greylisting, ...) of one address within
    #: ``soft_bounce_window_days`` that make it undeliverable
    soft_bounce_limit: int = Field(default=3, ge=1)
    soft_bounce_window_days: float = Field(default=30, gt=0)
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_max_seconds: float = Field(default=3600, gt=0)
    max_attempts: int = Field(default=5, ge=1)


# --- in-app and agent tasks ----------------------------------------------------------------


class InboxItem(BaseModel):
    id: str
    message_id: str
    title: str | None
    body: str
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    read_at: datetime | None = None


class AgentTask(BaseModel):
    id: str
    workspace_id: str
    message_id: str
    profile_id: str
    journey_id: str | None
    queue: str
    reason: str
    priority: int
    suggested_offer: dict[str, Any] | str | None = None
    context: dict[str, Any]
    status: Literal["open", "claimed", "done"]
    assignee: str | None = None
    outcome: str | None = None
    created_at: datetime
    claimed_at: datetime | None = None
    completed_at: datetime | None = None


class DeviceTokenIn(BaseModel):
    profile_id: str
    token: str = Field(min_length=8, max_length=500)
    platform: Literal["android", "ios", "web"] = "android"


class BounceIn(BaseModel):
    """A bounce report (from a provider webhook or a bounce mailbox parser)."""

    message_id: str | None = None
    address: str | None = None
    channel: ChannelName = "email"
    kind: Literal["hard", "soft", "complaint"] = "hard"
    reason: str = ""
    #: the RFC 3463 enhanced status code ("5.1.1", "4.2.2") when the report gave one
    status: str | None = Field(default=None, pattern=r"^[245]\.\d{1,3}\.\d{1,3}$")


class BounceOutcome(BaseModel):
    """What one bounce did to its address."""

    address: str
    channel: ChannelName
    kind: Literal["hard", "soft", "complaint"]
    status: str | None = None
    message_id: str | None = None
    #: soft bounces of the address within the policy's window, this one included
    soft_bounces: int = 0
    #: the address is now on the suppression list (hard bounce, complaint, too many soft ones)
    undeliverable: bool = False


class DispatchReport(BaseModel):
    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bounced: int = 0
    suppressed: int = 0
    capped: int = 0
    deferred: int = 0


#: Built-in messages that go to someone other than the customer (``payload.builtin``).
INTERNAL_BUILTINS: tuple[str, ...] = ("owner_notice",)


class TouchCategories(BaseModel):
    """Which outbox messages are touches of the customer (attribution counts only those):
    messages on the customer channels, except the built-in ones in ``internal_builtins``.
    Internal channels reach people or systems of the business: agent tasks, CRM webhooks."""

    customer_channels: list[str]
    internal_channels: list[str]
    internal_builtins: list[str]
