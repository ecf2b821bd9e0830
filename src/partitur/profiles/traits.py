"""Pure trait bookkeeping: apply traits by recency, merge two profiles' states, fold a batch's
activity into a profile held in memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from partitur.profiles.contracts import HistoryRow, ProfileState

#: computed keys that add up when two profiles merge
ADDITIVE = ("event_count", "order_count", "revenue")


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def apply_traits(
    state: ProfileState, traits: dict[str, Any], *, at: datetime, source: str
) -> list[HistoryRow]:
    """Set each trait unless the profile holds a value set later than ``at``; returns the
    history rows for values that changed."""
    history: list[HistoryRow] = []
    when = stamp(at)
    for name, value in traits.items():
        if not isinstance(name, str) or not name or len(name) > 200:
            continue
        previous = state.trait_times.get(name)
        if previous is not None and previous > when:
            continue
        state.trait_times[name] = when
        if name in state.traits and state.traits[name] == value:
            continue
        state.traits[name] = value
        state.dirty = True
        history.append(HistoryRow(state.id, name, value, at, source))
    if history:
        state.dirty = True
    return history


#: how much of a timezone and a locale a profile keeps
TIMEZONE_WIDTH, LOCALE_WIDTH = 64, 16


def place_value(value: Any, width: int) -> str | None:
    """A timezone or locale as a profile keeps it: stripped, cut to ``width``; None if blank
    or not a string."""
    if not isinstance(value, str):
        return None
    return value.strip()[:width] or None


def apply_place(state: ProfileState, *, timezone: Any, locale: Any, at: datetime) -> None:
    """Timezone and locale from the latest message that carries them."""
    zone = place_value(timezone, TIMEZONE_WIDTH)
    place = place_value(locale, LOCALE_WIDTH)
    if not zone and not place:
        return  # most messages carry neither: no time to format
    when = stamp(at)
    if zone and state.trait_times.get("@timezone", "") <= when:
        state.trait_times["@timezone"] = when
        if state.timezone != zone:
            state.timezone = zone
            state.dirty = True
    if place and state.trait_times.get("@locale", "") <= when:
        state.trait_times["@locale"] = when
        if state.locale != place:
            state.locale = place
            state.dirty = True


def merge_states(survivor: ProfileState, loser: ProfileState) -> None:
    """Fold ``loser`` into ``survivor``: each trait keeps its most recent value, counts add up,
    first/last seen widen, the latest activity's channel wins."""
    for name, value in loser.traits.items():
        theirs = loser.trait_times.get(name, "")
        ours = survivor.trait_times.get(name)
        if ours is None or theirs > ours:
            survivor.traits[name] = value
            survivor.trait_times[name] = theirs
    for key in ("@timezone", "@locale"):
        place_time = loser.trait_times.get(key)
        if place_time and place_time > survivor.trait_times.get(key, ""):
            survivor.trait_times[key] = place_time
            if key == "@timezone":
                survivor.timezone = loser.timezone
            else:
                survivor.locale = loser.locale
    survivor.timezone = survivor.timezone or loser.timezone
    survivor.locale = survivor.locale or loser.locale
    loser_later = loser.last_seen_at is not None and (
        survivor.last_seen_at is None or loser.last_seen_at > survivor.last_seen_at
    )
    for key, value in loser.computed.items():
        if key in ADDITIVE:
            total = (survivor.computed.get(key) or 0) + (value or 0)
            survivor.computed[key] = round(total, 2) if key == "revenue" else total
        elif key not in survivor.computed or (loser_later and key == "last_channel"):
            survivor.computed[key] = value
    if loser.first_seen_at is not None and (
        survivor.first_seen_at is None or loser.first_seen_at < survivor.first_seen_at
    ):
        survivor.first_seen_at = loser.first_seen_at
    if loser_later:
        survivor.last_seen_at = loser.last_seen_at
    survivor.dirty = True
    loser.traits, loser.trait_times, loser.computed = {}, {}, {}
    loser.dirty = True


def fold_activity(
    state: ProfileState,
    *,
    events: int,
    first: datetime,
    last: datetime,
    orders: int,
    revenue: float,
    channel: str | None,
) -> None:
    """Fold a batch's activity into a profile held in memory: the same arithmetic as the
    set-based update that profiles not in memory get (``repository.apply_activity``): counts
    add up, revenue rounded to cents, first/last seen widen, the channel of the latest event
    wins."""
    computed = state.computed
    computed["event_count"] = (computed.get("event_count") or 0) + events
    computed["order_count"] = (computed.get("order_count") or 0) + orders
    computed["revenue"] = round((computed.get("revenue") or 0) + revenue, 2)
    if state.last_seen_at is None or last >= state.last_seen_at:
        computed["last_channel"] = channel
        state.last_seen_at = last
    if state.first_seen_at is None or first < state.first_seen_at:
        state.first_seen_at = first
    state.dirty = True
