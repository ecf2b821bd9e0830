from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partitur.profiles.contracts import ProfileState
from partitur.profiles.traits import apply_traits, merge_states

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state(pid: str) -> ProfileState:
    return ProfileState(id=pid, workspace_id="ws", created_at=T0)


def test_older_values_do_not_overwrite_newer_ones_and_history_records_changes() -> None:
    s = state("p")
    assert len(apply_traits(s, {"plan": "gold"}, at=T0 + timedelta(days=2), source="a")) == 1
    assert apply_traits(s, {"plan": "basic"}, at=T0, source="b") == []
    assert apply_traits(s, {"plan": "gold"}, at=T0 + timedelta(days=3), source="c") == []
    assert s.traits == {"plan": "gold"}


def test_merge_keeps_the_most_recent_value_of_each_trait_and_adds_counts() -> None:
    old, new = state("old"), state("new")
    apply_traits(old, {"plan": "basic", "name": "Ada"}, at=T0, source="x")
    apply_traits(new, {"plan": "premium"}, at=T0 + timedelta(days=1), source="x")
    old.computed = {"event_count": 3, "revenue": 10.1, "last_channel": "web", "score": 0.5}
    new.computed = {"event_count": 2, "revenue": 5.2, "last_channel": "app"}
    old.last_seen_at, new.last_seen_at = T0, T0 + timedelta(days=1)
    merge_states(old, new)
    assert old.traits == {"plan": "premium", "name": "Ada"}
    assert old.computed == {"event_count": 5, "revenue": 15.3, "last_channel": "app", "score": 0.5}
    assert new.traits == {} and new.computed == {}
