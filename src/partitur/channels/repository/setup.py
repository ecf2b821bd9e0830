"""SQL of a workspace's channel set-up: providers, the delivery policy and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from partitur.channels.contracts import DeliveryPolicy, TemplateIn
from partitur.channels.tables import channel_policies, channel_providers, message_templates
from partitur.channels.templates import TemplateKey
from partitur.core.ids import new_id


def providers(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(channel_providers)
        .where(channel_providers.c.workspace_id == workspace_id)
        .order_by(channel_providers.c.channel, channel_providers.c.name)
    ).mappings()
    return [dict(r) for r in rows]


def provider_row(conn: Connection, *, provider_id: str) -> dict[str, Any]:
    row = conn.execute(select(channel_providers).where(channel_providers.c.id == provider_id))
    return dict(row.mappings().one())


def save_provider(
    conn: Connection, *, workspace_id: str, values: dict[str, Any], now: datetime
) -> str:
    """Insert or replace the provider of ``values``' channel and name; a default provider
    takes the default from the channel's others. Returns its id."""
    if values["is_default"]:
        conn.execute(
            update(channel_providers)
            .where(
                channel_providers.c.workspace_id == workspace_id,
                channel_providers.c.channel == values["channel"],
            )
            .values(is_default=False)
        )
    existing = conn.execute(
        select(channel_providers.c.id).where(
            channel_providers.c.workspace_id == workspace_id,
            channel_providers.c.channel == values["channel"],
            channel_providers.c.name == values["name"],
        )
    ).scalar()
    if existing:
        conn.execute(
            update(channel_providers)
            .where(channel_providers.c.id == existing)
            .values(workspace_id=workspace_id, updated_at=now, **values)
        )
        return str(existing)
    provider_id = new_id("prv")
    conn.execute(
        channel_providers.insert().values(
            id=provider_id, workspace_id=workspace_id, created_at=now, updated_at=now, **values
        )
    )
    return provider_id


def load_policy(conn: Connection, *, workspace_id: str) -> DeliveryPolicy:
    row = conn.execute(
        select(channel_policies.c.policy).where(channel_policies.c.workspace_id == workspace_id)
    ).first()
    return DeliveryPolicy.model_validate(row[0]) if row else DeliveryPolicy()


def save_policy(
    conn: Connection, *, workspace_id: str, document: dict[str, Any], now: datetime
) -> None:
    done = conn.execute(
        update(channel_policies)
        .where(channel_policies.c.workspace_id == workspace_id)
        .values(policy=document, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            channel_policies.insert().values(
                workspace_id=workspace_id, policy=document, updated_at=now
            )
        )


def template_book_rows(conn: Connection, *, workspace_id: str) -> dict[TemplateKey, TemplateIn]:
    rows = conn.execute(
        select(message_templates).where(message_templates.c.workspace_id == workspace_id)
    ).mappings()
    return {(r["kind"], r["key"], r["locale"]): TemplateIn.model_validate(dict(r)) for r in rows}


def save_template(
    conn: Connection, *, workspace_id: str, values: dict[str, Any], now: datetime
) -> tuple[str, datetime]:
    """Insert or replace the variant (kind, key, locale) of ``values``: ``(id, created_at)``."""
    key_where = (
        message_templates.c.workspace_id == workspace_id,
        message_templates.c.kind == values["kind"],
        message_templates.c.key == values["key"],
        message_templates.c.locale == values["locale"],
    )
    existing = conn.execute(
        select(message_templates.c.id, message_templates.c.created_at).where(*key_where)
    ).first()
    if existing:
        conn.execute(update(message_templates).where(*key_where).values(**values, updated_at=now))
        return str(existing[0]), existing[1]
    template_id = new_id("tpl")
    conn.execute(
        message_templates.insert().values(
            id=template_id, workspace_id=workspace_id, created_at=now, updated_at=now, **values
        )
    )
    return template_id, now


def template_variant(
    conn: Connection, *, workspace_id: str, kind: str, key: str, locale: str
) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(message_templates).where(
                message_templates.c.workspace_id == workspace_id,
                message_templates.c.kind == kind,
                message_templates.c.key == key,
                message_templates.c.locale == locale,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def transactional_template(conn: Connection, *, workspace_id: str, key: str) -> bool:
    """Whether every variant of message template ``key`` is marked transactional (and it
    has one)."""
    marks = (
        conn.execute(
            select(message_templates.c.transactional).where(
                message_templates.c.workspace_id == workspace_id,
                message_templates.c.kind == "message",
                message_templates.c.key == key,
            )
        )
        .scalars()
        .all()
    )
    return bool(marks) and all(marks)


def templates(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(message_templates)
        .where(message_templates.c.workspace_id == workspace_id)
        .order_by(message_templates.c.kind, message_templates.c.key, message_templates.c.locale)
    ).mappings()
    return [dict(r) for r in rows]


def has_template(conn: Connection, *, workspace_id: str, key: str, kind: str | None = None) -> bool:
    query = select(message_templates.c.id).where(
        message_templates.c.workspace_id == workspace_id, message_templates.c.key == key
    )
    if kind is not None:
        query = query.where(message_templates.c.kind == kind)
    return conn.execute(query.limit(1)).first() is not None
