"""A workspace's delivery set-up: the providers each channel sends through (their secrets
encrypted at rest) and the delivery policy (quiet hours, caps, retries, bounce limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import (
    CHANNELS,
    INTERNAL_BUILTINS,
    DeliveryPolicy,
    Provider,
    ProviderIn,
    TouchCategories,
)
from partitur.channels.plugins import registry
from partitur.channels.signing import encrypt_secrets
from partitur.core import outbound
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import ValidationFailed


def channel_kinds() -> dict[str, str]:
    """Every provider kind that can be configured and the channel it delivers on."""
    return {kind: plugin.channel for kind, plugin in sorted(registry().items())}


#: the config fields of the built-in plugins that name a destination: URLs and the SMTP host
URL_FIELDS = ("url", "base_url", "token_uri")


def _check_destinations(config: dict[str, Any]) -> None:
    """Refuse a config whose destinations are not public (``core.outbound``); a webhook
    naming 169.254.169.254 would otherwise read a cloud's instance credentials."""
    for field in URL_FIELDS:
        value = config.get(field)
        if value is None:
            continue
        try:
            outbound.check_url(str(value))
        except outbound.OutboundRefused as exc:
            raise ValidationFailed(f"{field}: {exc}", field=f"config.{field}") from None
    if config.get("host") is not None:
        try:
            outbound.check_host(str(config["host"]), int(config.get("port") or 25))
        except (outbound.OutboundRefused, ValueError) as exc:
            raise ValidationFailed(f"host: {exc}", field="config.host") from None


@action("provider.save", permission=Permission.manage_workspace, subject="channel_provider")
def save_provider(
    conn: Connection,
    *,
    workspace_id: str,
    provider: ProviderIn,
    secret_key: str,
    now: datetime,
    actor: Actor,
) -> Provider:
    """Create or replace a provider; secrets are encrypted with a key from ``secret_key``.
    Raises ``ValidationFailed`` for a kind no plugin provides or one of another channel."""
    plugins = registry()
    plugin = plugins.get(provider.kind)
    if plugin is None:
        raise ValidationFailed(
            f"unknown provider kind {provider.kind!r}; installed: {', '.join(sorted(plugins))}",
            field="kind",
        )
    if plugin.channel != provider.channel:
        raise ValidationFailed(
            f"{provider.kind} delivers {plugin.channel}, not {provider.channel}", field="channel"
        )
    _check_destinations(provider.config)
    provider_id = repository.save_provider(
        conn,
        workspace_id=workspace_id,
        values={
            "channel": provider.channel,
            "name": provider.name,
            "kind": provider.kind,
            "config": provider.config,
            "secrets": encrypt_secrets(secret_key, provider.secrets) if provider.secrets else None,
            "secret_names": sorted(provider.secrets),
            "cost": provider.cost,
            "rate_per_second": provider.rate_per_second,
            "is_default": provider.is_default,
        },
        now=now,
    )
    describe(
        subject_id=provider_id,
        details={"channel": provider.channel, "name": provider.name, "kind": provider.kind},
    )
    return Provider.model_validate(repository.provider_row(conn, provider_id=provider_id))


def list_providers(conn: Connection, *, workspace_id: str) -> list[Provider]:
    """The workspace's providers by channel and name (secrets by name only)."""
    return [
        Provider.model_validate(r) for r in repository.providers(conn, workspace_id=workspace_id)
    ]


def get_policy(conn: Connection, *, workspace_id: str) -> DeliveryPolicy:
    """The workspace's delivery policy (the defaults until one is saved)."""
    return repository.load_policy(conn, workspace_id=workspace_id)


@action("delivery_policy.save", permission=Permission.manage_workspace, subject="delivery_policy")
def set_policy(
    conn: Connection,
    *,
    workspace_id: str,
    policy: DeliveryPolicy,
    now: datetime,
    actor: Actor,
) -> DeliveryPolicy:
    """Replace the workspace's delivery policy."""
    document = policy.model_dump(mode="json")
    repository.save_policy(conn, workspace_id=workspace_id, document=document, now=now)
    describe(subject_id=workspace_id, after=document)
    return policy


def touch_categories() -> TouchCategories:
    """Which messages reach the customer, as the installed channel plugins declare it: a
    channel is internal when every plugin of it is (agent tasks, webhooks)."""
    audiences: dict[str, set[str]] = {}
    for plugin in registry().values():
        audiences.setdefault(plugin.channel, set()).add(plugin.audience)
    internal = sorted(c for c, seen in audiences.items() if seen == {"internal"})
    return TouchCategories(
        customer_channels=sorted(c for c in set(CHANNELS) | set(audiences) if c not in internal),
        internal_channels=internal,
        internal_builtins=list(INTERNAL_BUILTINS),
    )
