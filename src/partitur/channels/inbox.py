"""What a customer's app talks to: its push device tokens and the in-app inbox (read with a
token the app's backend issues for one profile)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import DeviceTokenIn, InboxItem
from partitur.channels.signing import sign, verify
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound
from partitur.profiles import service as profiles

# --- push device tokens --------------------------------------------------------------------


def register_device_token(
    conn: Connection, *, workspace_id: str, device: DeviceTokenIn, now: datetime
) -> None:
    """Register a device's push token for a profile (a token moves with its latest owner)."""
    repository.register_device_token(
        conn,
        workspace_id=workspace_id,
        token=device.token,
        profile_id=device.profile_id,
        platform=device.platform,
        now=now,
    )


@action("device.register", permission=Permission.edit_profiles, subject="profile")
def register_device(
    conn: Connection, *, workspace_id: str, device: DeviceTokenIn, now: datetime, actor: Actor
) -> None:
    """Register a push token of a profile's device (a token moves with its latest owner); the
    profile must be the workspace's (``NotFound``)."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=device.profile_id)
    register_device_token(conn, workspace_id=workspace_id, device=device, now=now)
    describe(subject_id=device.profile_id, details={"platform": device.platform})


def invalidate_tokens(
    conn: Connection, *, workspace_id: str, profile_id: str, tokens: list[str], now: datetime
) -> None:
    """Tokens a push provider reported invalid are never used again."""
    repository.invalidate_tokens(
        conn, workspace_id=workspace_id, profile_id=profile_id, tokens=tokens, now=now
    )


# --- the in-app inbox ----------------------------------------------------------------------


def inbox_token(secret_key: str, *, workspace_id: str, profile_id: str) -> str:
    """The token an app uses to read one profile's inbox (issued by the app's backend)."""
    return sign(secret_key, "inbox", {"w": workspace_id, "p": profile_id})


def inbox_identity(secret_key: str, token: str) -> tuple[str, str]:
    """``(workspace id, profile id)`` of an inbox token; raises for a forged or expired one."""
    claims = verify(secret_key, "inbox", token)
    return str(claims["w"]), str(claims["p"])


@action(
    "inbox_token.issue",
    permission=Permission.edit_profiles,
    subject="profile",
    subject_key="profile_id",
)
def issue_inbox_token(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    secret_key: str,
    now: datetime,
    actor: Actor,
) -> str:
    """The token an app's user reads their in-app inbox with; the profile must be the
    workspace's (``NotFound``)."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=profile_id)
    return inbox_token(secret_key, workspace_id=workspace_id, profile_id=profile_id)


def list_inbox(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    unread_only: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> list[InboxItem]:
    """A profile's inbox: newest first, or (``after`` an item id) the items since, oldest
    first, as a live feed reads them."""
    rows = repository.inbox_rows(
        conn,
        workspace_id=workspace_id,
        profile_id=profile_id,
        unread_only=unread_only,
        after=after,
        limit=limit,
    )
    return [InboxItem.model_validate(r) for r in rows]


@action(
    "inbox.mark_read",
    permission=Permission.own_preferences,
    subject="profile",
    subject_key="profile_id",
)
def mark_read(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    item_ids: list[str],
    now: datetime,
    actor: Actor,
) -> int:
    """The customer read these items of their in-app inbox; an id that is not an item of it
    is ``NotFound`` (field ``ids``) and nothing is marked."""
    held = repository.inbox_item_ids(
        conn, workspace_id=workspace_id, profile_id=profile_id, item_ids=item_ids
    )
    unknown = [i for i in dict.fromkeys(item_ids) if i not in held]
    if unknown:
        raise NotFound(f"no inbox item {', '.join(unknown[:3])}", field="ids")
    marked = repository.mark_read(
        conn, workspace_id=workspace_id, profile_id=profile_id, item_ids=item_ids, now=now
    )
    describe(details={"items": len(item_ids), "marked": marked})
    return marked
