"""SQL of what customers agreed to and where they can be reached: consent and its ledger,
subscription groups, suppressions and bounces, push device tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from partitur.channels.repository.outbox import insert_ignoring_duplicates
from partitur.channels.tables import (
    bounces,
    consent_ledger,
    consents,
    device_tokens,
    subscription_groups,
    suppressions,
)


def consent_map(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, dict[tuple[str, str], str]]:
    found: dict[str, dict[tuple[str, str], str]] = {}
    rows = conn.execute(
        select(consents.c.profile_id, consents.c.channel, consents.c.group_key, consents.c.status)
        .where(consents.c.workspace_id == workspace_id)
        .where(consents.c.profile_id.in_(list(profile_ids)))
    )
    for pid, channel, group, status in rows:
        found.setdefault(pid, {})[(channel, group)] = status
    return found


def group_channels(conn: Connection, *, workspace_id: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(subscription_groups).where(subscription_groups.c.workspace_id == workspace_id)
    ).mappings()
    return {r["key"]: dict(r) for r in rows}


def group_key_taken(conn: Connection, *, workspace_id: str, key: str) -> bool:
    found = conn.execute(
        select(subscription_groups.c.id).where(
            subscription_groups.c.workspace_id == workspace_id, subscription_groups.c.key == key
        )
    ).first()
    return found is not None


def insert_group(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(subscription_groups.insert().values(**values))


def groups(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(subscription_groups)
        .where(subscription_groups.c.workspace_id == workspace_id)
        .order_by(subscription_groups.c.key)
    ).mappings()
    return [dict(r) for r in rows]


def write_consent(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    channel: str,
    group: str,
    status: str,
    action: str,
    source: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Set the consent state of (profile, channel, group) and add the change to the ledger."""
    key = (
        consents.c.workspace_id == workspace_id,
        consents.c.profile_id == profile_id,
        consents.c.channel == channel,
        consents.c.group_key == group,
    )
    done = conn.execute(
        update(consents).where(*key).values(status=status, source=source, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            consents.insert().values(
                workspace_id=workspace_id,
                profile_id=profile_id,
                channel=channel,
                group_key=group,
                status=status,
                source=source,
                updated_at=now,
            )
        )
    conn.execute(
        consent_ledger.insert().values(
            workspace_id=workspace_id,
            profile_id=profile_id,
            channel=channel,
            group_key=group,
            action=action,
            source=source,
            at=now,
            details=details,
        )
    )


def consent_states(conn: Connection, *, workspace_id: str, profile_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(consents)
        .where(consents.c.workspace_id == workspace_id, consents.c.profile_id == profile_id)
        .order_by(consents.c.channel, consents.c.group_key)
    ).mappings()
    return [dict(r) for r in rows]


def consent_ledger_rows(
    conn: Connection, *, workspace_id: str, profile_id: str
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(consent_ledger)
        .where(
            consent_ledger.c.workspace_id == workspace_id, consent_ledger.c.profile_id == profile_id
        )
        .order_by(consent_ledger.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def suppressed(
    conn: Connection, *, workspace_id: str, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which ``(channel, address)`` pairs are on the suppression list."""
    wanted = set(pairs)
    if not wanted:
        return set()
    rows = conn.execute(
        select(suppressions.c.channel, suppressions.c.address).where(
            suppressions.c.workspace_id == workspace_id,
            suppressions.c.address.in_([a for _, a in wanted]),
        )
    )
    return {(c, a) for c, a in rows if (c, a) in wanted}


def add_suppression(
    conn: Connection, *, workspace_id: str, channel: str, address: str, reason: str, now: datetime
) -> bool:
    """Put an address on the suppression list unless it is there; True if it was not."""
    return insert_ignoring_duplicates(
        conn,
        suppressions,
        {
            "workspace_id": workspace_id,
            "channel": channel,
            "address": address,
            "reason": reason,
            "created_at": now,
        },
    )


def remove_suppression(conn: Connection, *, workspace_id: str, channel: str, address: str) -> None:
    conn.execute(
        delete(suppressions).where(
            suppressions.c.workspace_id == workspace_id,
            suppressions.c.channel == channel,
            suppressions.c.address == address,
        )
    )


def suppression_rows(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(suppressions)
        .where(suppressions.c.workspace_id == workspace_id)
        .order_by(suppressions.c.created_at)
    ).mappings()
    return [dict(r) for r in rows]


def insert_bounce(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(bounces.insert().values(**values))


def soft_bounces(
    conn: Connection, *, workspace_id: str, channel: str, address: str, since: datetime
) -> int:
    """Soft bounces of one address since ``since`` (the ledger's count)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(bounces)
            .where(
                bounces.c.workspace_id == workspace_id,
                bounces.c.channel == channel,
                bounces.c.address == address,
                bounces.c.kind == "soft",
                bounces.c.received_at >= since,
            )
        ).scalar_one()
    )


def bounces_of_message(conn: Connection, *, message_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(bounces).where(bounces.c.message_id == message_id)
        ).scalar_one()
    )


def invalid_tokens(conn: Connection, *, workspace_id: str, tokens: Iterable[str]) -> set[str]:
    rows = conn.execute(
        select(device_tokens.c.token).where(
            device_tokens.c.workspace_id == workspace_id,
            device_tokens.c.token.in_(list(tokens)),
            device_tokens.c.invalidated_at.is_not(None),
        )
    )
    return set(rows.scalars())


def active_tokens(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rows = conn.execute(
        select(device_tokens.c.profile_id, device_tokens.c.token).where(
            device_tokens.c.workspace_id == workspace_id,
            device_tokens.c.profile_id.in_(list(profile_ids)),
            device_tokens.c.invalidated_at.is_(None),
        )
    )
    for pid, token in rows:
        found.setdefault(pid, []).append(token)
    return found


def register_device_token(
    conn: Connection,
    *,
    workspace_id: str,
    token: str,
    profile_id: str,
    platform: str,
    now: datetime,
) -> None:
    """The token belongs to ``profile_id`` from now on (a device changes hands)."""
    conn.execute(
        delete(device_tokens).where(
            device_tokens.c.workspace_id == workspace_id, device_tokens.c.token == token
        )
    )
    conn.execute(
        device_tokens.insert().values(
            workspace_id=workspace_id,
            token=token,
            profile_id=profile_id,
            platform=platform,
            created_at=now,
        )
    )


def invalidate_tokens(
    conn: Connection, *, workspace_id: str, profile_id: str, tokens: list[str], now: datetime
) -> None:
    """Mark tokens invalid; one not registered yet is kept as invalid under ``profile_id``."""
    for token in tokens:
        done = conn.execute(
            update(device_tokens)
            .where(device_tokens.c.workspace_id == workspace_id, device_tokens.c.token == token)
            .values(invalidated_at=now)
        )
        if done.rowcount == 0:
            conn.execute(
                device_tokens.insert().values(
                    workspace_id=workspace_id,
                    token=token,
                    profile_id=profile_id,
                    platform="unknown",
                    created_at=now,
                    invalidated_at=now,
                )
            )
