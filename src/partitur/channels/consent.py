"""Consent and subscriptions: subscription groups, grants and revocations (with double opt-in
for email groups that ask for it), the consent ledger, and STOP/START replies to SMS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import (
    ConsentChange,
    ConsentState,
    LedgerEntry,
    SendRequest,
    SubscriptionGroup,
    SubscriptionGroupIn,
)
from partitur.channels.outbox import enqueue
from partitur.channels.plugins.sms import normalise_phone
from partitur.channels.signing import sign, verify
from partitur.channels.suppression import suppress, unsuppress
from partitur.channels.template_library import has_template
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.profiles import service as profiles


@action(
    "subscription_group.create", permission=Permission.edit_templates, subject="subscription_group"
)
def create_group(
    conn: Connection,
    *,
    workspace_id: str,
    group: SubscriptionGroupIn,
    now: datetime,
    actor: Actor,
) -> SubscriptionGroup:
    """Create a subscription group; a taken key is a ``Conflict``."""
    if repository.group_key_taken(conn, workspace_id=workspace_id, key=group.key):
        raise Conflict(f"a subscription group {group.key!r} exists already", field="key")
    made = SubscriptionGroup(
        id=new_id("sgr"), workspace_id=workspace_id, created_at=now, **group.model_dump()
    )
    repository.insert_group(conn, made.model_dump())
    describe(subject_id=made.id, details={"key": group.key})
    return made


def list_groups(conn: Connection, *, workspace_id: str) -> list[SubscriptionGroup]:
    """The workspace's subscription groups by key."""
    rows = repository.groups(conn, workspace_id=workspace_id)
    return [SubscriptionGroup.model_validate(r) for r in rows]


def _check_group(
    conn: Connection, workspace_id: str, channel: str, group: str
) -> dict[str, Any] | None:
    if group == "*":
        return None
    found = repository.group_channels(conn, workspace_id=workspace_id).get(group)
    if found is None:
        raise NotFound(f"no subscription group {group!r}", field="group")
    if found["channel"] != channel:
        raise ValidationFailed(
            f"group {group!r} is for {found['channel']}, not {channel}", field="group"
        )
    return found


@action("consent.change", permission=Permission.edit_profiles, subject="profile")
def set_consent(
    conn: Connection,
    *,
    workspace_id: str,
    change: ConsentChange,
    now: datetime,
    secret_key: str,
    actor: Actor,
) -> ConsentState:
    """Grant or revoke consent. Granting an email group with double opt-in makes it pending and
    queues a confirmation mail; the grant happens when the link in it is followed. The profile
    must be the workspace's (``NotFound``)."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=change.profile_id)
    group = _check_group(conn, workspace_id, change.channel, change.group)
    status: str = change.status
    change_kind: str = change.status
    if (
        change.status == "granted"
        and group is not None
        and group["double_opt_in"]
        and change.channel == "email"
    ):
        status, change_kind = "pending", "requested"
        token = sign(
            secret_key, "optin", {"w": workspace_id, "p": change.profile_id, "g": change.group}
        )
        has_own = has_template(conn, workspace_id=workspace_id, key="double-opt-in")
        enqueue(
            conn,
            request=SendRequest(
                idempotency_key=f"optin:{change.profile_id}:{change.group}:{now.isoformat()}",
                workspace_id=workspace_id,
                profile_id=change.profile_id,
                channel="email",
                template="double-opt-in" if has_own else None,
                category="transactional",
                payload={
                    "builtin": "double_opt_in",
                    "confirm_token": token,
                    "group": group["name"],
                },
            ),
            now=now,
        )
    repository.write_consent(
        conn,
        workspace_id=workspace_id,
        profile_id=change.profile_id,
        channel=change.channel,
        group=change.group,
        status=status,
        action=change_kind,
        source=change.source,
        now=now,
    )
    describe(
        subject_id=change.profile_id,
        after={"channel": change.channel, "group": change.group, "status": status},
        details={"source": change.source, "change": change_kind},
    )
    return ConsentState(
        profile_id=change.profile_id,
        channel=change.channel,
        group=change.group,
        status=status,  # type: ignore[arg-type]
        updated_at=now,
        source=change.source,
    )


def confirm_opt_in(conn: Connection, *, token: str, secret_key: str, now: datetime) -> ConsentState:
    """Follow a double-opt-in link: the pending consent becomes granted."""
    claims = verify(secret_key, "optin", token)
    workspace_id, profile_id, group = str(claims["w"]), str(claims["p"]), str(claims["g"])
    repository.write_consent(
        conn,
        workspace_id=workspace_id,
        profile_id=profile_id,
        channel="email",
        group=group,
        status="granted",
        action="confirmed",
        source="double-opt-in link",
        now=now,
    )
    return ConsentState(
        profile_id=profile_id,
        channel="email",
        group=group,
        status="granted",
        updated_at=now,
        source="double-opt-in link",
    )


def list_consents(conn: Connection, *, workspace_id: str, profile_id: str) -> list[ConsentState]:
    """A profile's current consent, by channel and group; ``NotFound`` for a profile unknown
    in the workspace."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=profile_id)
    rows = repository.consent_states(conn, workspace_id=workspace_id, profile_id=profile_id)
    return [
        ConsentState(
            group=r["group_key"],
            **{k: r[k] for k in ("profile_id", "channel", "status", "updated_at", "source")},
        )
        for r in rows
    ]


def consent_history(conn: Connection, *, workspace_id: str, profile_id: str) -> list[LedgerEntry]:
    """Every consent change of a profile, oldest first (the ledger); ``NotFound`` for a
    profile unknown in the workspace."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=profile_id)
    rows = repository.consent_ledger_rows(conn, workspace_id=workspace_id, profile_id=profile_id)
    return [
        LedgerEntry(
            group=r["group_key"],
            **{
                k: r[k]
                for k in ("id", "profile_id", "channel", "action", "source", "at", "details")
            },
        )
        for r in rows
    ]


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPP", "ABMELDEN"}
START_WORDS = {"START", "UNSTOP", "YES", "SUBSCRIBE", "ANMELDEN"}


@action("consent.sms_reply", permission=Permission.own_preferences, subject="consent")
def sms_inbound(
    conn: Connection, *, workspace_id: str, phone: str, body: str, now: datetime, actor: Actor
) -> str:
    """An inbound SMS: STOP (and synonyms) revokes SMS consent of every profile messaged at
    that number and suppresses it; START grants it again.

    Returns ``stop``, ``start`` or ``ignored``.
    """
    number = normalise_phone(phone)
    word = body.strip().split()[0].upper() if body.strip() else ""
    if word in STOP_WORDS:
        status, keyword = "revoked", "stop"
        suppress(
            conn, workspace_id=workspace_id, channel="sms", address=number, reason="stop", now=now
        )
    elif word in START_WORDS:
        status, keyword = "granted", "start"
        unsuppress(conn, workspace_id=workspace_id, channel="sms", address=number)
    else:
        return "ignored"
    profile_ids = repository.profiles_messaged_at(
        conn, workspace_id=workspace_id, channel="sms", recipient=number
    )
    for pid in sorted(profile_ids):
        repository.write_consent(
            conn,
            workspace_id=workspace_id,
            profile_id=pid,
            channel="sms",
            group="*",
            status=status,
            action=status,
            source=f"sms keyword {word}",
            now=now,
            details={"phone": number},
        )
    describe(subject_id="sms", details={"keyword": keyword, "profiles": len(profile_ids)})
    return keyword
