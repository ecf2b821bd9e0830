"""Tables of the journeys domain: journeys, immutable versions, instances, transitions, timers,
enrolment bookkeeping, shard leases, and submissions awaiting a second person's approval."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

journeys = Table(
    "journeys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    # draft | active | paused | stopped
    Column("status", String(16), nullable=False),
    Column("draft", JsonDoc, nullable=False),
    Column("latest_version", Integer, nullable=True),
    Column("test_mode", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # audience runs: when the next run is due
    Column("next_audience_at", UtcDateTime, nullable=True),
    # a backfill replayed the history up to these positions (event ``seq``, segment change
    # ``seq``) into the journey; the live consumers skip them for this journey
    Column("backfilled_since", UtcDateTime, nullable=True),
    Column("replayed_events_through", BigInteger, nullable=True),
    Column("replayed_changes_through", BigInteger, nullable=True),
    UniqueConstraint("workspace_id", "key", name="uq_journeys_ws_key"),
)

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JsonDoc, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    # {split node id: winning variant} once an auto-winner rule has decided
    Column("winners", JsonDoc, nullable=True),
    UniqueConstraint("journey_id", "version", name="uq_journey_versions_version"),
)

journey_instances = Table(
    "journey_instances",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", String(40), nullable=False),
    # active | completed | exited | converted
    Column("status", String(16), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("current_node", String(100), nullable=True),
    Column("converted_at", UtcDateTime, nullable=True),
    Column("revenue", String(40), nullable=True),
    Column("split_variants", JsonDoc, nullable=True),
    # runtime state the step needs (waiting, visits, jump counts, timer tokens)
    Column("state", JsonDoc, nullable=False),
    # optimistic concurrency: bumped on every write, checked on update
    Column("rev", Integer, nullable=False, default=0),
    Column("is_test", Boolean, nullable=False, default=False),
    Index("ix_journey_instances_journey_status", "journey_id", "status"),
    Index("ix_journey_instances_profile", "profile_id", "status"),
)

journey_transitions = Table(
    "journey_transitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("instance_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    # NULL: the instance ended (reason says how)
    Column("node_id", String(100), nullable=True),
    Column("from_node", String(100), nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_journey_transitions_instance", "instance_id", "id"),
    Index("ix_journey_transitions_journey_node", "journey_id", "node_id"),
)

journey_timers = Table(
    "journey_timers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("instance_id", String(40), nullable=False),
    Column("node_id", String(100), nullable=False),
    Column("token", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Index("ix_journey_timers_due", "due_at"),
    Index("ix_journey_timers_instance", "instance_id"),
)

journey_enrolments = Table(
    "journey_enrolments",
    metadata,
    Column("journey_id", String(40), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("last_entered_at", UtcDateTime, nullable=False),
    Column("active_instance_id", String(40), nullable=True),
)

journey_leases = Table(
    "journey_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

journey_submissions = Table(
    "journey_submissions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("journey_key", String(100), nullable=False),
    # the draft as submitted: what an approval publishes, whatever the draft became since
    Column("document", JsonDoc, nullable=False),
    # the version that was published when it was submitted (None: never published)
    Column("base_version", Integer, nullable=True),
    # pending | approved | rejected | withdrawn
    Column("status", String(10), nullable=False),
    # actors as the audit log names them (``user:usr_…``), and their names then
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_by_name", String(200), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("comment", Text, nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_by_name", String(200), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_comment", Text, nullable=True),
    Column("published_version", Integer, nullable=True),
    Index("ix_journey_submissions_status", "workspace_id", "status"),
    Index("ix_journey_submissions_journey", "journey_id", "submitted_at"),
)
