"""Tables of the channels domain: the outbox (``messages``), providers, templates, consent,
suppressions, in-app inbox, agent tasks and device tokens."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

#: The transactional outbox: journeys write rows here in their own transaction; the dispatcher
#: delivers them. Analytics reads these column names.
messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("template", String(100), nullable=True),
    Column("category", String(20), nullable=False),
    Column("journey_id", String(40), nullable=True),
    Column("journey_version", Integer, nullable=True),
    Column("instance_id", String(40), nullable=True),
    Column("node_id", String(100), nullable=True),
    # queued|deferred|sending|sent|delivered|failed|suppressed|capped|bounced
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("priority", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("opened_at", UtcDateTime, nullable=True),
    Column("clicked_at", UtcDateTime, nullable=True),
    Column("cost", Numeric(12, 6), nullable=True),
    Column("error", Text, nullable=True),
    Column("idempotency_key", String(300), nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    # who holds the row while it is being sent, and until when (crash recovery)
    Column("claim", String(40), nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("provider", String(100), nullable=True),
    Column("provider_message_id", String(200), nullable=True),
    Column("payload", JsonDoc, nullable=False),
    Column("data", JsonDoc, nullable=False),
    Column("clicks", Integer, nullable=False, default=0),
    # a send made while replaying history: when it happened on the journey's clock
    Column("replayed_at", UtcDateTime, nullable=True),
    UniqueConstraint("idempotency_key", name="uq_messages_idempotency_key"),
    Index("ix_messages_due", "status", "next_attempt_at"),
    Index("ix_messages_profile_sent", "profile_id", "sent_at"),
    Index("ix_messages_ws_created", "workspace_id", "created_at"),
    # a journey's messages per node (the canvas's live counts)
    Index("ix_messages_journey_node", "journey_id", "node_id"),
)

channel_providers = Table(
    "channel_providers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("config", JsonDoc, nullable=False),
    # Fernet token of the JSON secrets document (key derived from settings.secret_key)
    Column("secrets", Text, nullable=True),
    Column("secret_names", JsonDoc, nullable=False),
    Column("cost", Numeric(12, 6), nullable=False),
    Column("rate_per_second", Float, nullable=True),
    Column("is_default", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "channel", "name", name="uq_channel_providers_name"),
)

channel_policies = Table(
    "channel_policies",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("policy", JsonDoc, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    # message | layout | snippet
    Column("kind", String(20), nullable=False),
    Column("channel", String(20), nullable=True),
    Column("locale", String(8), nullable=False),
    Column("subject", Text, nullable=True),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=True),
    Column("layout", String(100), nullable=True),
    Column("sample_profile_id", String(40), nullable=True),
    Column("sample_data", JsonDoc, nullable=False),
    # marked by an admin: sends of it may be "transactional" (exempt from marketing consent)
    Column("transactional", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "kind", "key", "locale", name="uq_message_templates_key"),
)

subscription_groups = Table(
    "subscription_groups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("double_opt_in", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_subscription_groups_key"),
)

#: Current consent per profile, channel and group ("*" = the whole channel).
consents = Table(
    "consents",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("group_key", String(100), primary_key=True),
    # granted | pending | revoked
    Column("status", String(20), nullable=False),
    Column("source", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Every consent change ever made: what, when, from where.
consent_ledger = Table(
    "consent_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("group_key", String(100), nullable=False),
    # requested | confirmed | granted | revoked
    Column("action", String(20), nullable=False),
    Column("source", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("details", JsonDoc, nullable=True),
    Index("ix_consent_ledger_profile", "workspace_id", "profile_id", "at"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    # normalised address: lower-case email, E.164 phone, push token
    Column("address", String(500), primary_key=True),
    # hard_bounce | complaint | stop | manual
    Column("reason", String(50), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

#: Every bounce report received (DSN from the bounce mailbox, provider webhook, API): the
#: ledger soft bounces are counted in before an address becomes undeliverable.
bounces = Table(
    "bounces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("address", String(500), nullable=False),
    # hard | soft | complaint
    Column("kind", String(20), nullable=False),
    # the RFC 3463 enhanced status code ("5.1.1") when the report had one
    Column("status_code", String(20), nullable=True),
    Column("message_id", String(40), nullable=True),
    Column("reason", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_bounces_address", "workspace_id", "channel", "address", "received_at"),
)

#: Circuit-breaker and rate-limit state shared by every worker process: a row per key
#: (``breaker:<workspace>:<provider>``, ``rate:<provider id>``), read and written inside the
#: dispatcher's transactions (row locks on PostgreSQL, the write lock on SQLite).
endpoint_states = Table(
    "endpoint_states",
    metadata,
    Column("key", String(200), primary_key=True),
    # circuit breaker: consecutive failures and until when the circuit is open
    Column("failures", Integer, nullable=False, default=0),
    Column("open_until", UtcDateTime, nullable=True),
    # token bucket: tokens left at ``tokens_at``
    Column("tokens", Float, nullable=True),
    Column("tokens_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("message_id", String(40), nullable=False),
    Column("title", Text, nullable=True),
    Column("body", Text, nullable=False),
    Column("data", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("message_id", name="uq_inbox_items_message_id"),
    Index("ix_inbox_items_profile", "workspace_id", "profile_id", "id"),
)

agent_tasks = Table(
    "agent_tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("message_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=True),
    Column("queue", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("suggested_offer", JsonDoc, nullable=True),
    Column("context", JsonDoc, nullable=False),
    # open | claimed | done
    Column("status", String(20), nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("outcome", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    UniqueConstraint("message_id", name="uq_agent_tasks_message_id"),
    Index("ix_agent_tasks_queue", "workspace_id", "status", "priority"),
)

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("token", String(500), primary_key=True),
    Column("profile_id", String(40), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # set when the provider reported the token invalid; such tokens are never used again
    Column("invalidated_at", UtcDateTime, nullable=True),
    Index("ix_device_tokens_profile", "workspace_id", "profile_id"),
)
