"""Channel plugins, found through the ``partitur.channels`` entry-point group."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from partitur.channels.base import Channel

log = logging.getLogger(__name__)

BUILTIN = {
    "smtp": "partitur.channels.plugins.email:SmtpEmail",
    "twilio": "partitur.channels.plugins.sms:TwilioSms",
    "http_sms": "partitur.channels.plugins.sms:HttpSms",
    "fcm": "partitur.channels.plugins.push:FcmPush",
    "webhook": "partitur.channels.plugins.webhook:Webhook",
    "in_app": "partitur.channels.plugins.builtin:InAppInbox",
    "agent_task": "partitur.channels.plugins.builtin:AgentHandoff",
}

#: the plugin used for a channel when a workspace configured no provider for it
DEFAULT_KIND = {
    "email": "smtp",
    "in_app": "in_app",
    "agent_task": "agent_task",
}


def _load(target: str) -> type[Channel]:
    import importlib

    module_name, _, attr = target.partition(":")
    plugin: type[Channel] = getattr(importlib.import_module(module_name), attr)
    return plugin


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Channel]]:
    """Every installed plugin by kind (entry points first, the built-ins as a fallback)."""
    found: dict[str, type[Channel]] = {kind: _load(target) for kind, target in BUILTIN.items()}
    for ep in entry_points(group="partitur.channels"):
        try:
            plugin = ep.load()
        except (ImportError, AttributeError) as exc:
            log.warning("channel plugin failed to load name=%s error=%s", ep.name, exc)
            continue
        if isinstance(plugin, type) and issubclass(plugin, Channel):
            found[ep.name] = plugin
    return found
