"""The SQL of the channels domain, private to it: every statement its service modules and
the dispatcher run is here, by topic (``outbox``: messages, claims, outcomes, breaker and
rate-limit state, inbox items and agent tasks; ``preferences``: consent, subscription groups,
suppressions, bounces, device tokens; ``setup``: providers, the delivery policy, templates).
Callers use ``from partitur.channels import repository`` and the names below."""

from __future__ import annotations

from partitur.channels.repository.outbox import CHUNK as CHUNK
from partitur.channels.repository.outbox import DUE as DUE
from partitur.channels.repository.outbox import SENT as SENT
from partitur.channels.repository.outbox import add_agent_task as add_agent_task
from partitur.channels.repository.outbox import add_inbox_item as add_inbox_item
from partitur.channels.repository.outbox import claim_due as claim_due
from partitur.channels.repository.outbox import claim_open_task as claim_open_task
from partitur.channels.repository.outbox import earliest_due as earliest_due
from partitur.channels.repository.outbox import engagement_times as engagement_times
from partitur.channels.repository.outbox import finish_many as finish_many
from partitur.channels.repository.outbox import has_stale_sending as has_stale_sending
from partitur.channels.repository.outbox import held as held
from partitur.channels.repository.outbox import inbox_item_ids as inbox_item_ids
from partitur.channels.repository.outbox import inbox_rows as inbox_rows
from partitur.channels.repository.outbox import (
    insert_ignoring_duplicates as insert_ignoring_duplicates,
)
from partitur.channels.repository.outbox import insert_messages as insert_messages
from partitur.channels.repository.outbox import list_messages as list_messages
from partitur.channels.repository.outbox import lock_endpoint_states as lock_endpoint_states
from partitur.channels.repository.outbox import mark_read as mark_read
from partitur.channels.repository.outbox import message_row as message_row
from partitur.channels.repository.outbox import messages_by_keys as messages_by_keys
from partitur.channels.repository.outbox import outcomes_by_node as outcomes_by_node
from partitur.channels.repository.outbox import profiles_messaged_at as profiles_messaged_at
from partitur.channels.repository.outbox import recent_sends as recent_sends
from partitur.channels.repository.outbox import save_endpoint_states as save_endpoint_states
from partitur.channels.repository.outbox import stale_sending as stale_sending
from partitur.channels.repository.outbox import task_row as task_row
from partitur.channels.repository.outbox import task_rows as task_rows
from partitur.channels.repository.outbox import tasks_per_profile as tasks_per_profile
from partitur.channels.repository.outbox import update_message as update_message
from partitur.channels.repository.outbox import update_task as update_task
from partitur.channels.repository.outbox import withdraw_queued as withdraw_queued
from partitur.channels.repository.preferences import active_tokens as active_tokens
from partitur.channels.repository.preferences import add_suppression as add_suppression
from partitur.channels.repository.preferences import bounces_of_message as bounces_of_message
from partitur.channels.repository.preferences import consent_ledger_rows as consent_ledger_rows
from partitur.channels.repository.preferences import consent_map as consent_map
from partitur.channels.repository.preferences import consent_states as consent_states
from partitur.channels.repository.preferences import group_channels as group_channels
from partitur.channels.repository.preferences import group_key_taken as group_key_taken
from partitur.channels.repository.preferences import groups as groups
from partitur.channels.repository.preferences import insert_bounce as insert_bounce
from partitur.channels.repository.preferences import insert_group as insert_group
from partitur.channels.repository.preferences import invalid_tokens as invalid_tokens
from partitur.channels.repository.preferences import invalidate_tokens as invalidate_tokens
from partitur.channels.repository.preferences import register_device_token as register_device_token
from partitur.channels.repository.preferences import remove_suppression as remove_suppression
from partitur.channels.repository.preferences import soft_bounces as soft_bounces
from partitur.channels.repository.preferences import suppressed as suppressed
from partitur.channels.repository.preferences import suppression_rows as suppression_rows
from partitur.channels.repository.preferences import write_consent as write_consent
from partitur.channels.repository.setup import has_template as has_template
from partitur.channels.repository.setup import load_policy as load_policy
from partitur.channels.repository.setup import provider_row as provider_row
from partitur.channels.repository.setup import providers as providers
from partitur.channels.repository.setup import save_policy as save_policy
from partitur.channels.repository.setup import save_provider as save_provider
from partitur.channels.repository.setup import save_template as save_template
from partitur.channels.repository.setup import template_book_rows as template_book_rows
from partitur.channels.repository.setup import template_variant as template_variant
from partitur.channels.repository.setup import templates as templates
from partitur.channels.repository.setup import (
    transactional_template as transactional_template,
)
