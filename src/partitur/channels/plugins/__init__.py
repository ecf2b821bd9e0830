"""Channel plugins, found through the ``partitur.channels`` entry-point group."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from partitur.channels.base import Channel
from partitur.channels.plugins.builtin import AgentHandoff, InAppInbox
from partitur.channels.plugins.email import SmtpEmail
from partitur.channels.plugins.push import FcmPush
from partitur.channels.plugins.sms import HttpSms, TwilioSms
from partitur.channels.plugins.webhook import Webhook

log = logging.getLogger(__name__)

#: The plugins partitur ships, by kind; others register in the ``partitur.channels`` group.
BUILTIN: dict[str, type[Channel]] = {
    "smtp": SmtpEmail,
    "twilio": TwilioSms,
    "http_sms": HttpSms,
    "fcm": FcmPush,
    "webhook": Webhook,
    "in_app": InAppInbox,
    "agent_task": AgentHandoff,
}

#: the plugin used for a channel when a workspace configured no provider for it
DEFAULT_KIND = {
    "email": "smtp",
    "in_app": "in_app",
    "agent_task": "agent_task",
}


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Channel]]:
    """Every plugin by kind: the built-ins, and those installed packages register in the
    ``partitur.channels`` entry-point group. A registered plugin that does not load or is no
    ``Channel`` stops the start with its name (never silently missing)."""
    found = dict(BUILTIN)
    for ep in entry_points(group="partitur.channels"):
        try:
            plugin = ep.load()
        except (ImportError, AttributeError) as exc:
            raise RuntimeError(
                f"channel plugin {ep.name!r} ({ep.value}) does not load: {exc}"
            ) from exc
        if not (isinstance(plugin, type) and issubclass(plugin, Channel)):
            raise RuntimeError(f"channel plugin {ep.name!r} ({ep.value}) is not a Channel")
        found[ep.name] = plugin
    return found
