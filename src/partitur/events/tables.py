"""The event log: every accepted message, once, in arrival order (``seq``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint, text

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("source_id", String(40), nullable=False),
    Column("message_id", String(200), nullable=False),
    # identify | track | page | screen | group | alias
    Column("type", String(16), nullable=False),
    # track: the event name; page/screen: the page name; else NULL
    Column("event", String(255), nullable=True),
    Column("user_id", String(255), nullable=True),
    Column("anonymous_id", String(255), nullable=True),
    # Set by identity resolution; NULL until the resolver has seen the event.
    Column("profile_id", String(40), nullable=True),
    # Clock-skew corrected: received_at - (sent_at - original_timestamp)
    Column("timestamp", UtcDateTime, nullable=False),
    Column("original_timestamp", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("properties", JsonDoc, nullable=True),
    Column("traits", JsonDoc, nullable=True),
    Column("context", JsonDoc, nullable=True),
    # groupId, previousId, integrations and any other top-level fields of the message
    Column("extra", JsonDoc, nullable=True),
    UniqueConstraint("workspace_id", "source_id", "message_id", name="uq_events_message"),
    # the timeline of resolved events; unresolved ones are found through ix_events_unresolved
    Index(
        "ix_events_profile_time",
        "profile_id",
        "timestamp",
        sqlite_where=text("profile_id IS NOT NULL"),
        postgresql_where=text("profile_id IS NOT NULL"),
    ),
    Index(
        "ix_events_unresolved",
        "seq",
        sqlite_where=text("profile_id IS NULL"),
        postgresql_where=text("profile_id IS NULL"),
    ),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("source_id", String(40), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    # where it came from: api, import:<file>, ...
    Column("origin", String(300), nullable=False),
    Column("position", String(50), nullable=True),
    Column("reason", Text, nullable=False),
    Column("field", String(200), nullable=True),
    Column("payload", Text, nullable=False),
    # Imports set it (file, line, payload hash) so a re-run does not quarantine a row twice;
    # NULL for the API (NULLs never conflict).
    Column("dedupe_key", String(64), nullable=True),
    Index("ix_quarantine_ws_time", "workspace_id", "received_at"),
    UniqueConstraint("workspace_id", "dedupe_key", name="uq_quarantine_dedupe"),
)
