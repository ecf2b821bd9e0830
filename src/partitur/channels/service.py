"""The face of the channels domain: what other domains, the API, the CLI and the web UI call.

The use cases live in private modules by topic and are re-exported here; each module is the
only writer of its part of the domain's tables (SQL in ``repository``):

- ``outbox``: putting sends in (idempotent by key), withdrawing, reading and listing them;
  ``dispatch``: delivering them now;
- ``providers``: the providers each channel sends through and the delivery policy;
- ``template_library``: templates, layouts and snippets, checked and previewed;
- ``consent``: subscription groups, consent and its ledger, SMS STOP/START replies;
- ``suppression``: the suppression list and bounces (reports and delivery status mails);
- ``tracking``: opens, clicks and one-click unsubscribe from a message's signed links;
- ``inbox``: push device tokens and the in-app inbox; ``tasks``: agent tasks.
"""

from __future__ import annotations

from partitur.channels.consent import confirm_opt_in as confirm_opt_in
from partitur.channels.consent import consent_history as consent_history
from partitur.channels.consent import create_group as create_group
from partitur.channels.consent import list_consents as list_consents
from partitur.channels.consent import list_groups as list_groups
from partitur.channels.consent import set_consent as set_consent
from partitur.channels.consent import sms_inbound as sms_inbound
from partitur.channels.dispatch import dispatch_due as dispatch_due
from partitur.channels.dispatch import record_manual_dispatch as record_manual_dispatch
from partitur.channels.inbox import inbox_identity as inbox_identity
from partitur.channels.inbox import inbox_token as inbox_token
from partitur.channels.inbox import issue_inbox_token as issue_inbox_token
from partitur.channels.inbox import list_inbox as list_inbox
from partitur.channels.inbox import mark_read as mark_read
from partitur.channels.inbox import register_device as register_device
from partitur.channels.outbox import enqueue as enqueue
from partitur.channels.outbox import enqueue_many as enqueue_many
from partitur.channels.outbox import get_message as get_message
from partitur.channels.outbox import known_channels as known_channels
from partitur.channels.outbox import list_messages as list_messages
from partitur.channels.outbox import messages_by_node as messages_by_node
from partitur.channels.outbox import send_message as send_message
from partitur.channels.outbox import withdraw_queued as withdraw_queued
from partitur.channels.providers import channel_kinds as channel_kinds
from partitur.channels.providers import get_policy as get_policy
from partitur.channels.providers import list_providers as list_providers
from partitur.channels.providers import save_provider as save_provider
from partitur.channels.providers import set_policy as set_policy
from partitur.channels.providers import touch_categories as touch_categories
from partitur.channels.smtp_sink import start_sink as start_sink
from partitur.channels.suppression import add_suppression as add_suppression
from partitur.channels.suppression import list_suppressions as list_suppressions
from partitur.channels.suppression import report_bounce as report_bounce
from partitur.channels.suppression import report_dsn as report_dsn
from partitur.channels.tasks import agent_tasks_per_profile as agent_tasks_per_profile
from partitur.channels.tasks import claim_task as claim_task
from partitur.channels.tasks import complete_task as complete_task
from partitur.channels.tasks import list_tasks as list_tasks
from partitur.channels.template_library import check_template as check_template
from partitur.channels.template_library import has_template as has_template
from partitur.channels.template_library import is_transactional as is_transactional
from partitur.channels.template_library import list_templates as list_templates
from partitur.channels.template_library import preview_template as preview_template
from partitur.channels.template_library import save_template as save_template
from partitur.channels.tracking import record_click as record_click
from partitur.channels.tracking import record_open as record_open
from partitur.channels.tracking import unsubscribe as unsubscribe
