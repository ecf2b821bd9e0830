"""Who a message goes to: the profile facts delivery needs, read through ONE function.

Reads the profiles service when it exists; until then the ``profiles`` table directly. Switching
to ``partitur.profiles.service.get_profile`` is a change in ``load_recipients`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from partitur.profiles.tables import profiles


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


def load_recipients(conn: Connection, *, profile_ids: Iterable[str]) -> dict[str, Recipient]:
    """The recipients for these profile ids (merged profiles followed to their survivor)."""
    wanted = sorted(set(profile_ids))
    if not wanted:
        return {}
    found: dict[str, Recipient] = {}
    merged: dict[str, str] = {}
    rows = conn.execute(select(profiles).where(profiles.c.id.in_(wanted))).mappings().all()
    for row in rows:
        if row["merged_into"]:
            merged[row["id"]] = row["merged_into"]
            continue
        found[row["id"]] = _recipient(row)
    if merged:
        survivors = load_recipients(conn, profile_ids=merged.values())
        for pid, target in merged.items():
            if target in survivors:
                found[pid] = survivors[target]
    return found


def _recipient(row: Any) -> Recipient:
    return Recipient(
        profile_id=row["id"],
        workspace_id=row["workspace_id"],
        traits=dict(row["traits"] or {}),
        computed=dict(row["computed"] or {}),
        timezone=row["timezone"],
        locale=row["locale"],
    )
