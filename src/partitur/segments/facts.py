"""What rules need to know about a batch of profiles, loaded in one go through the profiles and
events services (the SQL compiler reads the tables set-based instead; see compiler.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from partitur.core.rules import ProfileFacts
from partitur.events import service as events
from partitur.profiles import service as profiles


@dataclass
class FactsOfProfile:
    id: str
    workspace_id: str
    facts: ProfileFacts


def load_profile_facts(
    conn: Connection,
    *,
    workspace_id: str,
    profile_ids: Collection[str],
    event_names: Collection[str],
    since: datetime | None,
    segments: dict[str, frozenset[str]],
) -> dict[str, FactsOfProfile]:
    """Traits, computed traits and the events named ``event_names`` at or after ``since`` (all
    of them when ``since`` is None; future-stamped ones included) of the live (not merged)
    profiles among ``profile_ids``. ``segments`` gives each profile's current memberships."""
    live = profiles.live_profiles(conn, workspace_id=workspace_id, profile_ids=profile_ids)
    recent = (
        events.profile_event_facts(conn, profile_ids=list(live), names=event_names, since=since)
        if event_names and live
        else {}
    )
    return {
        pid: FactsOfProfile(
            pid,
            workspace_id,
            ProfileFacts(
                traits=snap.traits,
                computed=snap.computed,
                recent_events=recent.get(pid, []),
                segments=segments.get(pid, frozenset()),
            ),
        )
        for pid, snap in live.items()
    }
