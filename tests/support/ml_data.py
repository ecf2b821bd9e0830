"""Small builders for ml and decisions tests: profiles and events written straight to the
store (the shape identity resolution leaves behind)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.events.tables import events
from partitur.profiles.tables import profiles

_counter = itertools.count(1)


def add_profile(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    now: datetime,
    traits: dict[str, Any] | None = None,
    computed: dict[str, Any] | None = None,
) -> str:
    conn.execute(
        profiles.insert().values(
            id=profile_id,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            traits=traits or {},
            trait_times={},
            computed=computed or {},
            is_test=False,
        )
    )
    return profile_id


def add_events(
    conn: Connection,
    *,
    workspace_id: str,
    rows: Iterable[tuple[str, str, datetime, dict[str, Any] | None]],
) -> int:
    """Insert ``(profile_id, event name, timestamp, properties)`` track events."""
    batch = [
        {
            "workspace_id": workspace_id,
            "source_id": "src_test",
            "message_id": f"m{next(_counter)}",
            "type": "track",
            "event": name,
            "user_id": pid,
            "profile_id": pid,
            "timestamp": at,
            "received_at": at,
            "properties": props or {},
        }
        for pid, name, at, props in rows
    ]
    if batch:
        conn.execute(events.insert(), batch)
    return len(batch)


def synthetic_customers(
    n: int, *, now: datetime, seed: int = 1, days: int = 400
) -> list[tuple[str, str, datetime, dict[str, Any]]]:
    """Event rows of ``n`` customers whose churn is driven by unhappiness: unhappy customers
    open tickets, give low NPS and stop buying sooner; everyone views pages while active."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, datetime, dict[str, Any]]] = []
    start = now - timedelta(days=days)
    for i in range(n):
        pid = f"c{i:05d}"
        unhappy = rng.random() < 0.4
        rate = rng.gamma(2.0, 1 / 40.0)  # orders per day
        lifetime = rng.exponential(120 if unhappy else 900)
        first = rng.uniform(0, days * 0.4)
        end = min(days, first + lifetime)
        t = first
        while t < end:
            rows.append(
                (
                    pid,
                    "Order Completed",
                    start + timedelta(days=float(t)),
                    {"revenue": float(rng.gamma(4, 12))},
                )
            )
            for _ in range(rng.poisson(3)):
                rows.append(
                    (pid, "Page Viewed", start + timedelta(days=float(t - rng.uniform(0, 5))), {})
                )
            if unhappy and rng.random() < 0.5:
                rows.append(
                    (
                        pid,
                        "Ticket Created",
                        start + timedelta(days=float(t + 1)),
                        {"sentiment": float(rng.uniform(-0.9, -0.2))},
                    )
                )
            if rng.random() < 0.2:
                score = rng.integers(0, 6) if unhappy else rng.integers(7, 11)
                rows.append(
                    (
                        pid,
                        "NPS Submitted",
                        start + timedelta(days=float(t + 2)),
                        {"score": int(score)},
                    )
                )
            t += rng.exponential(1 / rate)
    return [r for r in rows if r[2] <= now]


def frame_of(rows: list[tuple[str, str, datetime, dict[str, Any]]]):
    """The DataFrame shape ``partitur.ml.ports.event_frame`` returns."""
    import pandas as pd

    return pd.DataFrame(
        {
            "profile_id": [r[0] for r in rows],
            "event": [r[1] for r in rows],
            "timestamp": pd.to_datetime([r[2] for r in rows], utc=True),
            "revenue": [float(r[3].get("revenue", "nan")) for r in rows],
            "score": [float(r[3].get("score", "nan")) for r in rows],
            "sentiment": [float(r[3].get("sentiment", "nan")) for r in rows],
        }
    )
