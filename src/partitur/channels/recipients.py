"""Who a message goes to: the profile facts delivery needs, read through the profiles service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from partitur.profiles import service as profiles


@dataclass(frozen=True)
class Recipient:
    profile_id: str
    workspace_id: str
    traits: dict[str, Any]
    computed: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    locale: str | None = None

    @property
    def email(self) -> str | None:
        value = self.traits.get("email")
        return str(value) if value else None

    @property
    def phone(self) -> str | None:
        value = self.traits.get("phone")
        return str(value) if value else None

    @property
    def push_tokens(self) -> list[str]:
        value = self.traits.get("push_tokens") or []
        return [str(t) for t in value] if isinstance(value, list) else [str(value)]

    @property
    def account_owner(self) -> str | None:
        value = self.traits.get("account_owner_email") or self.traits.get("account_owner")
        return str(value) if value and "@" in str(value) else None

    @property
    def external_id(self) -> str | None:
        value = self.traits.get("user_id")
        return str(value) if value else None

    def template_view(self) -> dict[str, Any]:
        return {
            **self.traits,
            "id": self.profile_id,
            "locale": self.locale,
            "timezone": self.timezone,
            "computed": self.computed,
        }

    def summary(self) -> dict[str, Any]:
        """What an agent sees of the customer."""
        keep = ("name", "first_name", "last_name", "email", "phone", "company", "plan", "tier")
        return {
            "profile_id": self.profile_id,
            "traits": {k: v for k, v in self.traits.items() if k in keep},
            "computed": self.computed,
            "timezone": self.timezone,
            "locale": self.locale,
        }


def recipients_of_messages(
    conn: Connection, rows: Iterable[Mapping[str, Any]]
) -> dict[str, Recipient]:
    """The recipients of outbox rows (each with ``workspace_id`` and ``profile_id``), by
    profile id; each row's profile is read in its own workspace only."""
    by_workspace: dict[str, set[str]] = {}
    for row in rows:
        by_workspace.setdefault(row["workspace_id"], set()).add(row["profile_id"])
    found: dict[str, Recipient] = {}
    for workspace_id, ids in by_workspace.items():
        found.update(load_recipients(conn, workspace_id=workspace_id, profile_ids=ids))
    return found


def load_recipients(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, Recipient]:
    """The recipients for these profile ids of the workspace, keyed by the id asked for
    (merged profiles followed to their survivor; unknown ids are absent)."""
    found = profiles.snapshots(conn, workspace_id=workspace_id, profile_ids=profile_ids)
    return {
        pid: Recipient(
            profile_id=snap.id,
            workspace_id=snap.workspace_id,
            traits=dict(snap.traits),
            computed=dict(snap.computed),
            timezone=snap.timezone,
            locale=snap.locale,
        )
        for pid, snap in found.items()
    }
